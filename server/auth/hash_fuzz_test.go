package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"

	"golang.org/x/crypto/argon2"
)

// encode writes a hash's parts back in PHC format, as Hash does.
func encode(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// hashError is every text decode refuses a hash with: which part is
// wrong, never the part itself.
var hashError = regexp.MustCompile(`^not an argon2id hash in PHC format(: (version|parameter|parameters out of range|salt|hash))?$`)

// FuzzStoredHash feeds decode (what Verify reads a stored hash with) any
// text, and Verify any password. It never panics; a refusal wraps
// ErrBadHash and says which part is wrong without repeating it (a stored
// hash's text, a salt or key, a password);
// what it accepts is within the limits that keep a sign-in from taking
// gigabytes or minutes, and round-trips: encoded again it decodes to the
// same parameters, salt and key. Where the parameters are cheap, Verify
// agrees with argon2 itself: the password the key was made from matches,
// another does not.
func FuzzStoredHash(f *testing.F) {
	good, err := fast.Hash("correct horse")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		good,
		"$argon2id$v=19$m=65536,t=2,p=2$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$t=1,m=64,p=1,m=64$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=99,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$4242424242$4242424242424242424242",
		"$argon2id$v=19$m=64,t=1,p=1$$",
		"",
		"$$$$$",
	} {
		f.Add(s, "correct horse")
	}
	f.Fuzz(func(t *testing.T, encoded, password string) {
		p, salt, key, err := decode(encoded)
		if err != nil {
			if !errors.Is(err, ErrBadHash) {
				t.Fatalf("%v: not ErrBadHash", err)
			}
			if !hashError.MatchString(err.Error()) {
				t.Fatalf("unexpected error text %q", err)
			}
			return
		}
		if p.Time < 1 || p.Time > maxTime || p.Threads < 1 || p.Memory > maxMemory || p.Memory < 8*uint32(p.Threads) {
			t.Fatalf("accepted parameters %+v beyond the limits", p)
		}
		if len(salt) < 8 || len(key) < 16 || len(key) > 128 || int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Fatalf("accepted a salt of %d and a key of %d bytes (%+v)", len(salt), len(key), p)
		}
		p2, salt2, key2, err := decode(encode(p, salt, key))
		if err != nil || p2 != p || !slices.Equal(salt, salt2) || !slices.Equal(key, key2) {
			t.Fatalf("encoded again: %+v %v", p2, err)
		}
		if p.Memory > 256 || p.Time > 2 || p.Threads > 4 {
			return // Verify would take too long for a fuzz run
		}
		made := encode(p, salt, argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen))
		if err := Verify(password, made); err != nil {
			t.Fatalf("the password the key was made from: %v", err)
		}
		if err := Verify(password+"x", made); !errors.Is(err, ErrMismatch) {
			t.Fatalf("another password: %v, want ErrMismatch", err)
		}
	})
}
