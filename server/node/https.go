package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/hushphone/hushphone/server/config"
)

// Errors New returns about HTTPS and the metrics listener; they name the
// settings, as the others do.
var (
	// ErrInsecureHTTP: plain HTTP on an address that is not loopback,
	// without insecure-http.
	ErrInsecureHTTP = errors.New("plain HTTP on an address that is not loopback")
	// ErrTLS: the HTTPS settings do not fit together, or the certificate
	// or its key cannot be used.
	ErrTLS = errors.New("HTTPS settings")
	// ErrMetrics: the metrics listener's settings.
	ErrMetrics = errors.New("metrics settings")
)

// HSTS is the Strict-Transport-Security header every HTTPS response
// carries: browsers that saw it go to the server over HTTPS only, for a
// year. It leaves subdomains alone (they need not be the server's).
const HSTS = "max-age=31536000"

// minTokenLen is the shortest metrics token taken: a guessable one would
// protect nothing.
const minTokenLen = 16

// web is the node's HTTP side: the API's listener (the API and the
// WebSocket, over HTTPS and WSS when a certificate is set) and the
// metrics listener apart from it. New binds both; Run serves them.
type web struct {
	api, metrics     *http.Server
	apiLn, metricsLn net.Listener
	apiTLS           bool // api serves HTTPS
	metricsTLS       bool // metrics serves HTTPS
	acme             *http.Transport

	wg     sync.WaitGroup
	errs   [2]error      // what each server's Serve returned
	failed chan struct{} // closed when a Serve returns for any reason but a shutdown
	fail   sync.Once
}

// newWeb checks the HTTPS and metrics settings, builds both servers and
// binds their addresses.
func newWeb(ctx context.Context, cfg config.Config, log *slog.Logger, api, metrics http.Handler) (_ *web, err error) {
	w := &web{failed: make(chan struct{})}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	tc, err := w.tlsConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	if tc == nil && !loopback(cfg.HTTP) {
		if !cfg.InsecureHTTP {
			return nil, fmt.Errorf("%w: http %s would carry passwords, session tokens and the agents' media keys in clear: "+
				"set tls-cert and tls-key (or acme-domain and acme-email) to serve HTTPS there, put http on 127.0.0.1, "+
				"or set insecure-http if a TLS proxy on a trusted network is in front", ErrInsecureHTTP, cfg.HTTP)
		}
		log.Warn("INSECURE: plain HTTP on an address that is not loopback (insecure-http): passwords, session tokens and the agents' media keys cross the network in clear; set tls-cert and tls-key or acme-domain",
			"http", cfg.HTTP)
	}
	var token []byte
	if cfg.MetricsToken != "" {
		if token, err = readToken(cfg.MetricsToken); err != nil {
			return nil, err
		}
		metrics = bearer(token, metrics)
	}
	if !loopback(cfg.Metrics) {
		switch {
		case token == nil:
			return nil, fmt.Errorf("%w: metrics %s is not a loopback address: set metrics-token (a file holding a bearer token) or put metrics on 127.0.0.1", ErrMetrics, cfg.Metrics)
		case tc == nil && !cfg.InsecureHTTP:
			return nil, fmt.Errorf("%w: metrics %s is not a loopback address and its token would cross the network in clear: "+
				"set tls-cert and tls-key (or acme-domain), put metrics on 127.0.0.1, or set insecure-http", ErrInsecureHTTP, cfg.Metrics)
		case tc == nil:
			log.Warn("INSECURE: /metrics and its token over plain HTTP on an address that is not loopback (insecure-http)", "metrics", cfg.Metrics)
		}
		w.metricsTLS = tc != nil
	}
	w.apiTLS = tc != nil

	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	w.api = &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errLog,
	}
	w.metrics = &http.Server{
		Handler:           metrics,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errLog,
	}
	if w.apiTLS {
		w.api.Handler, w.api.TLSConfig = hsts(api), tc
	}
	if w.metricsTLS {
		w.metrics.Handler, w.metrics.TLSConfig = hsts(metrics), tc.Clone()
	}

	var lc net.ListenConfig
	if w.apiLn, err = lc.Listen(ctx, "tcp", cfg.HTTP); err != nil {
		return nil, fmt.Errorf("%w: HTTP on %s (is another server there? choose another http address): %w", ErrListen, cfg.HTTP, err)
	}
	if w.metricsLn, err = lc.Listen(ctx, "tcp", cfg.Metrics); err != nil {
		return nil, fmt.Errorf("%w: metrics on %s (is another server there? choose another metrics address): %w", ErrListen, cfg.Metrics, err)
	}
	return w, nil
}

