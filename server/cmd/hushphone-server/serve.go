package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/hushphone/hushphone/server/api"
	"github.com/hushphone/hushphone/server/config"
	"github.com/hushphone/hushphone/server/node"
)

func serveHelp(w io.Writer) {
	_, _ = fmt.Fprintf(w, `Usage:
  %[1]s serve [--http ADDR] [--data DIR] [--config FILE] [...]

Runs the server on its embedded defaults: the HTTP API on 127.0.0.1:8080,
its metrics on 127.0.0.1:9464, and everything persistent (the SQLite
database hushphone.db, the recordings) in the data directory, created if
missing. Stop it with Ctrl-C or SIGTERM: it finishes the requests in
flight (up to %[2]v) and exits 0.

HTTPS: on loopback the API may be plain HTTP; anywhere else it needs a
certificate, and serve refuses to start without one:
  --tls-cert FILE --tls-key FILE   a certificate and its key (PEM, the key
                                   mode 0600); read again when they change
  --acme-domain NAME --acme-email ADDR [--acme-ca URL]
                                   certificates from Let's Encrypt (or the
                                   ACME CA at URL), renewed automatically;
                                   the CA must reach the http address on
                                   port 443; account and certificates are
                                   kept in DIR/acme
  --insecure-http                  plain HTTP all the same (only behind a
                                   TLS proxy); a warning every start
Then the API and the WebSocket are HTTPS and WSS (TLS 1.2 or newer, with
Strict-Transport-Security on every response).

Before anyone can sign in, add users (the server may be running):
  printf '%%s\n' "$PASSWORD" | %[1]s user add --name root --role admin --password-stdin

The API (JSON; errors are {"error":"..."}):
  GET    /healthz          200 {"status":"ok"}
  POST   /api/v1/session   {"name","password"[,"code"]} -> {"token","role","expires"}
                           (supervisors and admins add the code from their
                           authenticator app: see 'user mfa --help')
  DELETE /api/v1/session   sign out (Authorization: Bearer TOKEN)
  GET    /api/v1/me        who the token belongs to
  GET    /api/v1/users     supervisors and admins: the users
After %[3]d failed sign-ins for one name from one address in %[4]d s, or
%[7]d from one address for any names, that address waits (429); attempts
for one name count from when they start, so parallel guesses cannot pass
the limit.

Metrics (Prometheus) are on their own address, never the API's:
  GET    /metrics          on --metrics ADDR (default 127.0.0.1:9464); with
                           --metrics-token FILE it needs Authorization:
                           Bearer and the file's token, and an address that
                           is not loopback needs that token

Settings:
%[5]s
%[6]s

Profiling (off unless asked for):
  --pprof ADDR   serve Go's profiles (net/http/pprof) on ADDR, which must be
                 on loopback, e.g. 127.0.0.1:6060

Exit status:
  0  stopped by a signal, cleanly
  1  could not start (a message says why), or failed while serving
  2  usage error

Example:
  curl -s localhost:8080/api/v1/session -H 'Content-Type: application/json' \
       -d '{"name":"root","password":"..."}'
`, prog, node.ShutdownTimeout, api.DefaultFailLimit, int(api.DefaultFailWindow/time.Second), config.Help(), config.Precedence, api.DefaultSourceFailLimit)
}

func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	settings := config.Bind(fs)
	pprofAddr := fs.String("pprof", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			serveHelp(stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "%s serve: %v (see '%s serve --help')\n", prog, err, prog)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s serve: unexpected argument %q (see '%s serve --help')\n", prog, fs.Arg(0), prog)
		return exitUsage
	}
	cfg, err := settings.Load(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "%s serve: %v (see '%s serve --help')\n", prog, err, prog)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if *pprofAddr != "" {
		stop, err := startPprof(ctx, *pprofAddr, log)
		if err != nil {
			fmt.Fprintf(stderr, "%s serve: %v\n", prog, err)
			return exitUsage
		}
		defer stop()
	}
	if err := serve(ctx, cfg, log, stdout); err != nil {
		fmt.Fprintf(stderr, "%s serve: %v\n", prog, err)
		return exitFailure
	}
	return exitOK
}

// serve runs the node cfg describes until ctx is done, then shuts down
// cleanly.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	n, err := node.New(cfg, log) //nolint:contextcheck // building is local work, not bounded by serve's context (cancelled to stop it)
	if err != nil {
		return err //nolint:wrapcheck // node's errors say what is wrong and which setting to change
	}
	defer func() { _ = n.Close() }() //nolint:contextcheck // closing must finish even though serve's context is done
	fmt.Fprintf(stdout, "%s: serving on %s (metrics on %s; SIP on %s over UDP and TCP; data in %s); Ctrl-C stops\n", prog, n.URL(), n.MetricsURL(), cfg.SIP, cfg.DataDir)
	return n.Run(ctx) //nolint:wrapcheck // node's errors say what failed
}
