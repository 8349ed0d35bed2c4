package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testcert"
	"github.com/hushphone/hushphone/server/config"
	"github.com/hushphone/hushphone/server/trunk"
)

func TestNewGateway(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, "long")
	if err := os.WriteFile(long, []byte("0123456789abcdef0123456789abcdef-hmac-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("sk_test_123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name                 string
		gateway, url, secret string
		want, err            string
	}{
		{"default", "sandbox", "", "", "sandbox", ""},
		{"stripe", "stripe", "", short, "stripe", ""},
		{"stripe-mock", "stripe", "http://127.0.0.1:12111", short, "stripe", ""},
		{"stripe without a key", "stripe", "", "", "", "needs gateway-secret, the file"},
		{"a missing key file", "stripe", "", filepath.Join(dir, "none"), "", "reading the gateway-secret file"},
		{"generic", "generic", "https://pay.example.net/hushphone", long, "generic", ""},
		{"generic without a URL", "generic", "", long, "", "needs gateway-url"},
		{"generic over http", "generic", "http://pay.example.net/", long, "", "https"},
		{"generic with a short key", "generic", "https://pay.example.net/", short, "", "at least 32"},
	} {
		g, err := newGateway(config.Config{Gateway: c.gateway, GatewayURL: c.url, GatewaySecret: c.secret})
		switch {
		case c.err == "" && (err != nil || g.Name() != c.want):
			t.Errorf("%s: %v, %v", c.name, g, err)
		case c.err != "" && (!errors.Is(err, ErrGateway) || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.err)
		case err != nil && strings.Contains(err.Error(), "sk_test_123"):
			t.Errorf("%s: the error holds the secret: %v", c.name, err)
		}
	}
}

func TestMediaIP(t *testing.T) {
	for _, c := range []struct {
		sip, media string
		want       string
		err        error
	}{
		{"127.0.0.1:5060", "", "127.0.0.1", nil},
		{"[::ffff:127.0.0.2]:5060", "", "127.0.0.2", nil},
		{"0.0.0.0:5060", "192.0.2.7", "192.0.2.7", nil},
		{"0.0.0.0:5060", "", "", ErrMediaIP},
		{"[::]:5060", "", "", ErrMediaIP},
		{"sip.example.net:5060", "", "", ErrMediaIP},
		{"nonsense", "", "", ErrMediaIP},
	} {
		cfg := config.Config{SIP: c.sip}
		if c.media != "" {
			cfg.MediaIP = netip.MustParseAddr(c.media)
		}
		got, err := mediaIP(cfg)
		switch {
		case c.err != nil && !errors.Is(err, c.err):
			t.Errorf("sip %q media-ip %q: %v, want %v", c.sip, c.media, err, c.err)
		case c.err == nil && (err != nil || got.String() != c.want):
			t.Errorf("sip %q media-ip %q: %v %v, want %s", c.sip, c.media, got, err, c.want)
		case err != nil && strings.Contains(err.Error(), "--"):
			t.Errorf("sip %q: the error names a flag, not the setting: %v", c.sip, err)
		}
	}
}

// TestSIPTLSSettings: sip-tls takes sip-tls-cert and sip-tls-key, else
// tls-cert and tls-key, and refuses to start without a certificate; the
// SRTP policy and the idle timeout reach the trunk.
func TestSIPTLSSettings(t *testing.T) {
	cert := testcert.New(t)
	base := config.Defaults()
	base.SIPTLS = "127.0.0.1:5061"
	for _, c := range []struct {
		name     string
		set      func(*config.Config)
		err      string
		hasRoots bool
	}{
		{"sip-tls-cert", func(c *config.Config) { c.SIPTLSCert, c.SIPTLSKey = cert.CertFile, cert.KeyFile }, "", false},
		{"tls-cert", func(c *config.Config) { c.TLSCert, c.TLSKey = cert.CertFile, cert.KeyFile }, "", false},
		{"sip-tls-ca", func(c *config.Config) { c.TLSCert, c.TLSKey, c.SIPTLSCA = cert.CertFile, cert.KeyFile, cert.CAFile }, "", true},
		{"no certificate", func(*config.Config) {}, "needs a certificate", false},
		{"no key", func(c *config.Config) { c.SIPTLSCert = cert.CertFile }, "one is missing", false},
		{"a key for another certificate", func(c *config.Config) { c.SIPTLSCert, c.SIPTLSKey = cert.CertFile, testcert.New(t).KeyFile }, "sip-tls-cert", false},
		{"a CA file that is not PEM", func(c *config.Config) { c.TLSCert, c.TLSKey, c.SIPTLSCA = cert.CertFile, cert.KeyFile, cert.KeyFile }, "no PEM certificate", false},
	} {
		cfg := base
		c.set(&cfg)
		tc, err := trunkConfig(cfg, slog.New(slog.DiscardHandler))
		switch {
		case c.err != "" && (!errors.Is(err, ErrSIPTLS) || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.err)
		case c.err == "" && (err != nil || tc.TLSAddr != cfg.SIPTLS || tc.TLSConfig == nil || tc.TLSConfig.GetCertificate == nil || (tc.TLSRoots != nil) != c.hasRoots):
			t.Errorf("%s: %+v, %v", c.name, tc, err)
		}
	}
	cfg := base
	cfg.TLSCert, cfg.TLSKey, cfg.TrunkSRTP, cfg.SIPIdleTimeout = cert.CertFile, cert.KeyFile, "required", 30*time.Second
	tc, err := trunkConfig(cfg, slog.New(slog.DiscardHandler))
	if err != nil || tc.SRTP != trunk.SRTPRequired || tc.IdleTimeout != 30*time.Second {
		t.Fatalf("%+v, %v", tc, err)
	}
}

