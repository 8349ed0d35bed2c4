package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrConfig: a connector's configuration is wrong (NewGeneric). Nothing was
// sent; fix the configuration and start again.
var ErrConfig = errors.New("gateway: bad configuration")

// Generic connector limits.
const (
	genericMinSecret = 32              // bytes of HMAC-SHA256 key, at least
	genericMaxSkew   = 5 * time.Minute // an answer's timestamp, either way
	genericMaxAnswer = 64 << 10        // bytes of answer body read, at most
	genericMaxText   = 200             // bytes of a processor's reason or message kept
	genericMaxID     = 255             // bytes of a reference or token
	genericMaxKeyID  = 128             // bytes of a key id
	genericMaxName   = 40              // bytes of a configured name
	genericSigPrefix = "v1="           // the signature scheme's version
	genericRedacted  = "[redacted]"    // what replaces digit runs in texts
	genericUserAgent = "hushphone-gateway/1"
)

// Generic request and answer headers.
const (
	headerTimestamp = "X-Hushphone-Timestamp"
	headerSignature = "X-Hushphone-Signature"
	headerKeyID     = "X-Hushphone-Key-Id"
)

// GenericConfig configures the generic HTTPS connector.
type GenericConfig struct {
	// Name labels the processor in error texts ("the generic gateway
	// (acme)"); optional, letters, digits, spaces, '-', '_' or '.', at
	// most 40 bytes. Name() is always "generic".
	Name string
	// URL receives every request (POST); it must be https:// with a host,
	// and carry no user name or password.
	URL string
	// Secret is the HMAC-SHA256 key shared with the processor: at least
	// 32 bytes. NewGeneric keeps a copy.
	Secret []byte
	// KeyID, when set, is sent as X-Hushphone-Key-Id so that the processor
	// can tell secrets apart (rotation); at most 128 visible ASCII
	// characters.
	KeyID string
	// Timeout bounds each call when the caller's context has no earlier
	// deadline (DefaultTimeout when 0 or less).
	Timeout time.Duration
	// Client sends the requests (default: a client on http.DefaultTransport).
	// The connector uses a copy that never follows redirects.
	Client *http.Client
}

// Generic is the connector for any processor that implements the small
// signed JSON protocol in the package README ("generic connector"): one
// HTTPS POST per charge or tokenize, its body signed with HMAC-SHA256 over
// a timestamp, and a signed JSON answer. It is safe for concurrent use,
// starts no goroutines and retries nothing itself: the idempotency key lets
// the session submit again.
//
// The card or bank digits are written straight from the Request's slices
// into one byte buffer (never a Go string), which is zeroed when the call
// returns. Limitation: net/http copies the body into the connection's write
// buffer, and the HMAC keeps the body's last partial block in its state;
// the connector cannot zero either. They are overwritten by later requests
// or collected with the connection and the hash.
type Generic struct {
	url     string
	secret  []byte
	keyID   string
	timeout time.Duration
	client  *http.Client
	label   string // "the generic gateway (acme)", for error texts

	now       func() time.Time
	afterWipe func(body []byte) // tests: sees the buffer once zeroed
}

