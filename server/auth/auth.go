// Package auth hashes passwords and makes session tokens.
//
// Passwords are hashed with argon2id (RFC 9106), a memory-hard hash, and
// stored in the PHC string format:
//
//	$argon2id$v=19$m=65536,t=2,p=2$SALT$HASH
//
// (salt and hash in unpadded standard base64). The defaults are m=64 MiB
// (RFC 9106's second recommended memory size), p=2 (this machine's two
// cores), a 16-byte salt, a 32-byte hash, and t=2 passes, chosen by
// measurement: `go test ./server/auth -bench Hash` gives 44 ms per hash
// with t=1 and 76-77 ms with t=2 on this 2-core machine, so a sign-in costs
// 50-100 ms. Verification reads the parameters from the stored string, so
// raising the defaults later keeps old hashes working.
//
// Session tokens are 32 random bytes in unpadded base64url (43
// characters). The server stores only their SHA-256 (TokenHash), so a copy
// of the database signs no one in.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Sentinel errors, wrapped with %w; check them with errors.Is.
var (
	ErrMismatch    = errors.New("wrong password")
	ErrBadHash     = errors.New("not an argon2id hash in PHC format")
	ErrBadPassword = errors.New("unacceptable password")
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are the parameters new hashes use (see the package doc).
var DefaultParams = Params{Memory: 64 * 1024, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}

// MinPasswordLen and MaxPasswordLen bound an acceptable password, in bytes.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 1024
)

// CheckPassword reports whether p is acceptable as a new password.
func CheckPassword(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: it is empty", ErrBadPassword)
	case len(p) < MinPasswordLen:
		return fmt.Errorf("%w: it is %d characters; use at least %d", ErrBadPassword, len(p), MinPasswordLen)
	case len(p) > MaxPasswordLen:
		return fmt.Errorf("%w: it is longer than %d bytes", ErrBadPassword, MaxPasswordLen)
	}
	return nil
}

// Hash hashes password with DefaultParams and a fresh random salt.
func Hash(password string) (string, error) { return DefaultParams.Hash(password) }

// Hash hashes password with p and a fresh random salt, in PHC format.
func (p Params) Hash(password string) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks password against an encoded hash: nil if it matches,
// ErrMismatch if not, ErrBadHash if encoded is not one we can read. The
// comparison takes the same time wherever the first difference is.
func Verify(password, encoded string) error {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return ErrMismatch
	}
	return nil
}

// Limits on what decode accepts, so that a tampered hash cannot make a
// sign-in allocate gigabytes or spin for minutes.
const (
	maxMemory = 1 << 20 // KiB: 1 GiB
	maxTime   = 16
)

// decode reads a PHC hash. Its errors say which part is wrong, never the
// part: a stored hash is the server's secret, and its errors may be logged.
func decode(s string) (Params, []byte, []byte, error) {
	f := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return Params{}, nil, nil, ErrBadHash
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, fmt.Errorf("%w: version", ErrBadHash)
	}
	var p Params
	for kv := range strings.SplitSeq(f[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return Params{}, nil, nil, fmt.Errorf("%w: parameter", ErrBadHash)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return Params{}, nil, nil, fmt.Errorf("%w: parameter", ErrBadHash)
			}
			p.Threads = uint8(n)
		default:
			return Params{}, nil, nil, fmt.Errorf("%w: parameter", ErrBadHash)
		}
	}
	if p.Time < 1 || p.Time > maxTime || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters out of range", ErrBadHash)
	}
	salt, err := base64.RawStdEncoding.DecodeString(f[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, fmt.Errorf("%w: salt", ErrBadHash)
	}
	key, err := base64.RawStdEncoding.DecodeString(f[5])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return Params{}, nil, nil, fmt.Errorf("%w: hash", ErrBadHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// TokenLen is a session token's length in random bytes.
const TokenLen = 32

// NewToken returns a fresh session token and its hash, the only part the
// server keeps.
func NewToken() (token string, hash []byte, err error) {
	b := make([]byte, TokenLen)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("make session token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, TokenHash(token), nil
}

// TokenHash is the SHA-256 of a token, as stored.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
