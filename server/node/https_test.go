package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/hushphone/hushphone/internal/testing/testkit"
	"github.com/hushphone/hushphone/internal/testing/tlstest"
	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/config"
	"github.com/hushphone/hushphone/server/store"
)

// testName is the name the tests' certificates are for; clients ask for
// it (SNI) while dialling 127.0.0.1.
const testName = "hushphone.test"

// noLeaks checks, once the test and its cleanups are done, that no
// goroutine it started is left (register it before startNode).
func noLeaks(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// startNode runs a node on cfg until the test ends; log may be nil.
func startNode(t *testing.T, cfg config.Config, log *slog.Logger) *Node {
	t.Helper()
	n, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(context.Background()) }()
	t.Cleanup(func() {
		_ = n.Close()
		// ErrRun: the test ended before Run began, and Close closed the node.
		if err := <-done; err != nil && !errors.Is(err, ErrRun) {
			t.Errorf("Run: %v", err)
		}
	})
	return n
}

// tlsClient trusts pool alone, asks for testName, and keeps no
// connection (so none outlives the test).
func tlsClient(pool *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: testName, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
	}}
}

// reply is a response, its body read.
type reply struct {
	StatusCode int
	Header     http.Header
	TLS        *tls.ConnectionState
}

// do is one request.
func do(t *testing.T, c *http.Client, method, url, token string) (reply, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{res.StatusCode, res.Header, res.TLS}, string(b)
}

// tokenFile is a file of mode 0600 holding s.
func tokenFile(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// looseFile is a file that group and others can read, holding s.
func looseFile(t *testing.T, s string) string {
	t.Helper()
	p := tokenFile(t, s)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testCertFiles are a certificate for testName and 127.0.0.1 and its key,
// the key's file with mode keyMode.
func testCertFiles(t *testing.T, keyMode os.FileMode) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = tlstest.NewCA(t).Issue(t, testName, "127.0.0.1").Write(t, t.TempDir())
	if err := os.Chmod(keyFile, keyMode); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// mismatched are a certificate and another certificate's key.
func mismatched(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	ca := tlstest.NewCA(t)
	a, b := ca.Issue(t, testName), ca.Issue(t, testName)
	dir := t.TempDir()
	certFile, keyFile = a.Write(t, dir)
	tlstest.WriteFile(t, keyFile, b.KeyPEM)
	return certFile, keyFile
}

// serial is the serial of the certificate a new connection to addr gets.
func serial(t *testing.T, addr string, pool *x509.CertPool) *big.Int {
	t.Helper()
	d := tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: testName, MinVersion: tls.VersionTLS12}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber
}

// TestMetricsListener: /metrics is served on the metrics address, not on
// the API's.
func TestMetricsListener(t *testing.T) {
	noLeaks(t)
	n := startNode(t, testConfig(t), nil)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if res, body := do(t, c, "GET", n.URL()+"/metrics", ""); res.StatusCode != http.StatusNotFound || strings.Contains(body, "hushphone_") {
		t.Errorf("/metrics on the API's address: %d %.80q, want 404", res.StatusCode, body)
	}
	if !strings.HasPrefix(n.MetricsURL(), "http://127.0.0.1:") || hostPort(n.MetricsURL()) == hostPort(n.URL()) {
		t.Fatalf("metrics at %s, the API at %s", n.MetricsURL(), n.URL())
	}
	if res, body := do(t, c, "GET", n.MetricsURL(), ""); res.StatusCode != http.StatusOK || !strings.Contains(body, "hushphone_calls_active") {
		t.Errorf("GET %s: %d %.80q", n.MetricsURL(), res.StatusCode, body)
	}
	if res, _ := do(t, c, "GET", strings.TrimSuffix(n.MetricsURL(), "/metrics")+"/api/v1/me", ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("the API on the metrics address: %d, want 404", res.StatusCode)
	}
}

// TestMetricsToken: with metrics-token, /metrics wants the token as a
// bearer token, and nothing else gets in.
func TestMetricsToken(t *testing.T) {
	noLeaks(t)
	const token = "a-long-enough-metrics-token"
	cfg := testConfig(t)
	cfg.MetricsToken = tokenFile(t, token)
	n := startNode(t, cfg, nil)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer", http.StatusUnauthorized},
		{"Bearer ", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Bearer " + token[:len(token)-1], http.StatusUnauthorized},
		{"Bearer " + token + "x", http.StatusUnauthorized},
		{"Basic " + token, http.StatusUnauthorized},
		{token, http.StatusUnauthorized},
		{"Bearer " + token, http.StatusOK},
		{"bearer " + token, http.StatusOK},
	} {
		res, body := do(t, c, "GET", n.MetricsURL(), tc.auth)
		if res.StatusCode != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, res.StatusCode, tc.want)
		}
		if tc.want == http.StatusUnauthorized && (strings.Contains(body, "hushphone_") || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer")) {
			t.Errorf("Authorization %q: %.80q, WWW-Authenticate %q", tc.auth, body, res.Header.Get("WWW-Authenticate"))
		}
	}
}

