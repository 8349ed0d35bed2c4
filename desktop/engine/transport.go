package engine

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Errors about the way to the server.
var (
	// ErrInsecure: the server address is plain http:// (or ws://) to a
	// host that is not this machine. The name, the password and the
	// media's DTLS fingerprints would cross the network in clear, so the
	// engine refuses before it connects. It is an ErrConfig too.
	ErrInsecure = fmt.Errorf("%w: plain http:// is only for this machine (localhost, 127.0.0.0/8, ::1): use https://", ErrConfig)
	// ErrCertificate: the server's TLS certificate is not trusted by the
	// system's roots nor by the private CA given (Config.CA).
	ErrCertificate = errors.New("engine: the server's certificate is not trusted: if the server uses a private CA, give its certificate (PEM)")
	// ErrCA: the private CA given is not a PEM certificate. It is an
	// ErrConfig too.
	ErrCA = fmt.Errorf("%w: the private CA is not a PEM certificate", ErrConfig)
)

// maxRedirects bounds the redirects followed on the way to the server.
const maxRedirects = 5

// CheckServer checks a server address before anything is sent to it and
// returns it as the engine uses it: https (or wss) to any host, http (or
// ws) only to this machine: localhost or a loopback address (127.0.0.0/8,
// ::1). ws and wss are taken as http and https. It is the one place both
// the app and hushphone-agent check an address (New calls it), so a clear
// text address to another host is refused before any packet leaves.
func CheckServer(server string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: the server address is like https://hushphone.example.com (or http://127.0.0.1:8080 on this machine)", ErrConfig)
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "wss":
		u.Scheme = "https"
	case "http", "ws":
		if !IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%w, not %s://%s", ErrInsecure, strings.ToLower(u.Scheme), u.Host)
		}
		u.Scheme = "http"
	default:
		return nil, fmt.Errorf("%w: the server address starts with https:// (or http:// on this machine), not %q", ErrConfig, u.Scheme+":")
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: no name or password in the server address", ErrConfig)
	}
	return u, nil
}

// IsLoopback reports whether host (a name or an address, without a port)
// is this machine: localhost, or an address in 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// CertPool returns the system's roots with the certificates in pem (a
// private CA) added; with pem empty, nil (the system's roots).
func CertPool(pem []byte) (*x509.CertPool, error) {
	if len(pem) == 0 {
		return nil, nil //nolint:nilnil // nil is "the system's roots" to crypto/tls
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, ErrCA
	}
	return pool, nil
}

// newClient is the HTTP client for the sign-in and the WebSocket: TLS 1.2
// or newer against roots (nil: the system's), and redirects followed only
// to addresses CheckServer accepts.
func newClient(roots *x509.CertPool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone() //nolint:forcetypeassert // net/http's own type
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("%w: too many redirects", ErrProtocol)
			}
			if _, err := CheckServer(req.URL.String()); err != nil {
				return fmt.Errorf("redirected: %w", err)
			}
			return nil
		},
	}
}

// isCertError reports whether err is a TLS handshake that failed on the
// server's certificate (an unknown authority, a wrong name, expired).
func isCertError(err error) bool {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &host) || errors.As(err, &verify)
}
