package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"rsc.io/qr"

	"github.com/hushphone/hushphone/server/config"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/totp"
)

// mfaIssuer names the server in authenticator apps.
const mfaIssuer = "Hushphone"

func userMFAHelp(w io.Writer) {
	_, _ = fmt.Fprintf(w, `Usage:
  %[1]s user mfa enroll --name NAME [--data DIR]
  %[1]s user mfa reset --name NAME [--data DIR]

A second sign-in factor: a 6-digit code from an authenticator app (TOTP,
RFC 6238), sent with the password. Supervisors and admins cannot sign in
without one; agents need one when the server runs with --mfa-agents
required, and otherwise only once enrolled.

enroll makes a new secret for the user and prints, once, what to hand them
privately: an otpauth:// URI and the same as a QR code to scan with the
app, the secret itself for typing in by hand, and %[2]d recovery codes, each
good for one sign-in when the phone is lost (only their hashes are kept).
A user who has one already must be reset first.

reset removes the user's second factor and recovery codes (a lost phone):
they then enrol again, and until then sign in as if they had none.

Flags:
  --name NAME   the user
%[3]s
Exit status:
  0  done
  1  failed (a message says why and what to do)
  2  usage error
`, prog, totp.RecoveryCount, config.Help("data"))
}

func runUserMFA(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s user mfa: say what to do: enroll or reset\n\n", prog)
		userMFAHelp(stderr)
		return exitUsage
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		userMFAHelp(stdout)
		return exitOK
	case "enroll", "reset":
	default:
		fmt.Fprintf(stderr, "%s user mfa: unknown action %q: use enroll or reset (see '%s user mfa --help')\n", prog, sub, prog)
		return exitUsage
	}
	fs := flag.NewFlagSet("user mfa "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	settings := config.Bind(fs, "data")
	name := fs.String("name", "", "")
	cfg, code, ok := parseUserFlags(fs, settings, rest, "mfa "+sub, userMFAHelp, stdout, stderr)
	if !ok {
		return code
	}
	if *name == "" {
		return userUsage(stderr, "mfa "+sub, "--name is required")
	}
	st, err := store.Open(ctx, cfg.DataDir)
	if err != nil {
		fmt.Fprintf(stderr, "%s user mfa %s: %v\n", prog, sub, err)
		return exitFailure
	}
	defer func() { _ = st.Close() }()
	u, err := st.UserByName(ctx, *name)
	if err != nil {
		fmt.Fprintf(stderr, "%s user mfa %s: %v (see '%s user list')\n", prog, sub, err, prog)
		return exitFailure
	}
	if sub == "reset" {
		if err := st.ResetMFA(ctx, u.ID); err != nil {
			fmt.Fprintf(stderr, "%s user mfa reset: %s: %v\n", prog, u.Name, err)
			return exitFailure
		}
		cliAccess(ctx, st, stderr, store.AccessUserMFAReset, u.Name+": second factor reset")
		fmt.Fprintf(stdout, "removed %s's second factor and recovery codes; enrol again with '%s user mfa enroll --name %s'\n", u.Name, prog, u.Name)
		return exitOK
	}
	if _, err := st.UserMFA(ctx, u.ID); err == nil {
		fmt.Fprintf(stderr, "%s user mfa enroll: %s has a second factor already; to replace it (a lost phone), run '%s user mfa reset --name %s' first\n", prog, u.Name, prog, u.Name)
		return exitFailure
	} else if !errors.Is(err, store.ErrNoMFA) {
		fmt.Fprintf(stderr, "%s user mfa enroll: %v\n", prog, err)
		return exitFailure
	}
	secret, err := totp.NewSecret()
	if err != nil {
		fmt.Fprintf(stderr, "%s user mfa enroll: %v\n", prog, err)
		return exitFailure
	}
	codes, hashes, err := totp.NewRecoveryCodes()
	if err != nil {
		fmt.Fprintf(stderr, "%s user mfa enroll: %v\n", prog, err)
		return exitFailure
	}
	uri := totp.URI(mfaIssuer, u.Name, secret)
	pic, err := qrText(uri)
	if err != nil {
		fmt.Fprintf(stderr, "%s user mfa enroll: %v\n", prog, err)
		return exitFailure
	}
	if err := st.SetMFA(ctx, u.ID, secret, hashes); err != nil {
		fmt.Fprintf(stderr, "%s user mfa enroll: %v\n", prog, err)
		return exitFailure
	}
	cliAccess(ctx, st, stderr, store.AccessUserMFAEnrol, u.Name+": second factor enrolled")
	fmt.Fprintf(stdout, `Enrolled a second factor for %[1]s (%[2]s). Shown this once: hand it to %[1]s privately.

Scan with an authenticator app:

%[3]s
or open this URI on the phone:
  %[4]s
or type the secret in by hand (time-based, 6 digits, 30 s):
  %[5]s

Recovery codes, each good for one sign-in in place of the app's code:
  %[6]s

%[1]s now signs in with the password and the app's current code.
`, u.Name, u.Role, pic, uri, secret, strings.Join(codes, "\n  "))
	return exitOK
}

// qrText draws s as a QR code in text, two rows of modules a line with
// half blocks, light modules drawn and dark ones left blank, with a quiet
// zone of two modules: on a terminal's usual light text over a dark
// background, it scans as a dark code on light.
func qrText(s string) (string, error) {
	c, err := qr.Encode(s, qr.M)
	if err != nil {
		return "", fmt.Errorf("draw the QR code: %w", err)
	}
	const quiet = 2
	n := c.Size + 2*quiet
	light := func(x, y int) bool {
		x, y = x-quiet, y-quiet
		return x < 0 || y < 0 || x >= c.Size || y >= c.Size || !c.Black(x, y)
	}
	var b strings.Builder
	for y := 0; y < n; y += 2 {
		b.WriteString("  ")
		for x := range n {
			top, bottom := light(x, y), y+1 < n && light(x, y+1)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteString(" ")
			}
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}