// tlsConfig is the HTTPS configuration the settings ask for: the
// certificate files, or ACME; nil for none. TLS 1.2 is the oldest version
// it speaks, whatever the process's defaults (GODEBUG can lower Go's).
func (w *web) tlsConfig(cfg config.Config, log *slog.Logger) (*tls.Config, error) {
	files := cfg.TLSCert != "" || cfg.TLSKey != ""
	switch {
	case files && len(cfg.ACMEDomains) > 0:
		return nil, fmt.Errorf("%w: tls-cert and tls-key, or acme-domain: set one, not both", ErrTLS)
	case files && (cfg.TLSCert == "" || cfg.TLSKey == ""):
		return nil, fmt.Errorf("%w: tls-cert and tls-key go together: set both (the certificate and its private key, PEM)", ErrTLS)
	case files:
		c := &certFiles{cert: cfg.TLSCert, key: cfg.TLSKey, log: log}
		if err := c.load(); err != nil {
			return nil, err
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.get}, nil
	case len(cfg.ACMEDomains) > 0:
		m, err := w.acmeManager(cfg, log)
		if err != nil {
			return nil, err
		}
		get := func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName == "" { // a client that sends no name (by address) gets the first
				h := *hello
				h.ServerName = cfg.ACMEDomains[0]
				hello = &h
			}
			return m.GetCertificate(hello)
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: get,
			NextProtos: []string{"h2", "http/1.1", acme.ALPNProto}}, nil
	}
	return nil, nil //nolint:nilnil // no certificate set: plain HTTP, which newWeb checks
}

// acmeManager gets and renews the certificates for the acme-domain names
// from the CA at acme-ca, answering its TLS-ALPN-01 challenges on the API's
// own listener, and keeps the account key and the certificates in the
// data directory's acme folder (mode 0700).
func (w *web) acmeManager(cfg config.Config, log *slog.Logger) (*autocert.Manager, error) {
	if cfg.ACMEEmail == "" {
		return nil, fmt.Errorf("%w: acme-domain needs acme-email, an address the CA may write to about the certificates", ErrTLS)
	}
	dir := filepath.Join(cfg.DataDir, "acme")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: the ACME folder: %w", ErrTLS, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil { //nolint:gosec // a folder, its owner's alone: the account's key is there
		return nil, fmt.Errorf("%w: the ACME folder: %w", ErrTLS, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.ACMECARoot != "" {
		pem, err := os.ReadFile(cfg.ACMECARoot)
		if err != nil {
			return nil, fmt.Errorf("%w: reading the acme-ca-root file: %w", ErrTLS, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: the acme-ca-root file holds no PEM certificate", ErrTLS)
		}
	}
	// The CA is asked once in months: no connection is kept, so none
	// outlives the node.
	w.acme = &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tc, DisableKeepAlives: true,
		TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 30 * time.Second}
	log.Info("HTTPS: certificates from ACME, on the first connection and renewed before they expire",
		"domains", strings.Join(cfg.ACMEDomains, ","), "ca", cfg.ACMECA, "cache", dir)
	return &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(dir),
		HostPolicy: autocert.HostWhitelist(cfg.ACMEDomains...),
		Email:      cfg.ACMEEmail,
		Client: &acme.Client{DirectoryURL: cfg.ACMECA, UserAgent: "hushphone",
			HTTPClient: &http.Client{Transport: w.acme, Timeout: time.Minute}},
	}, nil
}