// NewGeneric returns the generic HTTPS connector, or an ErrConfig error
// saying what to fix.
func NewGeneric(c GenericConfig) (*Generic, error) {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return nil, fmt.Errorf("%w: the generic connector needs the processor's URL (https://...)", ErrConfig)
	case err != nil:
		return nil, fmt.Errorf("%w: the generic connector's URL does not parse; give an absolute https:// URL", ErrConfig)
	case u.Scheme != "https":
		return nil, fmt.Errorf("%w: the generic connector's URL must start with https:// (card data never travels over plain HTTP)", ErrConfig)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%w: the generic connector's URL has no host", ErrConfig)
	case u.User != nil:
		return nil, fmt.Errorf("%w: the generic connector's URL must carry no user name or password; the HMAC signature authenticates requests", ErrConfig)
	case u.Fragment != "":
		return nil, fmt.Errorf("%w: the generic connector's URL must have no #fragment", ErrConfig)
	}
	if len(c.Secret) < genericMinSecret {
		return nil, fmt.Errorf("%w: the generic connector's secret is %d bytes; it needs at least %d random bytes (for example `openssl rand -hex 32`), shared with the processor", ErrConfig, len(c.Secret), genericMinSecret)
	}
	if len(c.KeyID) > genericMaxKeyID || !visibleASCII(c.KeyID) {
		return nil, fmt.Errorf("%w: the generic connector's key id must be at most %d visible ASCII characters (no spaces)", ErrConfig, genericMaxKeyID)
	}
	if !isLabel(c.Name) {
		return nil, fmt.Errorf("%w: the generic connector's name must be at most %d letters, digits, spaces, '-', '_' or '.'", ErrConfig, genericMaxName)
	}
	label := "the generic gateway"
	if c.Name != "" {
		label += " (" + c.Name + ")"
	}
	client := &http.Client{}
	if c.Client != nil {
		cp := *c.Client
		client = &cp
	}
	// A redirect would send the card to another URL: never follow one.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Generic{
		url:     u.String(),
		secret:  bytes.Clone(c.Secret),
		keyID:   c.KeyID,
		timeout: timeout,
		client:  client,
		label:   label,
		now:     time.Now,
	}, nil
}

// Name returns "generic".
func (g *Generic) Name() string { return "generic" }

// Charge charges r.Amount (> 0) to the card or bank account in r.
func (g *Generic) Charge(ctx context.Context, r Request) (Result, error) {
	return g.do(ctx, opCharge, r)
}

// Tokenize (r.Amount == 0) asks the processor for a reusable token for the
// card or bank account in r.
func (g *Generic) Tokenize(ctx context.Context, r Request) (Result, error) {
	return g.do(ctx, opTokenize, r)
}

func (g *Generic) do(ctx context.Context, o op, r Request) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, ContextError(ctx, g.label)
	}
	if _, err := check(o, r); err != nil {
		return Result{}, err
	}
	if !printableASCII(r.IdempotencyKey) {
		return Result{}, fmt.Errorf("%w: the idempotency key must be printable ASCII", ErrBadRequest)
	}
	ctx, cancel := Timeout(ctx, g.timeout)
	defer cancel()

	ts := strconv.FormatInt(g.now().Unix(), 10)
	body := newWipeBody(genericBody(o, r, ts))
	defer func() {
		body.wipe()
		if g.afterWipe != nil {
			g.afterWipe(body.b[:cap(body.b)])
		}
	}()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, body)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s: the request could not be made; check the configured URL", ErrUnavailable, g.label)
	}
	// A body of our own type: net/http sets no GetBody, so it never
	// re-reads (or keeps) the body to retry or follow a redirect.
	req.ContentLength = int64(len(body.b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", genericUserAgent)
	if r.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.IdempotencyKey)
	}
	req.Header.Set(headerTimestamp, ts)
	req.Header.Set(headerSignature, genericSign(g.secret, ts, body.b))
	if g.keyID != "" {
		req.Header.Set(headerKeyID, g.keyID)
	}

	resp, err := g.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ContextError(ctx, g.label)
		}
		return Result{}, fmt.Errorf("%w: %s could not be reached (%s); submit again with the same idempotency key, which never charges twice", ErrUnavailable, g.label, genericNetworkProblem(err))
	}
	defer func() { _ = resp.Body.Close() }()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, genericMaxAnswer+1))
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ContextError(ctx, g.label)
		}
		return Result{}, fmt.Errorf("%w: %s: the answer was cut off (%s), so it is not known whether anything was charged; submit again with the same idempotency key, which never charges twice, and take no other payment method until you know", ErrUnavailable, g.label, genericNetworkProblem(err))
	}
	if len(answer) > genericMaxAnswer {
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			answer = nil // decided by its status alone
		} else {
			return Result{}, fmt.Errorf("%w: %s answered with more than 64 KiB, which was discarded, so it is not known whether anything was charged; submit again with the same idempotency key, which never charges twice, or check with the processor", ErrUnavailable, g.label)
		}
	}
	return g.decide(o, r, resp.StatusCode, resp.Header.Get(headerTimestamp), resp.Header.Get(headerSignature), answer, g.now())
}

