package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testcert"

	"github.com/hushphone/hushphone/internal/testing/stacktest"
)

// TestClearTextRefused: --server http:// to a host that is not this
// machine exits 2 at once, saying to use https, before the password is
// read or anything is sent.
func TestClearTextRefused(t *testing.T) {
	for _, server := range []string{"http://192.0.2.1:8080", "http://example.invalid", "ws://hushphone.example.com"} {
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		code := run(ctx, []string{"--server", server, "--user", "ann", "--password-stdin"}, strings.NewReader("secret-pw\n"), &out, &errOut)
		cancel()
		if code != 2 || !strings.Contains(errOut.String(), "use https://") {
			t.Errorf("%s: exit %d, %q; want 2 and \"use https://\"", server, code, errOut.String())
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: refused after %v", server, d)
		}
	}
}

// TestPrivateCAFlag: against an HTTPS server whose certificate a private
// CA signed, the agent fails with a certificate error that points to --ca
// when it is not given, and signs in and becomes available with --ca.
func TestPrivateCAFlag(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	caPEM, front := testcert.HTTPSFront(t, srv.URL)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--server", front, "--user", "ann", "--password-stdin"}

	// Without --ca: the certificate is not trusted.
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	code := run(ctx, args, strings.NewReader("ann-password\n"), &out, &errOut)
	cancel()
	if code != 1 || !strings.Contains(errOut.String(), "certificate is not trusted") || !strings.Contains(errOut.String(), "--ca FILE") {
		t.Errorf("without --ca: exit %d, %q; want 1, a certificate error and a pointer to --ca", code, errOut.String())
	}

	// A --ca that is no certificate, or no file: a usage error.
	for _, f := range []string{junk, filepath.Join(dir, "none.pem")} {
		out.Reset()
		errOut.Reset()
		if code := run(context.Background(), append(args, "--ca", f), strings.NewReader("ann-password\n"), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--ca") {
			t.Errorf("--ca %s: exit %d, %q; want 2", f, code, errOut.String())
		}
	}

	// With --ca: signed in and available, until stopped.
	out.Reset()
	errOut.Reset()
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append(args, "--ca", caFile), strings.NewReader("ann-password\n"), &out, &errOut)
	}()
	srv.WaitAvailable(t, 1)
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("with --ca: exit %d, %q", code, errOut.String())
	}
}
