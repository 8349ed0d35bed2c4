package config

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func TestDefaults(t *testing.T) {
	c := Defaults()
	want := Config{HTTP: "127.0.0.1:8080", SIP: "127.0.0.1:5060", Ringback: "uk", Gateway: "sandbox", TrunkAllow: loopback, DataDir: "data", SessionTTL: 12 * time.Hour, LogLevel: slog.LevelInfo,
		InviteRate: 20, MaxQueueWait: 10 * time.Minute, TrunkSRTP: "optional", SIPIdleTimeout: 2 * time.Minute, RTPTimeout: time.Minute, ACMECA: LetsEncrypt, Metrics: "127.0.0.1:9464",
		MaskLookahead: 20 * time.Millisecond}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Defaults() = %+v, want %+v", c, want)
	}
}

func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f.Load(func(k string) string { return env[k] })
}

// defaultsWith is Defaults (which TestDefaults checks) changed by f.
func defaultsWith(f func(*Config)) Config {
	c := Defaults()
	f(&c)
	return c
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "h.conf")
	if err := os.WriteFile(file, []byte("# test\n\nhttp = 127.0.0.1:1111\ndata = \"/from file\"\nsession-ttl=1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want Config
	}{
		{"defaults", nil, nil, Defaults()},
		{"file", nil, []string{"--config", file}, defaultsWith(func(c *Config) {
			c.HTTP, c.DataDir, c.SessionTTL = "127.0.0.1:1111", "/from file", time.Hour
		})},
		{"file from env", map[string]string{FileEnv: file}, nil, defaultsWith(func(c *Config) {
			c.HTTP, c.DataDir, c.SessionTTL = "127.0.0.1:1111", "/from file", time.Hour
		})},
		{"env over file", map[string]string{"HUSHPHONE_HTTP": "127.0.0.1:2222", "HUSHPHONE_LOG_LEVEL": "debug"}, []string{"--config", file}, defaultsWith(func(c *Config) {
			c.HTTP, c.DataDir, c.SessionTTL, c.LogLevel = "127.0.0.1:2222", "/from file", time.Hour, slog.LevelDebug
		})},
		{"flag over env", map[string]string{"HUSHPHONE_HTTP": "127.0.0.1:2222", "HUSHPHONE_DATA": "/env"}, []string{"--http", "[::1]:3333"}, defaultsWith(func(c *Config) {
			c.HTTP, c.DataDir = "[::1]:3333", "/env"
		})},
	} {
		got, err := load(t, tc.env, tc.args...)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestBadValues(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, want string
		env        map[string]string
		args       []string
	}{
		{"bad addr flag", "--http", nil, []string{"--http", "8080"}},
		{"bad ttl env", "HUSHPHONE_SESSION_TTL", map[string]string{"HUSHPHONE_SESSION_TTL": "forever"}, nil},
		{"short ttl", "a minute or more", nil, []string{"--session-ttl", "1s"}},
		{"bad level", "debug, info", nil, []string{"--log-level", "loud"}},
		{"bad ringback", "uk, us or off", nil, []string{"--ringback", "fr"}},
		{"bad trunk-out", "host:port", nil, []string{"--trunk-out", "sip.example.net"}},
		{"trunk-out sips: with no port", "host:port", nil, []string{"--trunk-out", "sips:sip.example.net"}},
		{"bad sip-tls", "host:port", nil, []string{"--sip-tls", "5061"}},
		{"bad trunk-srtp", "off, optional or required", map[string]string{"HUSHPHONE_TRUNK_SRTP": "on"}, nil},
		{"short sip-idle-timeout", "a second or more", nil, []string{"--sip-idle-timeout", "10ms"}},
		{"bad trunk-out-from", "not a number", nil, []string{"--trunk-out-from", "44+20"}},
		{"bad max-calls", "1 to 100000, or auto", nil, []string{"--max-calls", "0"}},
		{"bad invite-rate", "calls a second", nil, []string{"--invite-rate", "-1"}},
		{"short max-queue-wait", "from 10s to 24h", nil, []string{"--max-queue-wait", "1s"}},
		{"bad max-queue-wait", "HUSHPHONE_MAX_QUEUE_WAIT", map[string]string{"HUSHPHONE_MAX_QUEUE_WAIT": "soon"}, nil},
		{"sip-advertise without a port", "host:port", nil, []string{"--sip-advertise", "sip.example.net"}},
		{"sip-advertise of every address", "reachable host", nil, []string{"--sip-advertise", "0.0.0.0:5060"}},
		{"bad rtp-timeout", "HUSHPHONE_RTP_TIMEOUT", map[string]string{"HUSHPHONE_RTP_TIMEOUT": "soon"}, nil},
		{"short rtp-timeout", "a second or more", nil, []string{"--rtp-timeout", "10ms"}},
		{"short mask-lookahead", "20ms to 50ms in steps of 5ms", nil, []string{"--mask-lookahead", "15ms"}},
		{"long mask-lookahead", "20ms to 50ms in steps of 5ms", nil, []string{"--mask-lookahead", "55ms"}},
		{"odd mask-lookahead", "HUSHPHONE_MASK_LOOKAHEAD", map[string]string{"HUSHPHONE_MASK_LOOKAHEAD": "22ms"}, nil},
		{"unknown key", "k.conf:2: bad setting: unknown setting \"colour\"", nil, []string{"--config", write("k.conf", "http = 127.0.0.1:1\ncolour = blue\n")}},
		{"no equals", "want KEY = VALUE", nil, []string{"--config", write("e.conf", "http 127.0.0.1:1\n")}},
		{"missing file", "no such file", nil, []string{"--config", filepath.Join(dir, "nope.conf")}},
		{"bad metrics", "host:port", nil, []string{"--metrics", "9464"}},
		{"acme-domain address", "not a DNS name", nil, []string{"--acme-domain", "192.0.2.1"}},
		{"acme-domain wildcard", "not a DNS name", nil, []string{"--acme-domain", "*.example.com"}},
		{"acme-domain one label", "not a DNS name", nil, []string{"--acme-domain", "localhost"}},
		{"acme-email", "not an e-mail address", map[string]string{"HUSHPHONE_ACME_EMAIL": "ops"}, nil},
		{"acme-ca http", "not an https:// URL", nil, []string{"--acme-ca", "http://ca.example.com/dir"}},
		{"insecure-http env", "use true or false", map[string]string{"HUSHPHONE_INSECURE_HTTP": "maybe"}, nil},
		{"insecure-http file", "b.conf:1: insecure-http", nil, []string{"--config", write("b.conf", "insecure-http = yes please\n")}},
	} {
		_, err := load(t, tc.env, tc.args...)
		if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want ErrBadValue mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestHelpListsEverySetting(t *testing.T) {
	h := Help()
	for _, s := range Settings {
		for _, want := range []string{"--" + s.Name + " " + s.Arg, s.Env, s.Default} {
			if !strings.Contains(h, want) {
				t.Errorf("help lacks %q:\n%s", want, h)
			}
		}
	}
	if !strings.Contains(h, "--config FILE") {
		t.Error("help lacks --config")
	}
	if d := Help("data"); strings.Contains(d, "--http") || !strings.Contains(d, "--data DIR") {
		t.Errorf("Help(data):\n%s", d)
	}
}

// TestBounds: the limits on calls, as a deployment sets them.
func TestBounds(t *testing.T) {
	got, err := load(t, map[string]string{"HUSHPHONE_MAX_CALLS": "40"}, "--invite-rate", "0", "--max-queue-wait", "0")
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxCalls != 40 || got.InviteRate != 0 || got.MaxQueueWait != 0 {
		t.Errorf("got max-calls %d, invite-rate %d, max-queue-wait %v; want 40, 0, 0", got.MaxCalls, got.InviteRate, got.MaxQueueWait)
	}
	if got, err = load(t, nil, "--max-calls", "auto", "--max-queue-wait", "90s"); err != nil || got.MaxCalls != 0 || got.MaxQueueWait != 90*time.Second {
		t.Errorf("got max-calls %d, max-queue-wait %v, %v; want 0 (auto), 1m30s", got.MaxCalls, got.MaxQueueWait, err)
	}
}

// TestMediaSettings: the trunk allowlist, the media port range and the
// media and public addresses, as a deployment sets them.
func TestMediaSettings(t *testing.T) {
	got, err := load(t, map[string]string{"HUSHPHONE_PUBLIC_IP": "203.0.113.7"},
		"--trunk-allow", "192.0.2.7, 198.51.100.0/24,2001:db8::/32", "--rtp-ports", "10000-20000", "--media-ip", "192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	if !reflect.DeepEqual(got.TrunkAllow, want) || got.RTPPortMin != 10000 || got.RTPPortMax != 20000 ||
		got.MediaIP != netip.MustParseAddr("192.0.2.10") || got.PublicIP != netip.MustParseAddr("203.0.113.7") {
		t.Fatalf("%+v", got)
	}
}

// TestHTTPSSettings: the certificate files, ACME and the metrics
// listener, as a deployment sets them.
func TestHTTPSSettings(t *testing.T) {
	got, err := load(t, map[string]string{"HUSHPHONE_TLS_KEY": "/etc/hushphone/key.pem", "HUSHPHONE_METRICS_TOKEN": "/etc/hushphone/metrics.token"},
		"--tls-cert", "/etc/hushphone/cert.pem", "--acme-domain", " Phone.Example.com., hushphone.example.net",
		"--acme-email", "ops@example.com", "--acme-ca", "https://acme-staging-v02.api.letsencrypt.org/directory",
		"--acme-ca-root", "/etc/hushphone/ca.pem", "--metrics", "[::1]:9100")
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.TLSCert, want.TLSKey = "/etc/hushphone/cert.pem", "/etc/hushphone/key.pem"
	want.ACMEDomains = []string{"phone.example.com", "hushphone.example.net"}
	want.ACMEEmail, want.ACMECA, want.ACMECARoot = "ops@example.com", "https://acme-staging-v02.api.letsencrypt.org/directory", "/etc/hushphone/ca.pem"
	want.Metrics, want.MetricsToken = "[::1]:9100", "/etc/hushphone/metrics.token"
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%+v\nwant %+v", got, want)
	}
}

// TestSwitch: insecure-http is on with the flag alone, and takes true or
// false from the flag, the environment and the file, later winning.
func TestSwitch(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.conf")
	if err := os.WriteFile(file, []byte("insecure-http = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want bool
	}{
		{"default", nil, nil, false},
		{"flag alone", nil, []string{"--insecure-http"}, true},
		{"flag false", map[string]string{"HUSHPHONE_INSECURE_HTTP": "1"}, []string{"--insecure-http=false"}, false},
		{"env", map[string]string{"HUSHPHONE_INSECURE_HTTP": "true"}, nil, true},
		{"file", nil, []string{"--config", file}, true},
		{"env over file", map[string]string{"HUSHPHONE_INSECURE_HTTP": "false"}, []string{"--config", file}, false},
		{"flag alone, then more flags", nil, []string{"--insecure-http", "--http", "0.0.0.0:8080"}, true},
	} {
		got, err := load(t, tc.env, tc.args...)
		if err != nil || got.InsecureHTTP != tc.want {
			t.Errorf("%s: insecure-http %v, %v; want %v", tc.name, got.InsecureHTTP, err, tc.want)
		}
	}
	if h := Help("insecure-http"); !strings.Contains(h, "--insecure-http ") || strings.Contains(h, "--insecure-http  ARG") {
		t.Errorf("Help(insecure-http):\n%s", h)
	}
}

// TestTrunkTLSSettings: SIP over TLS, its certificate, the SRTP policy and
// the idle timeout, as a deployment sets them.
func TestTrunkTLSSettings(t *testing.T) {
	got, err := load(t, map[string]string{"HUSHPHONE_TLS_CERT": "/etc/h/cert.pem", "HUSHPHONE_TLS_KEY": "/etc/h/key.pem"},
		"--sip-tls", "0.0.0.0:5061", "--sip-tls-cert", "/etc/h/sip.pem", "--sip-tls-key", "/etc/h/sip.key", "--sip-tls-ca", "/etc/h/ca.pem",
		"--trunk-out", "sips:sip.example.net:5061", "--trunk-srtp", "required", "--sip-idle-timeout", "30s")
	if err != nil {
		t.Fatal(err)
	}
	if got.SIPTLS != "0.0.0.0:5061" || got.SIPTLSCert != "/etc/h/sip.pem" || got.SIPTLSKey != "/etc/h/sip.key" || got.SIPTLSCA != "/etc/h/ca.pem" ||
		got.TLSCert != "/etc/h/cert.pem" || got.TLSKey != "/etc/h/key.pem" || got.TrunkOut != "sips:sip.example.net:5061" ||
		got.TrunkSRTP != "required" || got.SIPIdleTimeout != 30*time.Second {
		t.Fatalf("%+v", got)
	}
}

// TestSIPSettings: the advertised SIP address and the RTP timeout, from
// their defaults, the environment, the config file and flags.
func TestSIPSettings(t *testing.T) {
	got, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.SIPAdvertise != "" || got.RTPTimeout != 60*time.Second {
		t.Fatalf("defaults: advertise %q, rtp-timeout %v", got.SIPAdvertise, got.RTPTimeout)
	}
	got, err = load(t, map[string]string{"HUSHPHONE_SIP_ADVERTISE": "sip.example.net:5080"}, "--rtp-timeout", "0")
	if err != nil {
		t.Fatal(err)
	}
	if got.SIPAdvertise != "sip.example.net:5080" || got.RTPTimeout != 0 {
		t.Fatalf("advertise %q, rtp-timeout %v", got.SIPAdvertise, got.RTPTimeout)
	}
}

// TestAllowedOrigins: origins are kept as scheme://host[:port] in lower
// case, from a flag or the environment; anything else is refused with the
// value named.
func TestAllowedOrigins(t *testing.T) {
	got, err := load(t, nil, "--allowed-origins", " https://Console.Example.com , http://127.0.0.1:5173,")
	if err != nil || !reflect.DeepEqual(got.AllowedOrigins, []string{"https://console.example.com", "http://127.0.0.1:5173"}) {
		t.Fatalf("%q, %v", got.AllowedOrigins, err)
	}
	if got, err := load(t, map[string]string{"HUSHPHONE_ALLOWED_ORIGINS": "https://a.example"}); err != nil || !reflect.DeepEqual(got.AllowedOrigins, []string{"https://a.example"}) {
		t.Fatalf("from the environment: %q, %v", got.AllowedOrigins, err)
	}
	for _, bad := range []string{"console.example.com", "ftp://a.example", "https://a.example/page", "https://user@a.example", "https://"} {
		if _, err := load(t, nil, "--allowed-origins", bad); !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "not an origin") {
			t.Errorf("%q: %v, want it refused as not an origin", bad, err)
		}
	}
}