// genericAnswer is the JSON a processor answers with.
type genericAnswer struct {
	Outcome        string `json:"outcome"`
	Reference      string `json:"reference"`
	Token          string `json:"token"`
	Reason         string `json:"reason"`
	Brand          string `json:"brand"`
	Last4          string `json:"last4"`
	IdempotencyKey string `json:"idempotency_key"`
}

// decide turns the processor's answer into a Result or an error. It is pure
// (the clock is now), so that it can be fuzzed.
func (g *Generic) decide(o op, r Request, status int, ts, sig string, body []byte, now time.Time) (Result, error) {
	switch {
	case status >= 200 && status <= 299:
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return Result{}, fmt.Errorf("%w: %s refused the request (HTTP %d: %s); nothing was charged", ErrBadRequest, g.label, status, genericErrorText(body, r))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Result{}, fmt.Errorf("%w: %s refused the request's signature (HTTP %d); check the connector's secret and key id with the processor; nothing was charged", ErrBadRequest, g.label, status)
	case status == http.StatusRequestTimeout || status == http.StatusConflict || status == http.StatusTooEarly ||
		status == http.StatusTooManyRequests || status >= 500:
		return Result{}, fmt.Errorf("%w: %s answered HTTP %d; submit again in a moment with the same idempotency key, which never charges twice", ErrUnavailable, g.label, status)
	default:
		return Result{}, fmt.Errorf("%w: %s answered HTTP %d, which the connector does not expect (check the configured URL); submit again with the same idempotency key, which never charges twice, or check with the processor", ErrUnavailable, g.label, status)
	}

	if problem := genericVerify(g.secret, ts, sig, body, now); problem != "" {
		return Result{}, fmt.Errorf("%w: %s: response signature invalid (%s); the answer cannot be trusted, so it is not known whether anything was charged: submit again with the same idempotency key, which never charges twice, or check with the processor, and take no other payment method until you know", ErrUnavailable, g.label, problem)
	}
	malformed := func(what string) error {
		return fmt.Errorf("%w: %s sent a malformed answer (%s), so it is not known whether anything was charged: submit again with the same idempotency key, which never charges twice, or check with the processor, and take no other payment method until you know", ErrUnavailable, g.label, what)
	}
	var a genericAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return Result{}, malformed("not a JSON object with string fields")
	}
	if a.IdempotencyKey != "" && a.IdempotencyKey != r.IdempotencyKey {
		return Result{}, malformed("it answers another idempotency key")
	}
	if a.Last4 != "" && (len(a.Last4) != 4 || !digits([]byte(a.Last4))) {
		return Result{}, malformed("last4 is not four digits")
	}
	for _, id := range []string{a.Reference, a.Token} {
		if len(id) > genericMaxID || !visibleASCII(id) {
			return Result{}, malformed("a reference or token that is not at most 255 visible ASCII characters")
		}
		if quotes(id, r.Number) || quotes(id, r.AccountNumber) {
			return Result{}, malformed("a reference or token that quotes the card or account number; it was discarded")
		}
	}

	res := Result{Last4: a.Last4, Brand: genericText(a.Brand, r)}
	if len(r.Number) > 0 {
		if res.Brand == "" {
			res.Brand = Brand(r.Number)
		}
		if res.Last4 == "" {
			res.Last4 = last4(r.Number)
		}
	} else {
		if res.Brand == "" {
			res.Brand = "bank"
		}
		if res.Last4 == "" {
			res.Last4 = last4(r.AccountNumber)
		}
	}
	switch Outcome(a.Outcome) {
	case Approved:
		if o == opTokenize && a.Token == "" {
			return Result{}, malformed("approved a tokenize request without a token")
		}
		res.Outcome, res.Reference = Approved, a.Reference
		if o == opTokenize {
			res.Token = a.Token
			if res.Reference == "" {
				res.Reference = a.Token
			}
		}
	case Declined:
		res.Outcome, res.Reference, res.Reason = Declined, a.Reference, genericText(a.Reason, r)
		if res.Reason == "" {
			res.Reason = "declined"
		}
	default:
		return Result{}, malformed(`outcome is neither "approved" nor "declined"`)
	}
	return res, nil
}

