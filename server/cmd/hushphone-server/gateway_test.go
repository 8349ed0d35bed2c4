package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hushphone/hushphone/server/config"
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
		{"stripe without a key", "stripe", "", "", "", "needs --gateway-secret FILE"},
		{"a missing key file", "stripe", "", filepath.Join(dir, "none"), "", "reading --gateway-secret"},
		{"generic", "generic", "https://pay.example.net/hushphone", long, "generic", ""},
		{"generic without a URL", "generic", "", long, "", "needs --gateway-url"},
		{"generic over http", "generic", "http://pay.example.net/", long, "", "https"},
		{"generic with a short key", "generic", "https://pay.example.net/", short, "", "at least 32"},
	} {
		g, err := newGateway(config.Config{Gateway: c.gateway, GatewayURL: c.url, GatewaySecret: c.secret})
		switch {
		case c.err == "" && (err != nil || g.Name() != c.want):
			t.Errorf("%s: %v, %v", c.name, g, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.err)
		case err != nil && strings.Contains(err.Error(), "sk_test_123"):
			t.Errorf("%s: the error holds the secret: %v", c.name, err)
		}
	}
}