// TestHTTPS: with tls-cert and tls-key the API and the WebSocket are
// HTTPS and WSS, every response carries HSTS, and nothing is served in
// clear on the API's address. /metrics on loopback stays plain HTTP.
func TestHTTPS(t *testing.T) {
	noLeaks(t)
	ca := tlstest.NewCA(t)
	cfg := testConfig(t)
	cfg.TLSCert, cfg.TLSKey = ca.Issue(t, testName, "127.0.0.1").Write(t, t.TempDir())
	n := startNode(t, cfg, nil)
	if !strings.HasPrefix(n.URL(), "https://127.0.0.1:") || !strings.HasPrefix(n.MetricsURL(), "http://127.0.0.1:") {
		t.Fatalf("URL %s, metrics %s", n.URL(), n.MetricsURL())
	}
	c := tlsClient(ca.Pool())

	ctx := context.Background()
	hash, err := auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}.Hash("not-used-here")
	if err != nil {
		t.Fatal(err)
	}
	u, err := n.Store().AddUser(ctx, "ann", store.RoleAgent, hash)
	if err != nil {
		t.Fatal(err)
	}
	token, th, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store().CreateSession(ctx, u.ID, th, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, auth string
		want       int
	}{
		{"/healthz", "", http.StatusOK},
		{"/api/v1/me", "Bearer " + token, http.StatusOK},
		{"/api/v1/me", "", http.StatusUnauthorized},
		{"/api/v1/ws", "", http.StatusUnauthorized},
		{"/no-such-path", "", http.StatusNotFound},
		{"/metrics", "", http.StatusNotFound},
	} {
		res, body := do(t, c, "GET", n.URL()+tc.path, tc.auth)
		if res.StatusCode != tc.want {
			t.Errorf("GET %s: %d %.80q, want %d", tc.path, res.StatusCode, body, tc.want)
		}
		if h := res.Header.Get("Strict-Transport-Security"); h != HSTS || res.TLS == nil || res.TLS.Version < tls.VersionTLS12 {
			t.Errorf("GET %s: Strict-Transport-Security %q, TLS %+v", tc.path, h, res.TLS)
		}
	}
	if !strings.Contains(HSTS, "max-age=") {
		t.Errorf("HSTS %q has no max-age", HSTS)
	}

	// The WebSocket over TLS (WSS), signed in; its upgrade carries HSTS.
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ws, res, err := websocket.Dial(dctx, "wss"+strings.TrimPrefix(n.URL(), "https")+"/api/v1/ws", &websocket.DialOptions{ //nolint:bodyclose // coder/websocket closes it
		HTTPClient: c, HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("WSS: %v", err)
	}
	if res.Header.Get("Strict-Transport-Security") != HSTS {
		t.Errorf("the WebSocket's upgrade: Strict-Transport-Security %q", res.Header.Get("Strict-Transport-Security"))
	}
	if _, msg, err := ws.Read(dctx); err != nil || !strings.Contains(string(msg), `"type"`) {
		t.Errorf("WSS: first message %q, %v", msg, err)
	}
	_ = ws.Close(websocket.StatusNormalClosure, "")

	// Plain HTTP to the HTTPS address gets nothing but a 400.
	plain := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if res, body := do(t, plain, "GET", "http://"+hostPort(n.URL())+"/healthz", ""); res.StatusCode != http.StatusBadRequest || strings.Contains(body, "ok") {
		t.Errorf("plain HTTP to the HTTPS address: %d %q", res.StatusCode, body)
	}
}

// TestHTTPSRefusesOldTLS: a client that speaks TLS 1.1 at most is
// refused, even when the process's defaults would take it (GODEBUG
// tls10server=1 lowers Go's server minimum to TLS 1.0: the node's own
// minimum must hold).
func TestHTTPSRefusesOldTLS(t *testing.T) {
	t.Setenv("GODEBUG", "tls10server=1")
	ca := tlstest.NewCA(t)
	cfg := testConfig(t)
	cfg.TLSCert, cfg.TLSKey = ca.Issue(t, testName, "127.0.0.1").Write(t, t.TempDir())
	n := startNode(t, cfg, nil)
	dial := func(maxVersion uint16) error {
		d := tls.Dialer{Config: &tls.Config{RootCAs: ca.Pool(), ServerName: testName,
			MinVersion: tls.VersionTLS10, MaxVersion: maxVersion}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := d.DialContext(ctx, "tcp", hostPort(n.URL()))
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		if err := dial(v); err == nil || !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("a client of %s at most: %v, want refused (protocol version)", tls.VersionName(v), err)
		}
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		if err := dial(v); err != nil {
			t.Errorf("a client of %s at most: %v", tls.VersionName(v), err)
		}
	}
}

