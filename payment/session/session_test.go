package session

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/payment/card"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func cardFields() Params {
	return Params{Fields: []Field{CardNumber, ExpiryDate, SecurityCode}}
}

// typ presses each key of keys, a second apart, and returns the last
// progress that changed and its event.
func typ(t *testing.T, s *Session, keys string, now *time.Time) Progress {
	t.Helper()
	var last Progress
	for i := range len(keys) {
		*now = now.Add(time.Second)
		if p, ok := s.Key(keys[i], *now); ok {
			last = p
		}
	}
	return last
}

func fieldOf(p Progress, f Field) FieldProgress {
	for _, fp := range p.Fields {
		if fp.Field == f {
			return fp
		}
	}
	return FieldProgress{}
}

// digitRun finds what must never leave a session: five digits in a row.
var digitRun = regexp.MustCompile(`[0-9]{5,}`)

func shown(t *testing.T, p Progress) string {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if digitRun.Match(b) {
		t.Fatalf("progress shows digits: %s", b)
	}
	return string(b)
}

func TestAPayment(t *testing.T) {
	now := t0
	s, err := New(cardFields(), now)
	if err != nil {
		t.Fatal(err)
	}
	p := s.Progress()
	if p.Current != CardNumber || fieldOf(p, CardNumber).State != Capturing || fieldOf(p, ExpiryDate).State != Waiting {
		t.Fatalf("start: %s", shown(t, p))
	}
	p = typ(t, s, "42424242", &now)
	if p.Brand != "visa" || fieldOf(p, CardNumber).Digits != 8 || p.Current != CardNumber {
		t.Fatalf("typing: %s", shown(t, p))
	}
	// A 16-digit Visa may have 19: # ends it.
	p = typ(t, s, "42424242#", &now)
	if p.Event != Accepted || p.EventField != CardNumber || fieldOf(p, CardNumber).Last4 != "4242" || p.Current != ExpiryDate {
		t.Fatalf("number: %s %s", shown(t, p), p.Event)
	}
	// Four digits of a good expiry and three of a Visa's code move on by
	// themselves.
	p = typ(t, s, "1230", &now)
	if p.Event != Accepted || p.EventField != ExpiryDate || p.Current != SecurityCode {
		t.Fatalf("expiry: %s", shown(t, p))
	}
	p = typ(t, s, "737", &now)
	if p.Event != Accepted || !p.Ready || p.Current != "" {
		t.Fatalf("code: %s", shown(t, p))
	}
	out := shown(t, p)
	for _, secret := range []string{"1230", "737", "424242"} {
		if strings.Contains(out, secret) {
			t.Errorf("progress holds %q: %s", secret, out)
		}
	}
	c, err := s.Card()
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Number) != "4242424242424242" || string(c.Expiry) != "1230" || string(c.SecurityCode) != "737" || c.Brand != card.Visa || c.Last4 != "4242" {
		t.Fatalf("card %+v", c)
	}
	c.Zero()
	if string(c.Number) != strings.Repeat("\x00", 16) {
		t.Errorf("Zero left %q", c.Number)
	}
	s.Close()
	for _, f := range s.fields {
		for _, b := range f.buf {
			if b != 0 {
				t.Fatalf("%s not zeroed on Close", f.name)
			}
		}
	}
	if _, err := s.Card(); !errors.Is(err, ErrClosed) {
		t.Errorf("Card after Close: %v", err)
	}
}

