package totp

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"errors"
	"hash"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRFC6238Vectors: RFC 6238 appendix B, every row (8 digits; the seed
// is the ASCII string, repeated to the hash's size).
func TestRFC6238Vectors(t *testing.T) {
	seeds := map[string][]byte{
		"SHA1":   []byte("12345678901234567890"),
		"SHA256": []byte("12345678901234567890123456789012"),
		"SHA512": []byte("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	hashes := map[string]func() hash.Hash{"SHA1": sha1.New, "SHA256": sha256.New, "SHA512": sha512.New}
	for _, tc := range []struct {
		unix int64
		algo string
		want string
	}{
		{59, "SHA1", "94287082"}, {59, "SHA256", "46119246"}, {59, "SHA512", "90693936"},
		{1111111109, "SHA1", "07081804"}, {1111111109, "SHA256", "68084774"}, {1111111109, "SHA512", "25091201"},
		{1111111111, "SHA1", "14050471"}, {1111111111, "SHA256", "67062674"}, {1111111111, "SHA512", "99943326"},
		{1234567890, "SHA1", "89005924"}, {1234567890, "SHA256", "91819424"}, {1234567890, "SHA512", "93441116"},
		{2000000000, "SHA1", "69279037"}, {2000000000, "SHA256", "90698825"}, {2000000000, "SHA512", "38618901"},
		{20000000000, "SHA1", "65353130"}, {20000000000, "SHA256", "77737706"}, {20000000000, "SHA512", "47863826"},
	} {
		got := hotp(seeds[tc.algo], Step(time.Unix(tc.unix, 0)), 8, hashes[tc.algo])
		if got != tc.want {
			t.Errorf("%d %s: %s, want %s", tc.unix, tc.algo, got, tc.want)
		}
	}
	// The 6-digit SHA-1 code apps show is the same number's last 6 digits.
	secret := base32.StdEncoding.EncodeToString(seeds["SHA1"])
	if c, err := Code(secret, Step(time.Unix(59, 0))); err != nil || c != "287082" {
		t.Errorf("6 digits at 59: %q %v", c, err)
	}
}

// TestCheck: the current step and one either side are accepted, newest
// first; older ones, wrong codes and steps at or before notBefore (codes
// already used) are not.
func TestCheck(t *testing.T) {
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	cur := Step(now)
	code := func(step int64) string {
		c, err := Code(secret, step)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name      string
		code      string
		notBefore int64
		step      int64
		err       error
	}{
		{"current", code(cur), 0, cur, nil},
		{"previous", code(cur - 1), 0, cur - 1, nil},
		{"next", code(cur + 1), 0, cur + 1, nil},
		{"spaced", code(cur)[:3] + " " + code(cur)[3:], 0, cur, nil},
		{"two steps old", code(cur - 2), 0, 0, ErrBadCode},
		{"used already", code(cur), cur, 0, ErrBadCode},
		{"older than the last used", code(cur - 1), cur, 0, ErrBadCode},
		{"after the last used", code(cur + 1), cur, cur + 1, nil},
		{"too short", "12345", 0, 0, ErrBadCode},
		{"letters", "abcdef", 0, 0, ErrBadCode},
	} {
		step, err := Check(secret, tc.code, now, tc.notBefore)
		if !errors.Is(err, tc.err) || step != tc.step {
			t.Errorf("%s: step %d err %v, want %d %v", tc.name, step, err, tc.step, tc.err)
		}
	}
	if _, err := Check("not base32!", "123456", now, 0); !errors.Is(err, ErrBadSecret) {
		t.Errorf("bad secret: %v", err)
	}
}

func TestURI(t *testing.T) {
	u, err := url.Parse(URI("Hushphone", "ann@example", "JBSWY3DPEHPK3PXP"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Hushphone:ann@example" ||
		q.Get("secret") != "JBSWY3DPEHPK3PXP" || q.Get("issuer") != "Hushphone" || q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Errorf("URI %s", u)
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, hashes, err := NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != RecoveryCount || len(hashes) != RecoveryCount {
		t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 19 || strings.Count(c, "-") != 3 || seen[c] || !IsRecoveryCode(c) {
			t.Errorf("code %q", c)
		}
		seen[c] = true
		// Typed in capitals, without dashes: the same code.
		if string(RecoveryHash(strings.ToUpper(strings.ReplaceAll(c, "-", "")))) != string(hashes[i]) {
			t.Errorf("code %q: its hash depends on how it is typed", c)
		}
	}
	if IsRecoveryCode("123456") {
		t.Error("a 6-digit code taken for a recovery code")
	}
}
