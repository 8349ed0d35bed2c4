package auth

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// fast keeps the tests quick; the format and logic are the same.
var fast = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashFormatAndVerify(t *testing.T) {
	h, err := Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=2,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h) {
		t.Fatalf("hash %q is not PHC argon2id with the defaults", h)
	}
	if err := Verify("correct horse", h); err != nil {
		t.Errorf("right password: %v", err)
	}
	if err := Verify("correct horsE", h); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong password: %v, want ErrMismatch", err)
	}
	h2, _ := Hash("correct horse")
	if h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyReadsParamsFromTheHash(t *testing.T) {
	h, err := fast.Hash("pässwörd-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if err := Verify("pässwörd-1", h); err != nil {
		t.Error(err)
	}
	if err := Verify("", h); !errors.Is(err, ErrMismatch) {
		t.Errorf("empty password: %v", err)
	}
}

func TestVerifyRejectsBadHashes(t *testing.T) {
	good, _ := fast.Hash("password1")
	f := strings.Split(good, "$")
	for _, tc := range []struct{ name, hash string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuuFq2e1e1e1e1e1e1e1e1e1e1e1e1e1e"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"version", strings.Replace(good, "v=19", "v=16", 1)},
		{"no params", strings.Join([]string{"", f[1], f[2], "", f[4], f[5]}, "$")},
		{"unknown param", strings.Replace(good, "p=1", "x=1", 1)},
		{"zero time", strings.Replace(good, "t=1", "t=0", 1)},
		{"huge memory", strings.Replace(good, "m=64", "m=4000000000", 1)},
		{"huge time", strings.Replace(good, "t=1", "t=99999", 1)},
		{"bad salt", strings.Join([]string{"", f[1], f[2], f[3], "!!", f[5]}, "$")},
		{"short key", strings.Join([]string{"", f[1], f[2], f[3], f[4], "AAAA"}, "$")},
		{"extra field", good + "$x"},
	} {
		if err := Verify("password1", tc.hash); !errors.Is(err, ErrBadHash) {
			t.Errorf("%s: %v, want ErrBadHash", tc.name, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		p  string
		ok bool
	}{
		{"", false}, {"short", false}, {"1234567", false}, {"12345678", true},
		{strings.Repeat("x", MaxPasswordLen), true}, {strings.Repeat("x", MaxPasswordLen+1), false},
	} {
		err := CheckPassword(tc.p)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadPassword)) {
			t.Errorf("CheckPassword(len %d) = %v", len(tc.p), err)
		}
	}
}

func TestTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, h, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 43 || strings.ContainsAny(tok, "+/=") {
			t.Fatalf("token %q is not 32 bytes of unpadded base64url", tok)
		}
		if b, err := base64.RawURLEncoding.DecodeString(tok); err != nil || len(b) != TokenLen {
			t.Fatalf("token %q: %v", tok, err)
		}
		if string(h) != string(TokenHash(tok)) || len(h) != 32 {
			t.Fatal("hash is not the token's SHA-256")
		}
		if seen[tok] {
			t.Fatal("repeated token")
		}
		seen[tok] = true
	}
}

// BenchmarkHash measures one sign-in's hash with the defaults.
func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
