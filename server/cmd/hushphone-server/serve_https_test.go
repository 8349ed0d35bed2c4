package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/tlstest"
	"github.com/hushphone/hushphone/server/node"
)

// acmeName is the name the tests' certificates are for: clients ask for
// it (SNI) while dialling 127.0.0.1, and pebble's DNS resolves it there.
const acmeName = "hushphone.test"

// httpsGet GETs url over TLS trusting roots alone and asking for
// acmeName; it returns the status, the certificate the server showed, and
// the Strict-Transport-Security header.
func httpsGet(t *testing.T, url string, roots *x509.CertPool, timeout time.Duration) (int, *x509.Certificate, string) {
	t.Helper()
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: acmeName, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, res.TLS.PeerCertificates[0], res.Header.Get("Strict-Transport-Security")
}

// TestServeHTTPS: --tls-cert and --tls-key make the API HTTPS, with HSTS.
func TestServeHTTPS(t *testing.T) {
	ca := tlstest.NewCA(t)
	issued := ca.Issue(t, acmeName)
	certFile, keyFile := issued.Write(t, t.TempDir())
	url, metrics, stop := startServeMetrics(t, "--http", "127.0.0.1:0", "--data", t.TempDir(), "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(url, "https://127.0.0.1:") || !strings.HasPrefix(metrics, "http://127.0.0.1:") {
		t.Fatalf("serving on %s, metrics on %s", url, metrics)
	}
	code, cert, hsts := httpsGet(t, url+"/healthz", ca.Pool(), 5*time.Second)
	if code != http.StatusOK || cert.SerialNumber.Cmp(issued.Serial) != 0 || hsts != node.HSTS {
		t.Errorf("healthz: %d, serial %x (want %x), HSTS %q", code, cert.SerialNumber, issued.Serial, hsts)
	}
	if code, errOut := stop(); code != 0 || !strings.Contains(errOut, "HTTPS: certificate loaded") {
		t.Errorf("exit %d:\n%s", code, errOut)
	}
}

// TestServeRefusesPlainHTTP: without a certificate serve refuses an http
// address that is not loopback, saying which settings to set; with
// --insecure-http it serves, and warns.
func TestServeRefusesPlainHTTP(t *testing.T) {
	code, _, errOut := runWith(t, "", "serve", "--http", "0.0.0.0:0", "--metrics", "127.0.0.1:0", "--sip", sipptest.FreeAddr(t), "--data", t.TempDir())
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	for _, want := range []string{"tls-cert and tls-key", "acme-domain", "insecure-http", "in clear"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, errOut)
		}
	}
	url, stop := startServe(t, "--http", "0.0.0.0:0", "--data", t.TempDir(), "--insecure-http")
	_, port, err := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := httpDo(t, "GET", "http://127.0.0.1:"+port+"/healthz", "", ""); code != http.StatusOK {
		t.Errorf("healthz: %d %v", code, body)
	}
	if code, errOut := stop(); code != 0 || !strings.Contains(errOut, "level=WARN msg=\"INSECURE: plain HTTP") {
		t.Errorf("exit %d, no warning:\n%s", code, errOut)
	}
}

// TestServeACME: with --acme-domain serve gets its certificate from an
// ACME CA (pebble, on loopback, checking the name with a real TLS-ALPN-01
// challenge against serve's own listener): an HTTPS GET is answered with a
// certificate issued by pebble's intermediate. The account and the
// certificate are kept in DATA/acme (mode 0700), so a restart serves the
// same certificate without the CA.
func TestServeACME(t *testing.T) {
	addr := sipptest.FreeAddr(t)
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	pebble := tlstest.StartPebble(t, port)
	data := t.TempDir()
	args := []string{"--http", addr, "--data", data, "--acme-domain", acmeName, "--acme-email", "ops@hushphone.example.com",
		"--acme-ca", pebble.Directory, "--acme-ca-root", pebble.CAFile}
	url, stop := startServe(t, args...)
	if url != "https://"+addr {
		t.Fatalf("serving on %s", url)
	}
	roots := pebble.Roots(t)
	code, cert, hsts := httpsGet(t, url+"/healthz", roots, time.Minute) // the first handshake waits for the certificate
	if code != http.StatusOK || hsts != node.HSTS {
		t.Errorf("healthz: %d, HSTS %q", code, hsts)
	}
	inter := pebble.Intermediate(t)
	if err := cert.CheckSignatureFrom(inter); err != nil || cert.Issuer.String() != inter.Subject.String() {
		t.Errorf("the certificate (issuer %q) is not pebble's intermediate's (%q): %v", cert.Issuer, inter.Subject, err)
	}
	if len(cert.DNSNames) != 1 || cert.DNSNames[0] != acmeName {
		t.Errorf("the certificate's names: %v", cert.DNSNames)
	}
	if code, errOut := stop(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	dir := filepath.Join(data, "acme")
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("%s: %v %v, want a folder of mode 0700", dir, fi, err)
	}
	for _, name := range []string{"acme_account+key", acmeName} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s in the ACME cache: %v %v", name, fi, err)
		}
	}

	// Without the CA, a restart serves the certificate from the cache.
	pebble.Stop()
	url, stop = startServe(t, args...)
	code, again, _ := httpsGet(t, url+"/healthz", roots, 10*time.Second)
	if code != http.StatusOK || again.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		t.Errorf("after a restart: %d, serial %x, want the cached %x", code, again.SerialNumber, cert.SerialNumber)
	}
	stop()
}
