// Command hushphone-server is the Hushphone server: serve (the server),
// user (user admin) and scrub (mask key presses in recorded calls).
//
//	hushphone-server help
//	hushphone-server serve --help
//	hushphone-server user --help
//	hushphone-server scrub --help
//
// Exit status: 0 success, 1 failure (some input could not be processed),
// 2 usage error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
