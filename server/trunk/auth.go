package trunk

import (
	"bufio"
	"crypto/hmac"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// ErrAuth is wrapped by errors about trunk credentials.
var ErrAuth = errors.New("trunk: credentials")

// Credential is one SIP digest identity: a trunk's, that its INVITEs must
// prove (Config.Auth), or ours, for an outbound trunk that challenges
// (Config.OutboundAuth). It never prints its password.
type Credential struct {
	Realm    string // for outbound, "*" answers any realm
	User     string
	Password string
}

// String is the identity without its password.
func (c Credential) String() string { return c.User + "@" + c.Realm }

// LogValue keeps the password out of logs.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.String()) }

// ReadCredentials reads a credentials file: one credential a line,
//
//	in  REALM USER PASSWORD   # a trunk calling us must prove this
//	out REALM USER PASSWORD   # we prove this to the outbound trunk (REALM * for any)
//
// with blank lines and '#' comments ignored. Passwords cannot hold spaces.
// Errors name the line, never its password.
func ReadCredentials(path string) (in, out []Credential, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrAuth, err)
	}
	defer func() { _ = fh.Close() }()
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "in" && f[0] != "out" {
			return nil, nil, fmt.Errorf("%w: %s:%d: want 'in|out REALM USER PASSWORD' (%d fields)", ErrAuth, path, n, len(f))
		}
		c := Credential{Realm: f[1], User: f[2], Password: f[3]}
		if f[0] == "in" {
			if c.Realm == "*" {
				return nil, nil, fmt.Errorf("%w: %s:%d: an inbound credential needs a realm", ErrAuth, path, n)
			}
			in = append(in, c)
		} else {
			out = append(out, c)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrAuth, path, err)
	}
	return in, out, nil
}

// nonceTTL is how long a challenge's nonce is good for.
const nonceTTL = 5 * time.Minute

// authenticator checks INVITEs' digest credentials (RFC 3261 22, RFC 8760:
// SHA-256 and MD5, qop=auth). Nonces are stateless: their issue time and
// an HMAC of it under a key made at start.
type authenticator struct {
	creds []Credential
	algs  []string // offered, in this order; only these are accepted
	key   [32]byte
	now   func() time.Time

	mu   sync.Mutex
	used map[string]usedNonce // by nonce and cnonce: answers seen, against replays
}

// usedNonce is the highest nonce count accepted for a nonce and cnonce.
type usedNonce struct {
	nc     int
	issued time.Time
}

// DefaultAuthAlgorithms is the challenges' order by default: MD5 first,
// because many SIP clients (sipp among them) answer the first challenge
// only and know nothing but MD5; SHA-256 clients that follow RFC 8760 then
// answer with MD5 too. Trunks that all do SHA-256 may set
// Config.AuthAlgorithms to {"SHA-256"}.
var DefaultAuthAlgorithms = []string{"MD5", "SHA-256"}

