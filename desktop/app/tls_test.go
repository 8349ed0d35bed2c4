package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testcert"

	"github.com/hushphone/hushphone/internal/testing/stacktest"
)

// TestPrivateCA: against an HTTPS server whose certificate a private CA
// signed, sign-in fails saying the certificate is not trusted until the
// CA's file is set (SetCA); then it works, and the setting is remembered.
// A file that holds no certificate is refused.
func TestPrivateCA(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	caPEM, front := testcert.HTTPSFront(t, srv.URL)
	a, _ := newApp(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}

	if err := a.SignIn(front, "ann", "ann-password"); err == nil || !strings.Contains(err.Error(), "certificate is not trusted") {
		t.Fatalf("without the CA: %v, want the certificate not trusted", err)
	}
	for _, f := range []string{junk, filepath.Join(t.TempDir(), "none.pem")} {
		if err := a.SetCA(f); !errors.Is(err, ErrInput) {
			t.Errorf("SetCA(%s): %v, want ErrInput", f, err)
		}
	}
	if err := a.SetCA(caFile); err != nil {
		t.Fatal(err)
	}
	if err := a.SignIn(front, "ann", "ann-password"); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	wait(t, a, 5*time.Second, "available", func(s State) bool { return s.Presence == "available" })
	if err := a.SignOut(); err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{ConfigDir: a.o.ConfigDir, NullDevices: true})
	if err != nil {
		t.Fatal(err)
	}
	if p := b.Prefs(); p.CA != caFile || p.Server != front {
		t.Errorf("prefs after a restart %+v", p)
	}
	if err := b.SetCA(""); err != nil || b.Prefs().CA != "" {
		t.Errorf("SetCA(\"\"): %v %+v", err, b.Prefs())
	}
}
