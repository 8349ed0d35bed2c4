package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/stacktest"
)

// TestPrivateCA: against an HTTPS server whose certificate a private CA
// signed, sign-in fails saying the certificate is not trusted until the
// CA's file is set (SetCA); then it works, and the setting is remembered.
// A file that holds no certificate is refused.
func TestPrivateCA(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	caPEM, front := httpsFront(t, srv.URL)
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

// httpsFront puts an HTTPS reverse proxy in front of the server at backend
// (the API and the WebSocket), its certificate for 127.0.0.1 signed by a
// CA made for the test; it returns the CA's certificate (PEM) and the
// front's https URL.
func httpsFront(t *testing.T, backend string) ([]byte, string) {
	t.Helper()
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, leaf := testCA(t)
	front := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	front.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	front.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12}
	front.StartTLS()
	t.Cleanup(front.Close)
	return caPEM, front.URL
}

// testCA makes a CA and a certificate it signs for 127.0.0.1 and
// localhost.
func testCA(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Hushphone test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}
}
