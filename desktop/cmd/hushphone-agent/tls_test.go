package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
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
	caPEM, front := httpsFront(t, srv.URL)
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