// start serves both listeners, each from a goroutine of its own that
// stop waits for; base is the requests' context.
func (w *web) start(base context.Context) {
	for i, s := range []*http.Server{w.api, w.metrics} {
		ln, tlsOn := w.apiLn, w.apiTLS
		if i == 1 {
			ln, tlsOn = w.metricsLn, w.metricsTLS
		}
		s.BaseContext = func(net.Listener) context.Context { return base }
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			var err error
			if tlsOn {
				err = s.ServeTLS(ln, "", "") // the certificate comes from TLSConfig
			} else {
				err = s.Serve(ln)
			}
			w.errs[i] = err
			if !errors.Is(err, http.ErrServerClosed) {
				w.fail.Do(func() { close(w.failed) })
			}
		}()
	}
}

// stop shuts both servers down, giving requests in flight until ctx is
// done, and waits for them; the error is the first a server failed with
// (serving or shutting down), nil if none did.
func (w *web) stop(ctx context.Context) error {
	var err error
	for _, s := range []*http.Server{w.api, w.metrics} {
		if serr := s.Shutdown(ctx); serr != nil {
			_ = s.Close()
			if err == nil {
				err = fmt.Errorf("shut down: requests still running after %v: %w", ShutdownTimeout, serr)
			}
		}
	}
	w.wg.Wait()
	for _, serr := range w.errs {
		if serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			return fmt.Errorf("HTTP server: %w", serr)
		}
	}
	return err
}

// close releases the listeners of a web that never served.
func (w *web) close() {
	for _, ln := range []net.Listener{w.apiLn, w.metricsLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	if w.acme != nil {
		w.acme.CloseIdleConnections()
	}
}

// url is the API's base URL.
func (w *web) url() string { return scheme(w.apiTLS) + w.apiLn.Addr().String() }

// metricsURL is where /metrics is read.
func (w *web) metricsURL() string {
	return scheme(w.metricsTLS) + w.metricsLn.Addr().String() + "/metrics"
}

func scheme(tlsOn bool) string {
	if tlsOn {
		return "https://"
	}
	return "http://"
}

// loopback reports whether addr (host:port) listens on loopback only: a
// loopback address or localhost. Every address (":8080", "0.0.0.0:8080")
// and names are not.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// hsts has every response carry Strict-Transport-Security, on a server
// that speaks only HTTPS.
func hsts(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", HSTS)
		}
		h.ServeHTTP(w, r)
	})
}

// bearer lets through only the requests that carry token as
// Authorization: Bearer TOKEN, compared in constant time (their hashes, so
// not even the length shows).
func bearer(token []byte, h http.Handler) http.Handler {
	want := sha256.Sum256(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		const prefix = "bearer "
		ok := len(auth) > len(prefix) && strings.EqualFold(auth[:len(prefix)], prefix)
		got := sha256.Sum256([]byte(strings.TrimSpace(auth[min(len(prefix), len(auth)):])))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hushphone-metrics"`)
			http.Error(w, "/metrics needs Authorization: Bearer and the token of the metrics-token file", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// readToken reads the metrics-token file: one token of at least
// minTokenLen characters, in a file that group and others cannot read.
func readToken(path string) ([]byte, error) {
	if err := private(path, "metrics-token", ErrMetrics); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the metrics-token file: %w", ErrMetrics, err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < minTokenLen || bytes.ContainsAny(b, " \t\r\n") {
		return nil, fmt.Errorf("%w: the metrics-token file must hold one token of at least %d characters, no spaces", ErrMetrics, minTokenLen)
	}
	return b, nil
}

// private checks that group and others have no access to the file that
// setting names (checkSecretMode, as for every secret file): it holds a
// secret. Its errors wrap sentinel and ErrSecretFile.
func private(path, setting string, sentinel error) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: the %s file: %w", sentinel, setting, err)
	}
	if err := checkSecretMode(setting, path, fi); err != nil {
		return fmt.Errorf("%w: %w", sentinel, err)
	}
	return nil
}

// certFiles are the tls-cert and tls-key files, read again on the first
// handshake after either changes (a renewal replacing them, in place or
// by rename). Each handshake compares both files' size and modification
// time with those of the pair it has; while a file's modification time is
// younger than racyWindow (a second write within the file system's clock
// tick would leave it unchanged) it compares their contents too. A pair
// that does not load (half written, a key that is not the certificate's)
// is logged once, and the last good one serves on.
type certFiles struct {
	cert, key string
	log       *slog.Logger
	what      string // what it serves, for the log: "HTTPS" if empty

	mu      sync.Mutex
	current *tls.Certificate
	stamp   fileStamps // the files' when they were last read
	sum     [32]byte   // the contents of the current pair
	bad     [32]byte   // the contents of the last pair that failed to load
}

