// Package config is the server's settings, in one table (Settings): each
// has a flag, an environment variable and a config-file key, and the table
// writes the --help text, so the three cannot drift apart.
//
// Where a value comes from, later winning:
//
//  1. the default in the table;
//  2. the config file named by --config FILE (or HUSHPHONE_CONFIG);
//  3. the environment variable (HUSHPHONE_HTTP, HUSHPHONE_DATA, ...);
//  4. the flag (--http, --data, ...).
//
// The config file is plain text, one setting a line:
//
//	# hushphone.conf
//	http = 0.0.0.0:8080
//	data = /var/lib/hushphone
//
// Keys are the flag names without dashes; blank lines and lines starting
// with '#' are ignored; a value may be wrapped in double quotes. An unknown
// key or a bad value is an error naming the file and line.
package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Config is the server's settings, resolved.
type Config struct {
	HTTP string // HTTP listen address, host:port
	SIP  string // SIP listen address (UDP and TCP), host:port
	// SIPTLS is where SIP is served over TLS, host:port ("" for none);
	// its certificate and key are SIPTLSCert and SIPTLSKey, else TLSCert
	// and TLSKey (PEM files). SIPTLSCA is the PEM file of the authorities
	// an outbound trunk's certificate must chain to ("" for the system's).
	SIPTLS, SIPTLSCert, SIPTLSKey, SIPTLSCA string
	// TrunkSRTP is the trunk's SRTP policy: off, optional or required.
	TrunkSRTP string
	// SIPIdleTimeout closes SIP connections over TCP and TLS idle this
	// long (unless a call that came over one is up).
	SIPIdleTimeout time.Duration
	Ringback       string         // early media while a call waits: "uk", "us" or "off"
	TrunkAuth      string         // the trunk credentials file ("" for none)
	TrunkOut       string         // the outbound trunk, host:port ("" for no outbound calls)
	TrunkFrom      string         // the number outbound calls present ("" for the default)
	TrunkAllow     []netip.Prefix // source addresses trunks may call from
	// RTPPortMin and RTPPortMax bound the UDP ports calls' media uses
	// (the SIP side's RTP and RTCP, the agents' WebRTC); 0 and 0: any.
	RTPPortMin, RTPPortMax uint16
	MediaIP                netip.Addr // where the SIP side's RTP is bound and advertised (zero: the --sip host)
	PublicIP               netip.Addr // the agents' WebRTC address behind a 1:1 NAT (zero: none)
	// Gateway is the payment gateway: sandbox, stripe or generic;
	// GatewayURL its address (stripe: the API base, empty for Stripe's
	// own; generic: the processor's HTTPS endpoint), GatewaySecret the file
	// holding its secret (stripe: the secret key; generic: the HMAC key).
	Gateway, GatewayURL, GatewaySecret string
	DataDir                            string        // data directory: hushphone.db, recordings/
	SessionTTL                         time.Duration // how long a sign-in lasts
	// MaxCalls is the most calls up at once (0: sized to the machine);
	// InviteRate how many new calls a second one source may start (0: no
	// limit); MaxQueueWait the longest a caller waits for an agent (0: no
	// limit).
	MaxCalls, InviteRate int
	MaxQueueWait         time.Duration
	LogLevel             slog.Level
	// AllowedOrigins are the web origins (scheme://host[:port]) whose
	// pages may call the API (CORS) and open the WebSocket from a
	// browser, besides the server's own.
	AllowedOrigins []string

	// HTTPS, and the metrics listener: TLSCert and TLSKey are the PEM
	// files of the HTTPS certificate ("": none), also SIP over TLS's
	// unless SIPTLSCert and SIPTLSKey are set; ACMEDomains, when set,
	// get one from the ACME CA at ACMECA instead, with ACMEEmail as the
	// account's contact and ACMECARoot the PEM file of CAs to trust for
	// the CA's own HTTPS ("": the system's).
	TLSCert, TLSKey    string
	ACMEDomains        []string
	ACMEEmail          string
	ACMECA, ACMECARoot string
	InsecureHTTP       bool   // plain HTTP allowed on an http address that is not loopback
	Metrics            string // the /metrics listen address, host:port
	MetricsToken       string // the file holding /metrics' bearer token ("": none)

	// SIPAdvertise is the host:port our SIP Contact names ("" for the
	// SIP address, or the media address when that binds every address).
	SIPAdvertise string
	// RTPTimeout ends a call with BYE after that long without the
	// caller's RTP or RTCP (0: never).
	RTPTimeout time.Duration
	// MaskLookahead is the Masker's delay on every caller leg (20 ms to
	// 50 ms in 5 ms steps).
	MaskLookahead time.Duration
	// MFAAgents makes agents need a second factor (TOTP) to sign in, as
	// supervisors and admins always do.
	MFAAgents bool
}

// Setting is one row of the table.
type Setting struct {
	Name    string // the flag (--Name) and the config-file key
	Env     string // the environment variable
	Arg     string // what the value is, in help: ADDR, DIR
	Default string
	Usage   string
	set     func(c *Config, v string) error

	// Switch is a setting that is on or off: the flag alone turns it on
	// (--name, or --name=false), the variable and the file key take
	// true or false.
	Switch bool
}

