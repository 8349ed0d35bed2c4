// Command hushphone-server is the Hushphone server. For now it has one
// command, scrub, which masks key presses in recorded calls; serve (the live
// server) and user (user admin) will join it.
//
//	hushphone-server help
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
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