// racyWindow is how long after a file's modification time its size and
// time are not trusted to tell it has not changed again since.
const racyWindow = 2 * time.Second

// fileStamps tell the versions of the two files apart.
type fileStamps [2]struct {
	size, mod int64 // bytes, Unix nanoseconds
}

// recent reports whether either file changed within racyWindow of now.
func (s fileStamps) recent(now time.Time) bool {
	return now.Sub(time.Unix(0, s[0].mod)) < racyWindow || now.Sub(time.Unix(0, s[1].mod)) < racyWindow
}

// stamps are the files' as they are now.
func (c *certFiles) stamps() (fileStamps, error) {
	var s fileStamps
	for i, p := range []string{c.cert, c.key} {
		fi, err := os.Stat(p)
		if err != nil {
			return s, fmt.Errorf("%w: tls-cert and tls-key: %w", ErrTLS, err)
		}
		s[i].size, s[i].mod = fi.Size(), fi.ModTime().UnixNano()
	}
	return s, nil
}

// load reads the pair for the first time: New fails if it cannot.
func (c *certFiles) load() error {
	st, err := c.stamps()
	if err != nil {
		return err
	}
	certPEM, keyPEM, sum, err := c.read()
	if err != nil {
		return err
	}
	cert, err := c.parse(certPEM, keyPEM)
	if err != nil {
		return err
	}
	c.current, c.stamp, c.sum = cert, st, sum
	c.log.Info(c.serves()+": certificate loaded", certAttrs(cert)...)
	return nil
}

// read reads the pair's files and sums them.
func (c *certFiles) read() (certPEM, keyPEM []byte, sum [32]byte, err error) {
	if certPEM, err = os.ReadFile(c.cert); err != nil {
		return nil, nil, sum, fmt.Errorf("%w: reading the tls-cert file: %w", ErrTLS, err)
	}
	if keyPEM, err = os.ReadFile(c.key); err != nil {
		return nil, nil, sum, fmt.Errorf("%w: reading the tls-key file: %w", ErrTLS, err)
	}
	h := sha256.New()
	h.Write(certPEM)
	h.Write([]byte{0})
	h.Write(keyPEM)
	h.Sum(sum[:0])
	return certPEM, keyPEM, sum, nil
}

// parse checks the pair: the key kept private, and the certificate's.
func (c *certFiles) parse(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	if err := private(c.key, "tls-key", ErrTLS); err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: tls-cert and tls-key (PEM, the key the certificate's): %w", ErrTLS, err)
	}
	return &cert, nil
}

// get is tls.Config.GetCertificate: the current pair, read again first
// if the files changed. It never fails: files that are gone for a moment
// (a rename) or do not load leave the last good pair serving.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := c.stamps()
	if err != nil || st == c.stamp && !st.recent(time.Now()) {
		return c.current, nil
	}
	certPEM, keyPEM, sum, err := c.read()
	if err != nil {
		return c.current, nil
	}
	c.stamp = st
	if sum == c.sum || sum == c.bad {
		return c.current, nil
	}
	cert, err := c.parse(certPEM, keyPEM)
	if err != nil {
		c.bad = sum
		c.log.Warn(c.serves()+": the changed certificate files do not load; the previous certificate serves on", "err", err)
		return c.current, nil
	}
	c.current, c.sum, c.bad = cert, sum, [32]byte{}
	c.log.Info(c.serves()+": certificate reloaded", certAttrs(cert)...)
	return cert, nil
}

// serves is what the certificate serves, for the log.
func (c *certFiles) serves() string {
	if c.what == "" {
		return "HTTPS"
	}
	return c.what
}

// certAttrs say which certificate it is, for the log.
func certAttrs(c *tls.Certificate) []any {
	if c.Leaf == nil {
		return nil
	}
	return []any{"names", strings.Join(c.Leaf.DNSNames, ","), "serial", c.Leaf.SerialNumber.Text(16),
		"expires", c.Leaf.NotAfter.UTC().Format(time.RFC3339)}
}
