package node

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testcert"
)

// TestCertFilesReload: the SIP-over-TLS certificate is read again when
// its files change, and a renewal half written (a new certificate with
// the old key) keeps the one in use until the key follows.
func TestCertFilesReload(t *testing.T) {
	a, b := testcert.New(t), testcert.New(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	copyFile := func(from, to string, at time.Time) {
		t.Helper()
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(to, at, at); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	copyFile(a.CertFile, certFile, now)
	copyFile(a.KeyFile, keyFile, now)
	c := &certFiles{cert: certFile, key: keyFile, log: slog.New(slog.DiscardHandler), what: "SIP over TLS"}
	if err := c.load(); err != nil {
		t.Fatal(err)
	}
	is := func(want *testcert.Cert, what string) {
		t.Helper()
		got, err := c.get(nil)
		if err != nil || !bytes.Equal(got.Certificate[0], want.TLS.Certificate[0]) {
			t.Fatalf("%s: not the certificate expected (%v)", what, err)
		}
	}
	is(a, "at first")
	copyFile(b.CertFile, certFile, now.Add(time.Minute))
	is(a, "a new certificate with the old key")
	copyFile(b.KeyFile, keyFile, now.Add(time.Minute))
	is(b, "the renewal complete")
	if err := (&certFiles{cert: filepath.Join(dir, "none.pem"), key: keyFile, log: slog.New(slog.DiscardHandler)}).load(); err == nil {
		t.Fatal("a missing certificate file loaded")
	}
}