func newAuthenticator(creds []Credential, algs []string) (*authenticator, error) {
	if len(algs) == 0 {
		algs = DefaultAuthAlgorithms
	}
	for _, alg := range algs {
		if alg != "MD5" && alg != "SHA-256" {
			return nil, fmt.Errorf("%w: algorithm %q (MD5 or SHA-256)", ErrAuth, alg)
		}
	}
	a := &authenticator{creds: creds, algs: algs, now: time.Now, used: map[string]usedNonce{}}
	for _, c := range creds {
		if c.Realm == "" || c.User == "" || c.Password == "" || strings.ContainsAny(c.Realm+c.User, "\"\r\n") {
			return nil, fmt.Errorf("%w: %v: realm, user and password must be set, without quotes or line breaks", ErrAuth, c)
		}
	}
	if _, err := cryptorand.Read(a.key[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return a, nil
}

func (a *authenticator) nonce() string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(a.now().Unix()))
	m := hmac.New(sha256.New, a.key[:])
	m.Write(b[:8])
	copy(b[8:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// checkNonce reports whether n is one of ours, when it was issued, and
// whether it has expired.
func (a *authenticator) checkNonce(n string) (ours bool, issued time.Time, stale bool) {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != 24 {
		return false, time.Time{}, false
	}
	m := hmac.New(sha256.New, a.key[:])
	m.Write(b[:8])
	if !hmac.Equal(m.Sum(nil)[:16], b[8:]) {
		return false, time.Time{}, false
	}
	issued = time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	age := a.now().Sub(issued)
	return true, issued, age < 0 || age > nonceTTL
}

// fresh records an answer's nonce count, and reports whether it is higher
// than any accepted before for its nonce and cnonce (RFC 7616 3.4.5): a
// replayed INVITE is not. Records older than the nonces' life are dropped.
func (a *authenticator) fresh(nonce, cnonce string, nc int, issued time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if len(a.used) > 1024 {
		for k, u := range a.used {
			if now.Sub(u.issued) > nonceTTL {
				delete(a.used, k)
			}
		}
	}
	k := nonce + " " + cnonce
	if u, ok := a.used[k]; ok && nc <= u.nc {
		return false
	}
	a.used[k] = usedNonce{nc: nc, issued: issued}
	return true
}

// challenge is the 401 for req: a WWW-Authenticate per realm and
// algorithm, in the configured order.
func (a *authenticator) challenge(req *sip.Request, stale bool) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
	nonce := a.nonce()
	seen := map[string]bool{}
	for _, c := range a.creds {
		if seen[c.Realm] {
			continue
		}
		seen[c.Realm] = true
		for _, alg := range a.algs {
			ch := digest.Challenge{Realm: c.Realm, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", ch.String()))
		}
	}
	return res
}

// verify checks req's Authorization. It returns the user proven, or why
// not: errNoCredentials (none given), errStale (a good answer to an
// expired nonce), or another error.
func (a *authenticator) verify(req *sip.Request) (string, error) {
	h := req.GetHeader("Authorization")
	if h == nil {
		return "", errNoCredentials
	}
	cr, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return "", fmt.Errorf("%w: Authorization does not parse: %w", ErrAuth, err)
	}
	alg := strings.ToUpper(cr.Algorithm)
	if alg == "" {
		alg = "MD5" // RFC 2617's default
	}
	if !slices.Contains(a.algs, alg) {
		return "", fmt.Errorf("%w: algorithm %q", ErrAuth, cr.Algorithm)
	}
	if cr.QOP != "" && cr.QOP != "auth" {
		return "", fmt.Errorf("%w: qop %q", ErrAuth, cr.QOP)
	}
	ours, issued, stale := a.checkNonce(cr.Nonce)
	if !ours {
		return "", fmt.Errorf("%w: not our nonce", ErrAuth)
	}
	for _, c := range a.creds {
		if c.User != cr.Username || c.Realm != cr.Realm {
			continue
		}
		ch := &digest.Challenge{Realm: c.Realm, Nonce: cr.Nonce, Algorithm: alg}
		if cr.QOP != "" {
			ch.QOP = []string{cr.QOP}
		}
		want, err := digest.Digest(ch, digest.Options{
			Method: req.Method.String(), URI: cr.URI, Username: c.User, Password: c.Password,
			Cnonce: cr.Cnonce, Count: cr.Nc,
		})
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrAuth, err)
		}
		if subtle.ConstantTimeCompare([]byte(want.Response), []byte(strings.ToLower(cr.Response))) != 1 {
			return "", fmt.Errorf("%w: wrong password for %s", ErrAuth, c)
		}
		if stale {
			return "", errStale
		}
		if !a.fresh(cr.Nonce, cr.Cnonce, cr.Nc, issued) {
			return "", errReplay
		}
		return c.User, nil
	}
	return "", fmt.Errorf("%w: unknown user %q in realm %q", ErrAuth, cr.Username, cr.Realm)
}

var (
	errNoCredentials = fmt.Errorf("%w: none given", ErrAuth)
	errStale         = fmt.Errorf("%w: nonce expired", ErrAuth)
	errReplay        = fmt.Errorf("%w: nonce count not above the last one (a replay?)", ErrAuth)
)
