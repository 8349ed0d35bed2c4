package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/config"
	"github.com/hushphone/hushphone/server/store"
)

func userHelp(w io.Writer) {
	_, _ = fmt.Fprintf(w, `Usage:
  %[1]s user add --name NAME --role ROLE --password-stdin [--data DIR]
  %[1]s user list [--data DIR]
  %[1]s user remove --name NAME [--data DIR]
  %[1]s user disable --name NAME [--data DIR]
  %[1]s user enable --name NAME [--data DIR]
  %[1]s user mfa enroll|reset --name NAME [--data DIR]

Manages the people who sign in to the server, in the data directory's
database. The server may be running meanwhile: a new user can sign in at
once, and removing or disabling a user signs them out everywhere at once
(a running server closes their connections within about a second and
takes them out of the call queue). A disabled user keeps its name and
records but cannot sign in until enabled again. Every change is written
to the access log, as the command line's (admins read it at
GET /api/v1/audit). A user's records
(payments) stay with that user's id: a new user given a removed user's
name never sees them.

Roles:
  agent       takes calls
  supervisor  listens in on calls, sees agents, calls and recordings
  admin       what a supervisor can, and user admin

add reads the password from standard input (never from the command line,
where other users could see it in the process list): the first line, at
least %[2]d characters. Pipe it in or redirect a file; a password typed at
a terminal would be echoed, so a terminal is refused. Names are 1-%[3]d
letters, digits, '.', '_', '-' or '@', and unique regardless of case.
Passwords are stored only as argon2id hashes.

Supervisors and admins also need a second factor, a code from an
authenticator app ('user mfa enroll' prints the QR code to scan; see
'%[1]s user mfa --help'); agents only when the server says so.

Flags:
  --name NAME        the user (add, remove, disable, enable)
  --role ROLE        agent, supervisor or admin (add)
  --password-stdin   read the password from standard input (add; required)
%[4]s
Exit status:
  0  done
  1  failed (a message says why and what to do)
  2  usage error

Examples:
  printf '%%s\n' "$ADMIN_PASSWORD" | %[1]s user add --name root --role admin --password-stdin
  %[1]s user add --name ann --role agent --password-stdin < ann.password
  %[1]s user list
  %[1]s user remove --name ann
  %[1]s user disable --name ann
`, prog, auth.MinPasswordLen, store.MaxNameLen, config.Help("data"))
}

func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s user: say what to do: add, list, remove, disable or enable, or mfa enroll|reset\n\n", prog)
		userHelp(stderr)
		return exitUsage
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		userHelp(stdout)
		return exitOK
	case "add", "list", "remove", "disable", "enable":
	case "mfa":
		return runUserMFA(ctx, rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "%s user: unknown action %q: use add, list, remove, disable, enable or mfa (see '%s user --help')\n", prog, sub, prog)
		return exitUsage
	}

	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	settings := config.Bind(fs, "data")
	var name, role *string
	var pwStdin *bool
	if sub != "list" {
		name = fs.String("name", "", "")
	}
	if sub == "add" {
		role = fs.String("role", "", "")
		pwStdin = fs.Bool("password-stdin", false, "")
	}
	cfg, code, ok := parseUserFlags(fs, settings, rest, sub, userHelp, stdout, stderr)
	if !ok {
		return code
	}

	var password string
	if sub != "list" {
		if *name == "" {
			return userUsage(stderr, sub, "--name is required")
		}
		if err := store.CheckName(*name); err != nil && sub == "add" {
			return userUsage(stderr, sub, "%v", err)
		}
	}
	var (
		r   store.Role
		err error
	)
	if sub == "add" {
		if *role == "" {
			return userUsage(stderr, sub, "--role is required: agent, supervisor or admin")
		}
		if r, err = store.ParseRole(*role); err != nil {
			return userUsage(stderr, sub, "%v", err)
		}
		if !*pwStdin {
			return userUsage(stderr, sub, "--password-stdin is required: pipe the password in, e.g. printf '%%s\\n' \"$PASSWORD\" | %s user add ...", prog)
		}
		if isTerminalReader(stdin) {
			fmt.Fprintf(stderr, "%s user add: standard input is a terminal, where the password would be shown as you type it; pipe it in or redirect a file instead (see '%s user --help')\n", prog, prog)
			return exitFailure
		}
		if password, err = readPassword(stdin); err != nil {
			fmt.Fprintf(stderr, "%s user add: %v\n", prog, err)
			return exitFailure
		}
	}

	st, err := store.Open(ctx, cfg.DataDir)
	if err != nil {
		fmt.Fprintf(stderr, "%s user %s: %v\n", prog, sub, err)
		return exitFailure
	}
	defer func() { _ = st.Close() }()

	switch sub {
	case "add":
		hash, err := auth.Hash(password)
		if err != nil {
			fmt.Fprintf(stderr, "%s user add: %v\n", prog, err)
			return exitFailure
		}
		u, err := st.AddUser(ctx, *name, r, hash)
		if err != nil {
			fmt.Fprintf(stderr, "%s user add: %v\n", prog, err)
			return exitFailure
		}
		cliAccess(ctx, st, stderr, store.AccessUserAdd, u.Name+": added as "+string(r))
		fmt.Fprintf(stdout, "added %s (%s) to %s\n", u.Name, u.Role, st.Path())
	case "list":
		users, err := st.ListUsers(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "%s user list: %v\n", prog, err)
			return exitFailure
		}
		if len(users) == 0 {
			fmt.Fprintf(stderr, "no users in %s yet: add one with '%s user add --name NAME --role admin --password-stdin'\n", st.Path(), prog)
			return exitOK
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
		for _, u := range users {
			role := string(u.Role)
			if u.Disabled {
				role += " (disabled)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, role, u.Created.Format(time.RFC3339))
		}
		if err := tw.Flush(); err != nil {
			fmt.Fprintf(stderr, "%s user list: %v\n", prog, err)
			return exitFailure
		}
	case "remove":
		if err := st.RemoveUser(ctx, *name); err != nil {
			fmt.Fprintf(stderr, "%s user remove: %v\n", prog, err)
			return exitFailure
		}
		cliAccess(ctx, st, stderr, store.AccessUserRemove, *name+": removed")
		fmt.Fprintf(stdout, "removed %s and ended its sessions\n", *name)
	case "disable", "enable":
		if err := st.SetDisabled(ctx, *name, sub == "disable"); err != nil {
			fmt.Fprintf(stderr, "%s user %s: %v\n", prog, sub, err)
			return exitFailure
		}
		cliAccess(ctx, st, stderr, store.AccessUserChange, *name+": "+sub+"d")
		if sub == "disable" {
			fmt.Fprintf(stdout, "disabled %s and ended its sessions\n", *name)
		} else {
			fmt.Fprintf(stdout, "enabled %s: it can sign in again\n", *name)
		}
	}
	return exitOK
}

