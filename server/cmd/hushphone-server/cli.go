package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes.
const (
	exitOK      = 0 // everything asked for was done
	exitFailure = 1 // some input could not be processed
	exitUsage   = 2 // the command line was wrong
)

const prog = "hushphone-server"

// command is one subcommand: hushphone-server NAME [FLAGS].
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
	help    func(w io.Writer)
}

// commands lists the subcommands, in the order help shows them.
func commands() []command {
	return []command{
		{name: "serve", summary: "run the server: the HTTP API (sign-in) on the data directory's database", run: runServe, help: serveHelp},
		{name: "user", summary: "add, list, remove, disable and enable the users who sign in (agents, supervisors, admins)", run: runUser, help: userHelp},
		{name: "scrub", summary: "mask the key presses in recorded calls (a WAV file or a folder of them)", run: func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runScrub(ctx, args, stdout, stderr)
		}, help: scrubHelp},
		{name: "verify", summary: "check recorded calls for key presses that got through unmasked (WAV files or folders)", run: func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runVerify(ctx, args, stdout, stderr)
		}, help: verifyHelp},
	}
}

// run is the whole program but for the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(stdout)
			return exitOK
		}
		for _, c := range commands() {
			if c.name == rest[0] {
				c.help(stdout)
				return exitOK
			}
		}
		fmt.Fprintf(stderr, "%s help: unknown command %q\n\n", prog, rest[0])
		usage(stderr)
		return exitUsage
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, rest, stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n", prog, name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: the Hushphone server: callers type card details, listeners hear one flat tone per key.\n\n", prog)
	fmt.Fprintf(&b, "Usage:\n  %s COMMAND [FLAGS]\n\nCommands:\n", prog)
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(&b, "  %-7s %s\n", "help", "show this help, or a command's: "+prog+" help COMMAND")
	fmt.Fprintf(&b, "\nRun '%s COMMAND --help' for a command's flags and examples.\n", prog)
	fmt.Fprintf(&b, "\nExit status: 0 success, 1 failure (some input could not be processed), 2 usage error.\n")
	_, _ = io.WriteString(w, b.String())
}

// isTerminal reports whether w is a terminal, for progress bars.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// isTerminalReader reports whether r is a terminal, where typing would echo.
func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// usageError returns what a command (cmd, whose arguments are usage) calls
// on a usage error: it says what was wrong, the usage and where help is,
// and returns exitUsage.
func usageError(stderr io.Writer, cmd, usage string) func(format string, a ...any) int {
	return func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s %s: %s\n", prog, cmd, fmt.Sprintf(format, a...))
		fmt.Fprintf(stderr, "Usage: %s %s %s\n", prog, cmd, usage)
		fmt.Fprintf(stderr, "Run '%s %s --help' for more.\n", prog, cmd)
		return exitUsage
	}
}