func TestRejectionsAndRetries(t *testing.T) {
	now := t0
	s, err := New(Params{Fields: []Field{CardNumber, ExpiryDate, SecurityCode, PostalCode}, Accepted: []card.Brand{card.Visa, card.Amex}, Attempts: 2}, now)
	if err != nil {
		t.Fatal(err)
	}
	// A wrong Luhn digit: rejected, one attempt gone, the digits gone.
	p := typ(t, s, "4242424242424241#", &now)
	if f := fieldOf(p, CardNumber); p.Event != Rejected || f.State != Invalid || f.Reason != "invalid-card-number" || f.AttemptsLeft != 1 || f.Digits != 0 || f.Last4 != "" {
		t.Fatalf("bad Luhn: %s", shown(t, p))
	}
	// A brand not accepted.
	p = typ(t, s, "5555555555554444#", &now)
	if f := fieldOf(p, CardNumber); f.Reason != "invalid-card-type" || f.AttemptsLeft != 0 {
		t.Fatalf("not accepted: %s", shown(t, p))
	}
	// No attempts left: keys do nothing until the agent resets the field.
	if _, ok := s.Key('3', now); ok {
		t.Fatal("a key after the last attempt changed something")
	}
	if _, err := s.Reset(CardNumber); err != nil {
		t.Fatal(err)
	}
	// Amex: 15 digits are its only length, so it moves on by itself; its
	// code is four digits.
	p = typ(t, s, "378282246310005", &now)
	if p.Event != Accepted || p.Brand != "amex" || fieldOf(p, CardNumber).Last4 != "0005" {
		t.Fatalf("amex: %s", shown(t, p))
	}
	// An expired date, then a star that clears, then a good one.
	p = typ(t, s, "1025", &now)
	if f := fieldOf(p, ExpiryDate); p.Event != Rejected || f.Reason != "invalid-date" {
		t.Fatalf("expired: %s", shown(t, p))
	}
	p = typ(t, s, "12*", &now)
	if f := fieldOf(p, ExpiryDate); f.Digits != 0 || f.State != Capturing {
		t.Fatalf("star: %s", shown(t, p))
	}
	typ(t, s, "0128", &now)
	p = typ(t, s, "123", &now)
	if p.Event != "" || fieldOf(p, SecurityCode).Digits != 3 {
		t.Fatalf("three digits of an Amex code moved on: %s", shown(t, p))
	}
	p = typ(t, s, "4", &now)
	if p.Event != Accepted || p.Current != PostalCode {
		t.Fatalf("amex code: %s", shown(t, p))
	}
	p = typ(t, s, "123#", &now)
	if f := fieldOf(p, PostalCode); f.Reason != "invalid-postal-code" {
		t.Fatalf("short postal code: %s", shown(t, p))
	}
	p = typ(t, s, "90210#", &now)
	if !p.Ready {
		t.Fatalf("not ready: %s", shown(t, p))
	}
	// Asking again for a complete field: it is captured again, whole.
	p, err = s.Ask(ExpiryDate, now)
	if err != nil || p.Ready || p.Current != ExpiryDate || fieldOf(p, ExpiryDate).State != Capturing {
		t.Fatalf("ask again: %v %s", err, shown(t, p))
	}
	if _, err := s.Card(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Card while a field is asked again: %v", err)
	}
	p = typ(t, s, "0229", &now)
	if !p.Ready {
		t.Fatalf("after asking again: %s", shown(t, p))
	}
	if _, err := s.Ask("pin", now); !errors.Is(err, ErrNoField) {
		t.Errorf("ask for a field not in the session: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	now := t0
	s, err := New(Params{Fields: []Field{CardNumber}, FieldTimeout: 10 * time.Second}, now)
	if err != nil {
		t.Fatal(err)
	}
	typ(t, s, "4242", &now)
	if _, ok := s.Tick(now.Add(9 * time.Second)); ok {
		t.Fatal("timed out early")
	}
	p, ok := s.Tick(now.Add(10 * time.Second))
	if f := fieldOf(p, CardNumber); !ok || p.Event != Rejected || f.Reason != ReasonTimeout || f.Digits != 0 || f.AttemptsLeft != DefaultAttempts-1 {
		t.Fatalf("timeout: %v %s", ok, shown(t, p))
	}
}

func TestBankFields(t *testing.T) {
	now := t0
	if _, err := New(Params{Fields: []Field{CardNumber, AccountNumber}}, now); !errors.Is(err, ErrBadMethod) {
		t.Fatalf("card and bank mixed: %v", err)
	}
	for _, bad := range []Params{{}, {Fields: []Field{"pin"}}, {Fields: []Field{CardNumber, CardNumber}}} {
		if _, err := New(bad, now); !errors.Is(err, ErrParams) {
			t.Errorf("New(%+v): %v", bad, err)
		}
	}
	s, err := New(Params{Fields: []Field{RoutingNumber, AccountNumber}}, now)
	if err != nil {
		t.Fatal(err)
	}
	// Nine digits are all a routing number has: checked at once.
	p := typ(t, s, "021000022", &now)
	if f := fieldOf(p, RoutingNumber); p.Event != Rejected || f.Reason != "invalid-routing-number" || f.Digits != 0 {
		t.Fatalf("a routing number failing its checksum: %s", shown(t, p))
	}
	p = typ(t, s, "021000021", &now)
	if p.Event != Accepted || p.Current != AccountNumber {
		t.Fatalf("routing: %s", shown(t, p))
	}
	p = typ(t, s, "000123456789#", &now)
	if !p.Ready {
		t.Fatalf("account: %s", shown(t, p))
	}
	c, err := s.Card()
	if err != nil || string(c.RoutingNumber) != "021000021" || string(c.AccountNumber) != "000123456789" {
		t.Fatalf("bank %+v %v", c, err)
	}
}

// FuzzSession drives a session with arbitrary keys and agent requests:
// it never panics, its progress never shows more than four digits in a
// row, a field never holds more digits than it can, and only a complete
// card number shows its last four.
func FuzzSession(f *testing.F) {
	f.Add([]byte("4242424242424242#1230737"))
	f.Add([]byte("378282246310005\x01\x02*9\x03#"))
	f.Add([]byte("4242424242424241#####*******0000\x04\x05"))
	f.Fuzz(func(t *testing.T, ops []byte) {
		now := t0
		s, err := New(Params{Fields: []Field{CardNumber, ExpiryDate, SecurityCode, PostalCode}, Attempts: 2, FieldTimeout: 5 * time.Second}, now)
		if err != nil {
			t.Fatal(err)
		}
		fields := []Field{CardNumber, ExpiryDate, SecurityCode, PostalCode}
		for i, op := range ops {
			now = now.Add(time.Second)
			var p Progress
			switch op {
			case 1:
				p, _ = s.Ask(fields[i%4], now)
			case 2:
				p, _ = s.Reset(fields[i%4])
			case 3:
				p, _ = s.Tick(now.Add(10 * time.Second))
			case 4:
				if c, err := s.Card(); err == nil {
					c.Zero()
				}
			case 5:
				s.Close()
			default:
				p, _ = s.Key(op, now)
			}
			shown(t, p)
			for _, fp := range s.Progress().Fields {
				if fp.Digits > maxDigits[fp.Field] || fp.Last4 != "" && (fp.Field != CardNumber || fp.State != Complete) {
					t.Fatalf("field %+v", fp)
				}
			}
		}
	})
}