// genericBody writes the request JSON into a buffer that holds the only copy
// of the digits the connector makes.
func genericBody(o op, r Request, ts string) []byte {
	size := 256 + len(ts) + 20 +
		6*(len(r.IdempotencyKey)+len(r.Currency)+len(r.Description)) +
		6*(len(r.Number)+len(r.Expiry)+len(r.SecurityCode)+len(r.PostalCode)+len(r.RoutingNumber)+len(r.AccountNumber))
	w := wipeBuf{b: make([]byte, 0, size)}
	w.str(`{"type":`)
	if o == opCharge {
		w.str(`"charge"`)
	} else {
		w.str(`"tokenize"`)
	}
	w.str(`,"idempotency_key":`)
	w.jsonString(r.IdempotencyKey)
	w.str(`,"amount":`)
	w.str(strconv.FormatInt(r.Amount, 10))
	w.str(`,"currency":`)
	w.jsonString(r.Currency)
	w.str(`,"description":`)
	w.jsonString(r.Description)
	if len(r.Number) > 0 {
		w.str(`,"card":{"number":`)
		w.jsonBytes(r.Number)
		if len(r.Expiry) == 4 {
			w.str(`,"expiry_month":`)
			w.jsonBytes(r.Expiry[:2])
			w.str(`,"expiry_year":"20`)
			w.raw(r.Expiry[2:]) // two digits (checked): no escaping
			w.str(`"`)
		}
		if len(r.SecurityCode) > 0 {
			w.str(`,"security_code":`)
			w.jsonBytes(r.SecurityCode)
		}
		if len(r.PostalCode) > 0 {
			w.str(`,"postal_code":`)
			w.jsonBytes(r.PostalCode)
		}
		w.str(`}`)
	} else {
		w.str(`,"bank":{"routing_number":`)
		w.jsonBytes(r.RoutingNumber)
		w.str(`,"account_number":`)
		w.jsonBytes(r.AccountNumber)
		w.str(`}`)
	}
	w.str(`,"timestamp":`)
	w.str(ts)
	w.str(`}`)
	return w.b
}

// wipeBuf is an append-only buffer that zeroes the old memory whenever it
// has to grow, so that no stale copy of its bytes is left behind.
type wipeBuf struct{ b []byte }

func (w *wipeBuf) grow(n int) {
	if cap(w.b)-len(w.b) >= n {
		return
	}
	nb := make([]byte, len(w.b), 2*cap(w.b)+n)
	copy(nb, w.b)
	clear(w.b[:cap(w.b)])
	w.b = nb
}

func (w *wipeBuf) str(s string) {
	w.grow(len(s))
	w.b = append(w.b, s...)
}

func (w *wipeBuf) raw(p []byte) {
	w.grow(len(p))
	w.b = append(w.b, p...)
}

// jsonString writes s (never card data: a copy is made) as a JSON string.
func (w *wipeBuf) jsonString(s string) { w.jsonBytes([]byte(s)) }

// jsonBytes writes p as a JSON string, straight from the slice (invalid
// UTF-8 becomes U+FFFD).
func (w *wipeBuf) jsonBytes(p []byte) {
	w.grow(2 + 6*len(p))
	w.b = append(w.b, '"')
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			w.b = appendJSONByte(w.b, c)
			i++
			continue
		}
		ru, n := utf8.DecodeRune(p[i:])
		w.b = appendJSONRune(w.b, ru)
		i += n
	}
	w.b = append(w.b, '"')
}

const hexDigits = "0123456789abcdef"

func appendJSONByte(b []byte, c byte) []byte {
	switch {
	case c == '"' || c == '\\':
		return append(b, '\\', c)
	case c == '\n':
		return append(b, '\\', 'n')
	case c == '\r':
		return append(b, '\\', 'r')
	case c == '\t':
		return append(b, '\\', 't')
	case c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f:
		return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
	default:
		return append(b, c)
	}
}

func appendJSONRune(b []byte, ru rune) []byte {
	switch ru {
	case utf8.RuneError:
		return append(b, `\ufffd`...)
	case '\u2028', '\u2029': // valid JSON, but not valid JavaScript
		return append(b, '\\', 'u', '2', '0', '2', hexDigits[ru&0xf])
	default:
		return utf8.AppendRune(b, ru)
	}
}