// parseUserFlags parses a user action's flags (sub: "add", "mfa enroll")
// and loads the settings. On --help (help, to stdout) or a usage error it
// returns the exit code and false.
func parseUserFlags(fs *flag.FlagSet, settings *config.Flags, args []string, sub string, help func(io.Writer), stdout, stderr io.Writer) (config.Config, int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help(stdout)
			return config.Config{}, exitOK, false
		}
		return config.Config{}, userUsage(stderr, sub, "%v", err), false
	}
	if fs.NArg() > 0 {
		return config.Config{}, userUsage(stderr, sub, "unexpected argument %q", fs.Arg(0)), false
	}
	cfg, err := settings.Load(os.Getenv)
	if err != nil {
		return config.Config{}, userUsage(stderr, sub, "%v", err), false
	}
	return cfg, 0, true
}

func userUsage(stderr io.Writer, sub, format string, a ...any) int {
	fmt.Fprintf(stderr, "%s user %s: %s (see '%s user --help')\n", prog, sub, fmt.Sprintf(format, a...), prog)
	return exitUsage
}

// errPassword is wrapped by every complaint about the password read.
var errPassword = errors.New("password")

// readPassword reads the password: standard input's first line, without
// its line ending. It is never printed, not even in errors.
func readPassword(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, auth.MaxPasswordLen+3))
	if err != nil {
		return "", fmt.Errorf("read the %w from standard input: %w", errPassword, err)
	}
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		if strings.TrimSpace(s[i+1:]) != "" {
			return "", fmt.Errorf("standard input has more than one line; give the %w alone on the first line", errPassword)
		}
		s = s[:i]
	}
	s = strings.TrimSuffix(s, "\r")
	if err := auth.CheckPassword(s); err != nil {
		return "", fmt.Errorf("the password read from standard input is not acceptable: %w", err)
	}
	return s, nil
}

// cliUser names the command line in the access log: the changes made with
// `hushphone-server user` on the host, by whoever could run it there.
const cliUser = "(command line)"

// cliAccess writes a change made on the command line to the access log;
// if it cannot, it says so (the change is made).
func cliAccess(ctx context.Context, st *store.Store, stderr io.Writer, action, object string) {
	if err := st.AddAccess(ctx, store.Access{UserName: cliUser, Action: action, Object: object}); err != nil {
		fmt.Fprintf(stderr, "%s user: the change is made, but the access log could not record it: %v\n", prog, err)
	}
}
