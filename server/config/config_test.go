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
	want := Config{HTTP: "127.0.0.1:8080", SIP: "127.0.0.1:5060", Ringback: "uk", Gateway: "sandbox", TrunkAllow: loopback, RTPTimeout: time.Minute, DataDir: "data", SessionTTL: 12 * time.Hour, LogLevel: slog.LevelInfo}
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
		{"file", nil, []string{"--config", file},
			Config{HTTP: "127.0.0.1:1111", SIP: "127.0.0.1:5060", Ringback: "uk", Gateway: "sandbox", TrunkAllow: loopback, RTPTimeout: time.Minute, DataDir: "/from file", SessionTTL: time.Hour}},
		{"file from env", map[string]string{FileEnv: file}, nil,
			Config{HTTP: "127.0.0.1:1111", SIP: "127.0.0.1:5060", Ringback: "uk", Gateway: "sandbox", TrunkAllow: loopback, RTPTimeout: time.Minute, DataDir: "/from file", SessionTTL: time.Hour}},
		{"env over file", map[string]string{"HUSHPHONE_HTTP": "127.0.0.1:2222", "HUSHPHONE_LOG_LEVEL": "debug"}, []string{"--config", file},
			Config{HTTP: "127.0.0.1:2222", SIP: "127.0.0.1:5060", Ringback: "uk", Gateway: "sandbox", TrunkAllow: loopback, RTPTimeout: time.Minute, DataDir: "/from file", SessionTTL: time.Hour, LogLevel: slog.LevelDebug}},
		{"flag over env", map[string]string{"HUSHPHONE_HTTP": "127.0.0.1:2222", "HUSHPHONE_DATA": "/env"}, []string{"--http", "[::1]:3333"},
			Config{HTTP: "[::1]:3333", SIP: "127.0.0.1:5060", Ringback: "uk", Gateway: "sandbox", TrunkAllow: loopback, RTPTimeout: time.Minute, DataDir: "/env", SessionTTL: 12 * time.Hour}},
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
		{"bad trunk-out-from", "not a number", nil, []string{"--trunk-out-from", "44+20"}},
		{"sip-advertise without a port", "host:port", nil, []string{"--sip-advertise", "sip.example.net"}},
		{"sip-advertise of every address", "reachable host", nil, []string{"--sip-advertise", "0.0.0.0:5060"}},
		{"bad rtp-timeout", "HUSHPHONE_RTP_TIMEOUT", map[string]string{"HUSHPHONE_RTP_TIMEOUT": "soon"}, nil},
		{"short rtp-timeout", "a second or more", nil, []string{"--rtp-timeout", "10ms"}},
		{"unknown key", "k.conf:2: bad setting: unknown setting \"colour\"", nil, []string{"--config", write("k.conf", "http = 127.0.0.1:1\ncolour = blue\n")}},
		{"no equals", "want KEY = VALUE", nil, []string{"--config", write("e.conf", "http 127.0.0.1:1\n")}},
		{"missing file", "no such file", nil, []string{"--config", filepath.Join(dir, "nope.conf")}},
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