// TestCertReload: replacing the certificate files changes the certificate
// the next connection gets, without a restart; files that do not load
// (a certificate whose key has not arrived yet) leave the last good
// certificate serving, and a warning in the log.
func TestCertReload(t *testing.T) {
	noLeaks(t)
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	first, second, third := ca.Issue(t, testName), ca.Issue(t, testName), ca.Issue(t, testName)
	cfg := testConfig(t)
	cfg.TLSCert, cfg.TLSKey = first.Write(t, dir)
	var logs testkit.SyncBuffer
	n := startNode(t, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	addr := hostPort(n.URL())
	if s := serial(t, addr, ca.Pool()); s.Cmp(first.Serial) != 0 {
		t.Fatalf("serial %x, want the first certificate's %x", s, first.Serial)
	}
	second.Write(t, dir)
	if s := serial(t, addr, ca.Pool()); s.Cmp(second.Serial) != 0 {
		t.Fatalf("after replacing the files: serial %x, want the second certificate's %x", s, second.Serial)
	}
	// The certificate first, its key later: in between, the second serves on.
	tlstest.WriteFile(t, cfg.TLSCert, third.CertPEM)
	for range 2 {
		if s := serial(t, addr, ca.Pool()); s.Cmp(second.Serial) != 0 {
			t.Fatalf("with a key that is not the certificate's: serial %x, want the second's %x", s, second.Serial)
		}
	}
	if got := strings.Count(logs.String(), "do not load"); got != 1 {
		t.Errorf("%d warnings about the files that do not load, want 1:\n%s", got, logs.String())
	}
	tlstest.WriteFile(t, cfg.TLSKey, third.KeyPEM)
	if s := serial(t, addr, ca.Pool()); s.Cmp(third.Serial) != 0 {
		t.Fatalf("once the key arrived: serial %x, want the third's %x", s, third.Serial)
	}
	if strings.Count(logs.String(), "certificate reloaded") != 2 {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestInsecureHTTP: plain HTTP on an address that is not loopback starts
// only with insecure-http, and then warns on every start; on loopback it
// needs nothing and warns of nothing.
func TestInsecureHTTP(t *testing.T) {
	noLeaks(t)
	cfg := testConfig(t)
	cfg.HTTP = "0.0.0.0:0"
	_, err := New(cfg, nil)
	if !errors.Is(err, ErrInsecureHTTP) {
		t.Fatalf("New: %v, want ErrInsecureHTTP", err)
	}
	for _, want := range []string{"tls-cert", "tls-key", "acme-domain", "insecure-http", "in clear"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}

	var logs testkit.SyncBuffer
	cfg.InsecureHTTP = true
	n := startNode(t, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	host, port, _ := net.SplitHostPort(hostPort(n.URL()))
	if a := net.ParseIP(host); a == nil || !a.IsUnspecified() || !strings.HasPrefix(n.URL(), "http://") {
		t.Errorf("serving on %s", n.URL())
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if res, _ := do(t, c, "GET", "http://"+net.JoinHostPort("127.0.0.1", port)+"/healthz", ""); res.StatusCode != http.StatusOK {
		t.Errorf("healthz: %d", res.StatusCode)
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN msg=\"INSECURE: plain HTTP") || !strings.Contains(l, "insecure-http") {
		t.Errorf("no warning in the log:\n%s", l)
	}

	var quiet testkit.SyncBuffer
	startNode(t, testConfig(t), slog.New(slog.NewTextHandler(&quiet, nil)))
	if strings.Contains(quiet.String(), "INSECURE") {
		t.Errorf("a warning on loopback:\n%s", quiet.String())
	}
}

// TestMetricsOverHTTPS: /metrics on an address that is not loopback, with
// its token, is served over HTTPS with the node's certificate.
func TestMetricsOverHTTPS(t *testing.T) {
	noLeaks(t)
	const token = "a-long-enough-metrics-token"
	ca := tlstest.NewCA(t)
	cfg := testConfig(t)
	cfg.TLSCert, cfg.TLSKey = ca.Issue(t, testName, "127.0.0.1").Write(t, t.TempDir())
	cfg.Metrics, cfg.MetricsToken = "0.0.0.0:0", tokenFile(t, token)
	n := startNode(t, cfg, nil)
	if !strings.HasPrefix(n.MetricsURL(), "https://") {
		t.Fatalf("metrics at %s", n.MetricsURL())
	}
	_, port, _ := net.SplitHostPort(hostPort(n.MetricsURL()))
	url := "https://127.0.0.1:" + port + "/metrics"
	c := tlsClient(ca.Pool())
	if res, body := do(t, c, "GET", url, "Bearer "+token); res.StatusCode != http.StatusOK || !strings.Contains(body, "hushphone_calls_active") ||
		res.Header.Get("Strict-Transport-Security") != HSTS {
		t.Errorf("GET %s: %d %.80q %v", url, res.StatusCode, body, res.Header)
	}
	if res, _ := do(t, c, "GET", url, ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET %s without the token: %d", url, res.StatusCode)
	}
}
