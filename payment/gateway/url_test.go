package gateway

import (
	"errors"
	"strings"
	"testing"
)

// TestStripeURLOnlyHTTPS: the card travels in Stripe's requests, so
// WithStripeURL takes https://, or http:// to loopback only (stripe-mock);
// a remote http:// URL is refused without repeating it.
func TestStripeURLOnlyHTTPS(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://api.stripe.com", true},
		{"https://stripe.internal.example:8443/", true},
		{"http://127.0.0.1:12111", true},
		{"http://127.8.9.10:12111", true},
		{"http://[::1]:12111", true},
		{"http://localhost:12111", true},
		{"http://LOCALHOST", true},
		{"http://stripe-mock.example.net:12111", false},
		{"http://203.0.113.9:12111", false},
		{"http://[::ffff:203.0.113.9]:12111", false},
		{"http://localhost.example.net", false},
		{"http://0.0.0.0:12111", false},
		{"ftp://127.0.0.1/", false},
		{"127.0.0.1:12111", false},
		{"https:///v1", false},
		{"https://user:sk_live_secret@api.stripe.com", false},
		{"https://api.stripe.com/%zz", false},
	} {
		s, err := NewStripe("sk_test_x", WithStripeURL(tc.url))
		switch {
		case tc.ok && (err != nil || s == nil):
			t.Errorf("%s: %v, want it accepted", tc.url, err)
		case !tc.ok && (s != nil || !errors.Is(err, ErrConfig)):
			t.Errorf("%s: %v, %v; want ErrConfig", tc.url, s, err)
		case !tc.ok && (strings.Contains(err.Error(), tc.url) || strings.Contains(err.Error(), "sk_live_secret")):
			t.Errorf("%s: the error repeats the URL: %v", tc.url, err)
		}
	}
	if _, err := NewStripe("sk_test_x", WithStripeURL("http://pay.example.net")); err == nil || !strings.Contains(err.Error(), "https://") {
		t.Errorf("remote http: %v, want it to say https://", err)
	}
	if s, err := NewStripe("sk_test_x"); err != nil || s == nil {
		t.Errorf("Stripe's own URL: %v", err)
	}
}