// TestTrunkSIPSettings: the advertised SIP address, the RTP timeout and the
// Masker's look-ahead reach the trunk.
func TestTrunkSIPSettings(t *testing.T) {
	tc, err := trunkConfig(config.Config{SIP: "0.0.0.0:5060", MediaIP: netip.MustParseAddr("192.0.2.7"),
		SIPAdvertise: "sip.example.net:5080", RTPTimeout: 45 * time.Second, Ringback: "off", MaskLookahead: 40 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if tc.Advertise != "sip.example.net:5080" || tc.RTPTimeout != 45*time.Second || tc.MaskLookahead != 40*time.Millisecond {
		t.Fatalf("advertise %q, rtp timeout %v, mask look-ahead %v", tc.Advertise, tc.RTPTimeout, tc.MaskLookahead)
	}
}

// TestGatewayOnlyOverHTTPS: a gateway-url that would carry the card in
// clear to another host is refused, for stripe as for generic; loopback
// (stripe-mock) is allowed. The error names the setting, never the secret.
func TestGatewayOnlyOverHTTPS(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(key, []byte("sk_test_0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		gateway, url string
		ok           bool
	}{
		{"stripe", "http://203.0.113.5:12111", false},
		{"stripe", "http://stripe-mock.example.net", false},
		{"generic", "http://203.0.113.5/pay", false},
		{"stripe", "https://203.0.113.5", true},
		{"stripe", "http://127.0.0.1:12111", true},
		{"stripe", "http://localhost:12111", true},
	} {
		g, err := newGateway(config.Config{Gateway: c.gateway, GatewayURL: c.url, GatewaySecret: key})
		switch {
		case c.ok && err != nil:
			t.Errorf("%s %s: %v", c.gateway, c.url, err)
		case !c.ok && (g != nil || !errors.Is(err, ErrGateway) || !strings.Contains(err.Error(), "https://")):
			t.Errorf("%s %s: %v, %v; want ErrGateway saying https://", c.gateway, c.url, g, err)
		case !c.ok && c.gateway == "stripe" && !strings.Contains(err.Error(), "gateway-url"):
			t.Errorf("%s %s: %v does not name the setting", c.gateway, c.url, err)
		case err != nil && strings.Contains(err.Error(), "0123456789abcdef"):
			t.Errorf("%s %s: the error holds the secret: %v", c.gateway, c.url, err)
		}
	}
}

// TestSecretFilesOwnerOnly: a gateway-secret or trunk-auth file its group
// or others can read is refused, with the chmod that fixes it and never
// the secret; 0600 and 0400 are taken.
func TestSecretFilesOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	const secret = "sk_test_s3cretvalue-0123456789abcdef0123456789"
	const creds = "in hushphone carrier tr0nkpassw0rd\n"
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o620, 0o602, 0o600, 0o400} {
		ok := mode&0o077 == 0
		key := filepath.Join(dir, fmt.Sprintf("key-%04o", mode))
		auth := filepath.Join(dir, fmt.Sprintf("trunks-%04o", mode))
		for p, body := range map[string]string{key: secret, auth: creds} {
			if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil { // not narrowed by the umask
				t.Fatal(err)
			}
		}
		check := func(what, path string, err error) {
			t.Helper()
			switch {
			case ok && err != nil:
				t.Errorf("%s %04o: %v", what, mode, err)
			case !ok && (!errors.Is(err, ErrSecretFile) || !strings.Contains(err.Error(), "chmod 600 "+path) || !strings.Contains(err.Error(), what)):
				t.Errorf("%s %04o: %v; want ErrSecretFile naming %s and saying chmod 600 %s", what, mode, err, what, path)
			case err != nil && (strings.Contains(err.Error(), "s3cretvalue") || strings.Contains(err.Error(), "tr0nkpassw0rd")):
				t.Errorf("%s %04o: the error holds the secret: %v", what, mode, err)
			}
		}
		_, err := newGateway(config.Config{Gateway: "stripe", GatewaySecret: key})
		check("gateway-secret", key, err)
		_, err = newGateway(config.Config{Gateway: "generic", GatewayURL: "https://pay.example.net/", GatewaySecret: key})
		check("gateway-secret", key, err)
		_, err = trunkConfig(config.Config{SIP: "127.0.0.1:5060", Ringback: "uk", TrunkAuth: auth}, slog.New(slog.DiscardHandler))
		check("trunk-auth", auth, err)
	}
}
