// Package testcert is a loopback server's side of TLS in tests: a private
// certificate authority and a server certificate it signs for 127.0.0.1,
// ::1 and localhost (made by tlstest), in memory and as PEM files, as a
// TLS server and the clients that trust it need them; and an HTTPS front
// for a server under test.
package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/hushphone/hushphone/internal/testing/tlstest"
)

// Cert is a server certificate for loopback and the authority that
// signed it.
type Cert struct {
	// CertFile, KeyFile and CAFile are the PEM files: the server's
	// certificate (then the authority's, the chain a server sends), its
	// private key (mode 0600), and the authority's certificate, for
	// clients to trust.
	CertFile, KeyFile, CAFile string
	// TLS is the server's certificate and key.
	TLS tls.Certificate
	// Pool holds the authority, for clients' RootCAs.
	Pool *x509.CertPool
}

// New makes a fresh authority and a server certificate signed by it
// (tlstest's), written into the test's temporary directory.
func New(t testing.TB) *Cert {
	t.Helper()
	ca := tlstest.NewCA(t)
	issued := ca.Issue(t, "localhost", "127.0.0.1", "::1")
	pair, err := tls.X509KeyPair(issued.CertPEM, issued.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &Cert{CAFile: filepath.Join(dir, "ca.pem"), TLS: pair, Pool: ca.Pool()}
	c.CertFile, c.KeyFile = issued.Write(t, dir)
	if err := os.WriteFile(c.CAFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// ServerConfig is a TLS server configuration with the certificate.
func (c *Cert) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.TLS}, MinVersion: tls.VersionTLS12}
}

// ClientConfig is a TLS client configuration that trusts the authority.
func (c *Cert) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: c.Pool, MinVersion: tls.VersionTLS12}
}

// HTTPSFront puts an HTTPS reverse proxy in front of the server at
// backend (the API and the WebSocket), with a fresh Cert: the clients'
// side of a server behind TLS with a private CA. It returns the CA's
// certificate (PEM, as a client is given it) and the front's https URL;
// the front stops when the test ends.
func HTTPSFront(t testing.TB, backend string) (caPEM []byte, frontURL string) {
	t.Helper()
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	c := New(t)
	if caPEM, err = os.ReadFile(c.CAFile); err != nil {
		t.Fatal(err)
	}
	front := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	front.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	front.TLS = c.ServerConfig()
	front.StartTLS()
	t.Cleanup(front.Close)
	return caPEM, front.URL
}