// wipeBody is the request body: net/http reads it (perhaps from another
// goroutine, perhaps after the answer came back), and wipe zeroes it, after
// which a read fails.
type wipeBody struct {
	mu    sync.Mutex
	b     []byte
	off   int
	wiped bool
}

var errBodyWiped = errors.New("gateway: request body already wiped")

func newWipeBody(b []byte) *wipeBody { return &wipeBody{b: b} }

func (w *wipeBody) Read(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wiped {
		return 0, errBodyWiped
	}
	if w.off >= len(w.b) {
		return 0, io.EOF
	}
	n := copy(p, w.b[w.off:])
	w.off += n
	return n, nil
}

func (w *wipeBody) Close() error { return nil }

func (w *wipeBody) wipe() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.b[:cap(w.b)])
	w.wiped = true
}

// genericSign returns "v1=" and the hex HMAC-SHA256 of ts "." body.
func genericSign(secret []byte, ts string, body []byte) string {
	return genericSigPrefix + hex.EncodeToString(genericMAC(secret, ts, body))
}

func genericMAC(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// genericVerify checks an answer's signature and timestamp; it returns what
// is wrong, or "" when the answer is authentic and fresh.
func genericVerify(secret []byte, ts, sig string, body []byte, now time.Time) string {
	if ts == "" || sig == "" {
		return "no " + headerTimestamp + " or " + headerSignature + " header"
	}
	if len(ts) > 19 {
		return "timestamp not in unix seconds"
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "timestamp not in unix seconds"
	}
	skew := int64(genericMaxSkew / time.Second)
	if n := now.Unix(); t < n-skew || t > n+skew {
		return "timestamp more than 5 minutes off this server's clock"
	}
	h, ok := strings.CutPrefix(sig, genericSigPrefix)
	if !ok {
		return "signature not v1=<hex>"
	}
	got, err := hex.DecodeString(h)
	if err != nil || len(got) != sha256.Size {
		return "signature not v1=<hex>"
	}
	if !hmac.Equal(got, genericMAC(secret, ts, body)) {
		return "signature does not match"
	}
	return ""
}

// genericErrorText returns the "error" of a refused request's JSON answer,
// made safe to show (see genericText), or "no reason given".
func genericErrorText(body []byte, r Request) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "no reason given"
	}
	if t := genericText(e.Error, r); t != "" {
		return t
	}
	return "no reason given"
}

// genericText makes a processor's text safe to show an agent: valid UTF-8,
// no control characters, every run of 7 or more digits (single spaces,
// dashes or dots between them allowed) and any run equal to the request's
// expiry or security code replaced with "[redacted]", at most 200 bytes.
func genericText(s string, r Request) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if !isDigit(c) {
			ru, n := utf8.DecodeRuneInString(s[i:])
			if unicode.IsControl(ru) {
				b.WriteByte(' ')
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		j, count := i, 0
		for j < len(s) {
			if isDigit(s[j]) {
				count++
				j++
				continue
			}
			if (s[j] == ' ' || s[j] == '-' || s[j] == '.') && j+1 < len(s) && isDigit(s[j+1]) {
				j++
				continue
			}
			break
		}
		run := s[i:j]
		if count >= 7 || (count >= 3 && (run == string(r.SecurityCode) || run == string(r.Expiry))) {
			b.WriteString(genericRedacted)
		} else {
			b.WriteString(run)
		}
		i = j
	}
	out := strings.TrimSpace(b.String())
	if len(out) > genericMaxText {
		cut := genericMaxText
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut]
	}
	return out
}

// genericNetworkProblem names a network error in a few words, without its
// text (which holds the URL).
func genericNetworkProblem(err error) string {
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return "its TLS certificate is not trusted"
	}
	return networkProblem(err)
}

// quotes reports whether text contains number (when number is long enough
// to be one).
func quotes(text string, number []byte) bool {
	return len(number) >= 4 && bytes.Contains([]byte(text), number)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func visibleASCII(s string) bool {
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func isLabel(s string) bool {
	if len(s) > genericMaxName {
		return false
	}
	for i := range len(s) {
		c := s[i]
		ok := isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ' ' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}
