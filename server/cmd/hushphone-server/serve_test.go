package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/testcert"
	"github.com/hushphone/hushphone/internal/testing/testkit"
	"github.com/hushphone/hushphone/server/totp"
)

// startServe runs `serve` in-process until the test cancels it, and
// returns its base URL and a function that stops it and returns the exit
// code and stderr.
func startServe(t *testing.T, args ...string) (url string, stop func() (int, string)) {
	t.Helper()
	url, _, stop = startServeMetrics(t, args...)
	return url, stop
}

// startServeMetrics is startServe, also returning the metrics' URL. Unless
// args name them, the SIP and metrics addresses are free loopback ones.
func startServeMetrics(t *testing.T, args ...string) (url, metrics string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut testkit.SyncBuffer
	done := make(chan int, 1)
	if !slices.Contains(args, "--sip") {
		args = append([]string{"--sip", sipptest.FreeAddr(t)}, args...)
	}
	if !slices.Contains(args, "--metrics") {
		args = append([]string{"--metrics", "127.0.0.1:0"}, args...)
	}
	args = append([]string{"serve"}, args...)
	go func() { done <- run(ctx, args, strings.NewReader(""), &out, &errOut) }()
	re := regexp.MustCompile(`serving on (https?://\S+) \(metrics on (https?://[^;\s]+);`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			url, metrics = m[1], m[2]
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve exited %d: %s", code, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start: %s", errOut.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopped := false
	stop = func() (int, string) {
		if !stopped {
			stopped = true
			cancel()
		}
		select {
		case code := <-done:
			return code, errOut.String()
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop")
			return -1, ""
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return url, metrics, stop
}

func httpDo(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// The whole slice: add a user with the command, serve, sign in over HTTP,
// stop cleanly.
func TestServe(t *testing.T) {
	before := runtime.NumGoroutine()
	data := filepath.Join(t.TempDir(), "data")
	if code, _, errOut := runWith(t, "ann-password\n", "user", "add", "--name", "ann", "--role", "agent", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	url, stop := startServe(t, "--http", "127.0.0.1:0", "--data", data, "--session-ttl", "5m")
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("serving on %q", url)
	}
	if code, body := httpDo(t, "GET", url+"/healthz", "", ""); code != 200 || body["status"] != "ok" {
		t.Fatalf("healthz: %d %v", code, body)
	}
	code, body := httpDo(t, "POST", url+"/api/v1/session", "", `{"name":"ann","password":"ann-password"}`)
	tok, _ := body["token"].(string)
	if code != 200 || tok == "" || body["role"] != "agent" {
		t.Fatalf("sign in: %d %v", code, body)
	}
	exp, _ := time.Parse(time.RFC3339, body["expires"].(string))
	if d := time.Until(exp); d < 4*time.Minute || d > 5*time.Minute {
		t.Errorf("--session-ttl 5m: expires in %v", d)
	}
	if code, body := httpDo(t, "POST", url+"/api/v1/session", "", `{"name":"ann","password":"wrong-password"}`); code != 401 || body["error"] != "wrong name or password" {
		t.Errorf("wrong password: %d %v", code, body)
	}

	// A user added while the server runs can sign in at once; one removed
	// is signed out at once.
	if code, _, errOut := runWith(t, "bob-password\n", "user", "add", "--name", "bob", "--role", "supervisor", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user add while serving: %d %s", code, errOut)
	}
	// A supervisor needs a second factor: enrolled while the server runs,
	// its code signs bob in.
	if code, body := httpDo(t, "POST", url+"/api/v1/session", "", `{"name":"bob","password":"bob-password"}`); code != 403 || body["code"] != "mfa_enroll" {
		t.Errorf("new supervisor without a second factor: %d %v", code, body)
	}
	code, out, errOut := runWith(t, "", "user", "mfa", "enroll", "--name", "bob", "--data", data)
	if code != 0 {
		t.Fatalf("user mfa enroll while serving: %d %s", code, errOut)
	}
	secret := regexp.MustCompile(`secret=([A-Z2-7]+)`).FindStringSubmatch(out)
	if secret == nil {
		t.Fatalf("enroll printed no secret:\n%s", out)
	}
	if code, body := httpDo(t, "POST", url+"/api/v1/session", "", `{"name":"bob","password":"bob-password"}`); code != 401 || body["code"] != "mfa_required" {
		t.Errorf("new supervisor without the code: %d %v", code, body)
	}
	otp, _ := totp.Code(secret[1], totp.Step(time.Now()))
	if code, body := httpDo(t, "POST", url+"/api/v1/session", "", `{"name":"bob","password":"bob-password","code":"`+otp+`"}`); code != 200 {
		t.Errorf("new user while serving: %d %v", code, body)
	}
	if code, _, errOut := runWith(t, "", "user", "remove", "--name", "ann", "--data", data); code != 0 {
		t.Fatalf("user remove while serving: %d %s", code, errOut)
	}
	if code, _ := httpDo(t, "GET", url+"/api/v1/me", tok, ""); code != 401 {
		t.Errorf("removed user's token while serving: %d", code)
	}

	code, errOut = stop()
	if code != 0 {
		t.Fatalf("serve exit %d: %s", code, errOut)
	}
	for _, want := range []string{"msg=serving", "msg=\"shutting down\"", "msg=stopped", "signed in"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("log lacks %q:\n%s", want, errOut)
		}
	}
	for _, secret := range []string{"ann-password", "bob-password", "wrong-password", tok, secret[1]} {
		if strings.Contains(errOut, secret) {
			t.Errorf("the log holds a secret %q", secret)
		}
	}

	// serve leaves no goroutine behind.
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before serve, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeSettings(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "hushphone.conf")
	data := filepath.Join(dir, "from-file")
	if err := os.WriteFile(conf, []byte("# test\nhttp = 127.0.0.1:0\ndata = "+data+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url, stop := startServe(t, "--config", conf)
	if code, _ := httpDo(t, "GET", url+"/healthz", "", ""); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	if code, errOut := stop(); code != 0 || !strings.Contains(errOut, "no users yet") {
		t.Errorf("exit %d, log:\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "hushphone.db")); err != nil {
		t.Errorf("config file's data directory not used: %v", err)
	}

	// The environment beats the file.
	envData := filepath.Join(dir, "from-env")
	t.Setenv("HUSHPHONE_DATA", envData)
	_, stop = startServe(t, "--config", conf)
	if code, _ := stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(envData, "hushphone.db")); err != nil {
		t.Errorf("HUSHPHONE_DATA not used: %v", err)
	}
}

func TestServeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"bad address", []string{"--http", "8080"}, 2, `--http: bad setting: "8080" is not host:port`},
		{"extra argument", []string{"now"}, 2, `unexpected argument "now"`},
		{"unknown flag", []string{"--nope", "x"}, 2, "flag provided but not defined: -nope"},
		{"bad SIP address", []string{"--sip", "x"}, 2, `--sip: bad setting: "x" is not host:port`},
		{"missing config", []string{"--config", "/nonexistent/h.conf"}, 2, "no such file"},
		{"bad ringback", []string{"--ringback", "fr"}, 2, "uk, us or off"},
		{"bad trunk-out", []string{"--trunk-out", "nowhere"}, 2, "--trunk-out: bad setting"},
		{"missing trunk-auth", []string{"--data", t.TempDir(), "--http", "127.0.0.1:0", "--sip", sipptest.FreeAddr(t), "--trunk-auth", "/nonexistent/trunks"}, 1, "trunk: credentials"},
		{"pprof off loopback", []string{"--pprof", "0.0.0.0:6060"}, 2, "--pprof must be a loopback address"},
		{"bad trunk-allow", []string{"--trunk-allow", "10.0.0.0/33"}, 2, "is not an address or a CIDR range"},
		{"empty trunk-allow", []string{"--trunk-allow", " , "}, 2, "name at least one"},
		{"bad rtp-ports", []string{"--rtp-ports", "20000-10000"}, 2, "MIN-MAX of at least 4 ports above 1023"},
		{"tiny rtp-ports", []string{"--rtp-ports", "10000-10001"}, 2, "MIN-MAX of at least 4 ports"},
		{"bad media-ip", []string{"--media-ip", "0.0.0.0"}, 2, "not one IP address"},
		{"bad public-ip", []string{"--public-ip", "nat"}, 2, "not one IP address"},
		{"sip-tls without a certificate", []string{"--data", t.TempDir(), "--http", "127.0.0.1:0", "--sip", sipptest.FreeAddr(t), "--sip-tls", sipptest.FreeAddr(t)}, 1, "sip-tls needs a certificate"},
		{"bad trunk-srtp", []string{"--trunk-srtp", "on"}, 2, "off, optional or required"},
		{"sip everywhere without media-ip", []string{"--data", t.TempDir(), "--http", "127.0.0.1:0", "--sip", "0.0.0.0:" + sipptest.FreePort(t)}, 1, "set media-ip"},
	} {
		code, _, errOut := runWith(t, "", append([]string{"serve"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.err) {
			t.Errorf("%s: %d %q; want %d with %q", tc.name, code, errOut, tc.code, tc.err)
		}
	}
	// The address in use.
	url, _ := startServe(t, "--http", "127.0.0.1:0", "--data", t.TempDir())
	code, _, errOut := runWith(t, "", "serve", "--http", strings.TrimPrefix(url, "http://"), "--data", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "choose another http address") {
		t.Errorf("address in use: %d %q", code, errOut)
	}
	if code, out, _ := runWith(t, "", "serve", "--help"); code != 0 || !strings.Contains(out, "HUSHPHONE_HTTP") {
		t.Errorf("serve --help: %d", code)
	}
}

// TestServeTrunkAuth: with --trunk-auth, serve answers an INVITE without
// credentials with 401 and a digest challenge.
func TestServeTrunkAuth(t *testing.T) {
	sip := sipptest.FreeAddr(t)
	creds := filepath.Join(t.TempDir(), "trunks")
	if err := os.WriteFile(creds, []byte("in hushphone carrier s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stop := startServe(t, "--http", "127.0.0.1:0", "--data", t.TempDir(), "--sip", sip, "--trunk-auth", creds, "--ringback", "uk")
	defer stop()
	c, err := net.Dial("udp", sip)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l := c.LocalAddr().String()
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"
	msg := "INVITE sip:hushphone@" + sip + " SIP/2.0\r\nVia: SIP/2.0/UDP " + l + ";branch=z9hG4bK-auth\r\n" +
		"From: <sip:0123@" + l + ">;tag=1\r\nTo: <sip:hushphone@" + sip + ">\r\nCall-ID: auth@" + l + "\r\n" +
		"CSeq: 1 INVITE\r\nContact: <sip:0123@" + l + ">\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n" +
		"Content-Length: " + strconv.Itoa(len(offer)) + "\r\n\r\n" + offer
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		var code int
		if _, err := fmt.Sscanf(string(buf[:n]), "SIP/2.0 %d", &code); err != nil || code < 200 {
			continue
		}
		if r := string(buf[:n]); code != 401 || !strings.Contains(r, `WWW-Authenticate: Digest realm="hushphone"`) || strings.Contains(r, "s3cret") {
			t.Fatalf("INVITE without credentials:\n%s", r)
		}
		return
	}
}

// TestServeSIPAndMetrics: serve answers SIP OPTIONS, puts a call in the
// queue (it rings, with early media from a port in --rtp-ports), and
// counts it on /metrics, which is on the metrics address and not the
// API's; /api/v1/ws wants a token.
func TestServeSIPAndMetrics(t *testing.T) {
	sip := sipptest.FreeAddr(t)
	lo := 20000 + (os.Getpid()%1500)*8 // 8 ports below the ephemeral range, apart for parallel runs
	url, metrics, stop := startServeMetrics(t, "--http", "127.0.0.1:0", "--data", t.TempDir(), "--sip", sip,
		"--rtp-ports", fmt.Sprintf("%d-%d", lo, lo+7), "--trunk-allow", "127.0.0.1, ::1")
	defer stop()
	var media int // the port in the 183's SDP
	sipDo := func(method, extra, body string) int {
		t.Helper()
		c, err := net.Dial("udp", sip)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		l := c.LocalAddr().String()
		msg := method + " sip:hushphone@" + sip + " SIP/2.0\r\nVia: SIP/2.0/UDP " + l + ";branch=z9hG4bK-" + method + "\r\n" +
			"From: <sip:0123@" + l + ">;tag=1\r\nTo: <sip:hushphone@" + sip + ">\r\nCall-ID: " + method + "@" + l + "\r\n" +
			"CSeq: 1 " + method + "\r\nContact: <sip:0123@" + l + ">\r\nMax-Forwards: 70\r\n" + extra +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		for {
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("%s: no response: %v", method, err)
			}
			var code int
			if _, err := fmt.Sscanf(string(buf[:n]), "SIP/2.0 %d", &code); err == nil && code >= 180 {
				for _, line := range strings.Split(string(buf[:n]), "\r\n") {
					if strings.HasPrefix(line, "m=audio ") {
						media, _ = strconv.Atoi(strings.Fields(line)[1])
					}
				}
				return code
			}
		}
	}
	if code := sipDo("OPTIONS", "", ""); code != 200 {
		t.Fatalf("OPTIONS: %d", code)
	}
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"
	if code := sipDo("INVITE", "Content-Type: application/sdp\r\n", offer); code != 183 {
		t.Fatalf("INVITE: %d, want 183: the call waits in the queue, hearing the default (uk) ringback", code)
	}
	if media < lo || media > lo+6 || media%2 != 0 {
		t.Fatalf("the call's RTP port %d, want an even one in %d-%d", media, lo, lo+7)
	}
	if res, err := http.Get(url + "/metrics"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics on the API's address: %v %v, want 404", res, err)
	} else {
		_ = res.Body.Close()
	}
	res, err := http.Get(metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ws, err := http.Get(url + "/api/v1/ws"); err != nil || ws.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/api/v1/ws with no token: %v %v", ws, err)
	} else {
		_ = ws.Body.Close()
	}
	if body := string(b); res.StatusCode != 200 || !strings.Contains(body, "hushphone_calls_offered_total 1") || !strings.Contains(body, "hushphone_added_latency_seconds") {
		t.Fatalf("/metrics: %d\n%s", res.StatusCode, body)
	}
}

// TestServePprof: --pprof serves Go's profiles on its own loopback
// address, not on the API's.
func TestServePprof(t *testing.T) {
	addr := sipptest.FreeAddr(t)
	url, stop := startServe(t, "--http", "127.0.0.1:0", "--data", t.TempDir(), "--pprof", addr)
	defer stop()
	get := func(u string) int {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode
	}
	if code := get("http://" + addr + "/debug/pprof/goroutine?debug=1"); code != http.StatusOK {
		t.Errorf("pprof: %d", code)
	}
	if code := get(url + "/debug/pprof/goroutine?debug=1"); code == http.StatusOK {
		t.Error("the API's address serves the profiles too")
	}
}

// TestServeSIPOverTLS: with --sip-tls and its certificate, serve answers
// SIP over TLS (TLS 1.2 or newer, the certificate our CA signed), and
// closes a connection from outside --trunk-allow at once.
func TestServeSIPOverTLS(t *testing.T) {
	cert := testcert.New(t)
	tlsAddr := sipptest.FreeAddr(t)
	_, stop := startServe(t, "--http", "127.0.0.1:0", "--data", t.TempDir(), "--sip-tls", tlsAddr,
		"--sip-tls-cert", cert.CertFile, "--sip-tls-key", cert.KeyFile, "--trunk-srtp", "required", "--trunk-allow", "127.0.0.1")
	defer stop()
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 3 * time.Second}, Config: cert.ClientConfig()}
	conn, err := d.DialContext(context.Background(), "tcp", tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	l := conn.LocalAddr().String()
	msg := "OPTIONS sips:hushphone@" + tlsAddr + " SIP/2.0\r\nVia: SIP/2.0/TLS " + l + ";branch=z9hG4bK-tls\r\n" +
		"From: <sips:0123@" + l + ">;tag=1\r\nTo: <sips:hushphone@" + tlsAddr + ">\r\nCall-ID: tls@" + l + "\r\n" +
		"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TLS: %q %v", line, err)
	}
	stranger := tls.Dialer{NetDialer: &net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}, Config: cert.ClientConfig()}
	if c, err := stranger.DialContext(context.Background(), "tcp", tlsAddr); err == nil {
		_ = c.Close()
		t.Fatal("a TLS handshake from 127.0.0.2, outside --trunk-allow, succeeded")
	}
}