// ErrBadValue is wrapped by every error about a setting's value or the
// config file.
var ErrBadValue = errors.New("bad setting")

// FileEnv names the config file when --config is not given.
const FileEnv = "HUSHPHONE_CONFIG"

// LetsEncrypt is the acme-ca setting's default: Let's Encrypt's
// production directory.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

func lookup(name string) (Setting, bool) {
	for _, s := range Settings {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// Defaults is the configuration with every setting at its default.
func Defaults() Config {
	var c Config
	for _, s := range Settings {
		if err := s.set(&c, s.Default); err != nil {
			// The defaults are constants that the tests check.
			return Config{}
		}
	}
	return c
}

// Flags are the settings bound to a command's flag set.
type Flags struct {
	fs     *flag.FlagSet
	names  []string
	values map[string]*string
	file   *string
}

// Bind adds the named settings (every one if none are named) and --config
// to fs.
func Bind(fs *flag.FlagSet, names ...string) *Flags {
	if len(names) == 0 {
		for _, s := range Settings {
			names = append(names, s.Name)
		}
	}
	f := &Flags{fs: fs, names: names, values: map[string]*string{}}
	for _, n := range names {
		s, ok := lookup(n)
		switch {
		case !ok:
		case s.Switch:
			v := new(string)
			fs.Var(switchValue{v}, n, "")
			f.values[n] = v
		default:
			f.values[n] = fs.String(n, "", "")
		}
	}
	f.file = fs.String("config", "", "")
	return f
}

// Load resolves the configuration after fs.Parse: defaults, then the
// config file, then the environment (read through getenv), then the flags
// that were given.
func (f *Flags) Load(getenv func(string) string) (Config, error) {
	c := Defaults()
	file := *f.file
	if !f.given("config") {
		file = getenv(FileEnv)
	}
	if file != "" {
		if err := loadFile(&c, file); err != nil {
			return Config{}, err
		}
	}
	for _, n := range f.names {
		s, ok := lookup(n)
		if !ok {
			continue
		}
		if v := getenv(s.Env); v != "" {
			if err := s.set(&c, v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", s.Env, err)
			}
		}
		if f.given(n) {
			if err := s.set(&c, *f.values[n]); err != nil {
				return Config{}, fmt.Errorf("--%s: %w", n, err)
			}
		}
	}
	return c, nil
}

func (f *Flags) given(name string) bool {
	found := false
	f.fs.Visit(func(fl *flag.Flag) {
		if fl.Name == name {
			found = true
		}
	})
	return found
}

func loadFile(c *Config, path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: config file: %w", ErrBadValue, err)
	}
	defer func() { _ = fh.Close() }()
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("%s:%d: %w: want KEY = VALUE, got %q", path, n, ErrBadValue, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		s, ok := lookup(k)
		if !ok {
			return fmt.Errorf("%s:%d: %w: unknown setting %q (known: %s)", path, n, ErrBadValue, k, names())
		}
		if err := s.set(c, v); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", path, n, k, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: config file %s: %w", ErrBadValue, path, err)
	}
	return nil
}

func names() string {
	var b []string
	for _, s := range Settings {
		b = append(b, s.Name)
	}
	return strings.Join(b, ", ")
}

// Help is the flag lines for the named settings (every one if none are
// named) and --config, for a command's --help.
func Help(names ...string) string {
	if len(names) == 0 {
		for _, s := range Settings {
			names = append(names, s.Name)
		}
	}
	var b strings.Builder
	for _, n := range names {
		s, ok := lookup(n)
		if !ok {
			continue
		}
		def := s.Default
		if def == "" {
			def = "none"
		}
		fmt.Fprintf(&b, "  --%-22s %s\n", strings.TrimSpace(s.Name+" "+s.Arg), s.Usage)
		fmt.Fprintf(&b, "  %-24s (env %s; default %s)\n", "", s.Env, def)
	}
	fmt.Fprintf(&b, "  --%-22s %s\n", "config FILE", "read settings from FILE: one 'key = value' a line, keys as the")
	fmt.Fprintf(&b, "  %-24s %s\n", "", "flags without dashes, '#' comments (env "+FileEnv+")")
	return b.String()
}

// Precedence is one line for help texts.
const Precedence = "Each setting comes from its flag, else its environment variable, else the\nconfig file, else its default."

// oneIP reads a setting that is one IP address (not 0.0.0.0 or ::), or
// empty for none.
func oneIP(v, example string) (netip.Addr, error) {
	if v == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil || a.IsUnspecified() {
		return netip.Addr{}, fmt.Errorf("%w: %q is not one IP address (not 0.0.0.0), e.g. %s", ErrBadValue, v, example)
	}
	return a.Unmap(), nil
}

// switchValue is a Switch setting's flag: given alone it is "true".
type switchValue struct{ v *string }

func (s switchValue) String() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

func (s switchValue) Set(v string) error { *s.v = v; return nil }

// IsBoolFlag lets the flag stand alone (flag.boolFlag).
func (switchValue) IsBoolFlag() bool { return true }

// dnsName reports whether v is a host name a public CA can certify:
// dot-separated labels of letters, digits and inner hyphens, at least
// two, the last not all digits (so not an IPv4 address).
func dnsName(v string) bool {
	labels := strings.Split(v, ".")
	if len(v) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}
