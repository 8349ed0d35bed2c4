// Package testkit holds small helpers the tests share. It uses the
// standard library only, so any package's tests may import it.
package testkit

import (
	"bytes"
	"regexp"
	"sync"
	"time"
)

// Clock is a settable clock: Now is what the code under test calls, Add
// moves it on.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// SyncBuffer is a bytes.Buffer that one goroutine may write while another
// reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Timestamp matches a date and time as logs, databases and JSON messages
// write them (RFC 3339, or SQLite's with a space). The searches for short
// card data (an expiry, a security code) leave them out: they are the
// clock's, not data, and a fraction of a second of .737 is no security
// code.
var Timestamp = regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?`)

// decimal is a number with a fraction, such as a level of 0.0931.
var decimal = regexp.MustCompile(`[0-9]*\.[0-9]+`)

// token is a run of letters, digits, '_' and '-'; one of 12 or more with a
// letter in it is an identifier (a payment's pay_3f737a..., a gateway's
// reference, a call's ID), random hex that holds any three digits now and
// then.
var token = regexp.MustCompile(`[0-9A-Za-z_-]{12,}`)

// FindShort reports where short card data s (an expiry, a security code)
// stands in b as a number of its own: not inside a longer run of digits,
// a timestamp, a decimal number or an identifier. It returns nil when it
// is not there.
func FindShort(b []byte, s string) []int {
	b = Timestamp.ReplaceAll(b, []byte("T"))
	b = decimal.ReplaceAllFunc(b, func(m []byte) []byte { return bytes.Repeat([]byte("D"), len(m)) })
	b = token.ReplaceAllFunc(b, func(m []byte) []byte {
		if bytes.IndexFunc(m, func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }) < 0 {
			return m // digits alone: a card number, not an identifier
		}
		return bytes.Repeat([]byte("I"), len(m))
	})
	return regexp.MustCompile(`(^|[^0-9])` + regexp.QuoteMeta(s) + `([^0-9]|$)`).FindIndex(b)
}
