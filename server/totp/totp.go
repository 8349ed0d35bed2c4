// Package totp makes and checks one-time codes for a second sign-in
// factor: time-based codes (TOTP, RFC 6238: HMAC-SHA1, 30-second steps,
// 6 digits, which every authenticator app reads from an otpauth:// URI)
// and single-use recovery codes for when the phone is lost.
//
// The secret is 20 random bytes (RFC 4226's recommended 160 bits), shown
// to the user once, base32 without padding. A code is accepted for its
// step and the steps either side (a clock a little off, a code typed as
// the step turns); Check returns the step it matched so the caller can
// refuse it a second time (replay), as RFC 6238 section 5.2 asks.
//
// Recovery codes are 16 random base32 characters (80 bits), shown once as
// four groups of four; only their SHA-256 is kept. With 80 bits a fast
// hash is enough: a copy of the stored hashes cannot be searched.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // G505: RFC 6238's default, what authenticator apps use; HMAC-SHA1 is not broken
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strings"
	"time"
)

// Sentinel errors, wrapped with %w; check them with errors.Is.
var (
	ErrBadCode   = errors.New("wrong code")
	ErrBadSecret = errors.New("not a base32 TOTP secret")
)

// The code's parameters (RFC 6238's defaults).
const (
	Digits    = 6
	Period    = 30 * time.Second
	Skew      = 1  // steps accepted either side of the current one
	SecretLen = 20 // bytes
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a new random secret, base32.
func NewSecret() (string, error) {
	b := make([]byte, SecretLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a TOTP secret: %w", err)
	}
	return b32.EncodeToString(b), nil
}

// URI is the otpauth:// URI an authenticator app reads (as a QR code) to
// add the account: issuer and account name it, secret is base32.
func URI(issuer, account, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", fmt.Sprint(Digits))
	v.Set("period", fmt.Sprint(int(Period/time.Second)))
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	return "otpauth://totp/" + label + "?" + v.Encode()
}

// Step is the time step t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Code is the code for secret (base32) at step.
func Code(secret string, step int64) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	return hotp(key, step, Digits, sha1.New), nil
}

// Check reports which step code is valid for at now (within Skew steps),
// trying the newest first, or ErrBadCode. Only steps after notBefore
// count: pass the last step accepted for this secret so that no code is
// taken twice.
func Check(secret, code string, now time.Time, notBefore int64) (int64, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return 0, err
	}
	code = strings.ReplaceAll(code, " ", "")
	if len(code) != Digits {
		return 0, ErrBadCode
	}
	cur := Step(now)
	for step := cur + Skew; step >= cur-Skew; step-- {
		if step <= notBefore {
			break
		}
		if subtle.ConstantTimeCompare([]byte(codeSHA1(key, step)), []byte(code)) == 1 {
			return step, nil
		}
	}
	return 0, ErrBadCode
}

func decodeSecret(secret string) ([]byte, error) {
	key, err := b32.DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

func codeSHA1(key []byte, step int64) string { return hotp(key, step, Digits, sha1.New) }

// hotp is RFC 4226's HOTP: the HMAC of the counter, dynamically
// truncated, in digits decimal digits.
func hotp(key []byte, counter int64, digits int, h func() hash.Hash) string {
	m := hmac.New(h, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// RecoveryCount is how many recovery codes NewRecoveryCodes makes.
const RecoveryCount = 10

// NewRecoveryCodes returns RecoveryCount new recovery codes, to show the
// user once, and their hashes, to keep.
func NewRecoveryCodes() (codes []string, hashes [][]byte, err error) {
	for range RecoveryCount {
		b := make([]byte, 10) // 80 bits: 16 base32 characters
		if _, err := rand.Read(b); err != nil {
			return nil, nil, fmt.Errorf("make recovery codes: %w", err)
		}
		s := strings.ToLower(b32.EncodeToString(b))
		c := s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
		codes = append(codes, c)
		hashes = append(hashes, RecoveryHash(c))
	}
	return codes, hashes, nil
}

// RecoveryHash is what is kept of a recovery code: the SHA-256 of it
// without separators or case, so it may be typed either way.
func RecoveryHash(code string) []byte {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	h := sha256.Sum256([]byte(c))
	return h[:]
}

// IsRecoveryCode reports whether s looks like a recovery code rather than
// a time-based code (more than Digits characters, not all digits).
func IsRecoveryCode(s string) bool {
	c := strings.NewReplacer("-", "", " ", "").Replace(s)
	return len(c) == 16
}
