package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testcert"

	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/protocol"
)

// TestCheckServer: clear text only to this machine; https anywhere.
func TestCheckServer(t *testing.T) {
	for _, c := range []struct {
		server string
		want   error  // nil: accepted
		url    string // as the engine uses it
	}{
		{"http://127.0.0.1:8080", nil, "http://127.0.0.1:8080"},
		{"http://127.0.0.2:8080/", nil, "http://127.0.0.2:8080/"},
		{"http://localhost:8080", nil, "http://localhost:8080"},
		{"http://LOCALHOST.:8080", nil, "http://LOCALHOST.:8080"},
		{"http://[::1]:8080", nil, "http://[::1]:8080"},
		{"ws://127.0.0.1:8080", nil, "http://127.0.0.1:8080"},
		{"https://hushphone.example.com", nil, "https://hushphone.example.com"},
		{"wss://hushphone.example.com:8443", nil, "https://hushphone.example.com:8443"},
		{"https://192.0.2.1", nil, "https://192.0.2.1"},
		{"http://192.0.2.1:8080", ErrInsecure, ""},
		{"http://example.invalid", ErrInsecure, ""},
		{"HTTP://hushphone.example.com", ErrInsecure, ""},
		{"ws://hushphone.example.com", ErrInsecure, ""},
		{"http://localhost.example.com", ErrInsecure, ""},
		{"http://127.0.0.1.nip.io", ErrInsecure, ""},
		{"http://[::2]:8080", ErrInsecure, ""},
		{"http://0.0.0.0:8080", ErrInsecure, ""},
		{"http://10.0.0.1", ErrInsecure, ""},
		{"ftp://127.0.0.1", ErrConfig, ""},
		{"127.0.0.1:8080", ErrConfig, ""},
		{"https://", ErrConfig, ""},
		{"https://ann:pw@hushphone.example.com", ErrConfig, ""},
	} {
		u, err := CheckServer(c.server)
		switch {
		case c.want == nil && err != nil:
			t.Errorf("%s: %v, want accepted", c.server, err)
		case c.want == nil && u.String() != c.url:
			t.Errorf("%s: %s, want %s", c.server, u, c.url)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: %v, want %v", c.server, err, c.want)
		case errors.Is(err, ErrInsecure) && !strings.Contains(err.Error(), "use https://"):
			t.Errorf("%s: %q does not say to use https", c.server, err)
		case errors.Is(err, ErrInsecure) && !errors.Is(err, ErrConfig):
			t.Errorf("%s: ErrInsecure is not an ErrConfig", c.server)
		}
	}
}

// TestClearTextRefusedBeforeConnecting: an http:// server that is not this
// machine is refused at once by New: nothing is dialled (192.0.2.1, TEST-NET,
// would hang a dial until the deadline), so the name and password never
// leave in clear.
func TestClearTextRefusedBeforeConnecting(t *testing.T) {
	for _, server := range []string{"http://192.0.2.1:8080", "http://example.invalid", "ws://192.0.2.1"} {
		start := time.Now()
		a, err := New(Config{Server: server, User: "ann", Password: "ann-password"})
		if err == nil {
			// Without the check: the sign-in goes out in clear.
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			err = a.Run(ctx)
			cancel()
		}
		if !errors.Is(err, ErrInsecure) {
			t.Errorf("%s: %v, want ErrInsecure", server, err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%s: refused after %v: something was dialled first", server, d)
		}
		if err != nil && strings.Contains(err.Error(), "ann-password") {
			t.Errorf("%s: the error holds the password", server)
		}
	}
}

// TestPrivateCA: a server behind HTTPS whose certificate a private CA
// signed is refused with ErrCertificate on the system's roots alone, and
// reached (signed in, connected, hello) with the CA given in Config.CA.
func TestPrivateCA(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	caPEM, front := testcert.HTTPSFront(t, srv.URL)

	run := func(ca []byte) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var a *Agent
		a, err := New(Config{Server: front, User: "ann", Password: "ann-password", Loopback: true, CA: ca,
			OnEvent: func(e Event) {
				if e.Type == protocol.TypeHello {
					cancel() // connected: enough
				}
			}})
		if err != nil {
			return err
		}
		if err := a.Run(ctx); err != nil {
			return err
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			return errors.New("no hello before the deadline")
		}
		return nil
	}
	if err := run(nil); !errors.Is(err, ErrCertificate) {
		t.Errorf("without the CA: %v, want ErrCertificate", err)
	}
	if err := run(caPEM); err != nil {
		t.Errorf("with the CA: %v", err)
	}
	if err := run([]byte("not a certificate")); !errors.Is(err, ErrCA) || !errors.Is(err, ErrConfig) {
		t.Errorf("a CA that is not PEM: %v, want ErrCA", err)
	}
}
