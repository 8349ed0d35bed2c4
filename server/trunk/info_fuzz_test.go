package trunk

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/hushphone/hushphone/media/dtmf"
)

// infoRequest is a SIP INFO with that Content-Type (none when ctype is
// empty) and body, as the trunk's handler receives it.
func infoRequest(ctype string, body []byte) *sip.Request {
	req := sip.NewRequest(sip.INFO, sip.Uri{Host: "x"})
	if ctype != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", ctype))
	}
	req.SetBody(body)
	return req
}

// infoError is every text parseInfo refuses with, once the Content-Type
// it quotes is taken out: fixed, never the body.
var infoError = regexp.MustCompile(`^` + regexp.QuoteMeta(ErrInfo.Error()) + `: (no content type|content type |no single key)$`)

// FuzzParseInfo feeds parseInfo any Content-Type and body a caller (or a
// stranger) can send in a SIP INFO. It never panics; a refusal wraps
// ErrInfo in a fixed text that never repeats the body (only the
// Content-Type's own value is quoted); a key it takes is one
// DTMF key, upper case, lasting between 1 ms and 10 s; and a key taken
// round-trips: written back as application/dtmf-relay and as
// application/dtmf, it reads back the same.
func FuzzParseInfo(f *testing.F) {
	for _, s := range []struct{ ctype, body string }{
		{"application/dtmf-relay", "Signal=5\r\nDuration=250\r\n"},
		{"application/dtmf-relay", "Signal= #\nDuration=100"},
		{"Application/DTMF-Relay ", "signal=*\r\nduration=0\r\n"},
		{"application/dtmf-relay", "Signal=1\r\nSignal=2\r\nDuration=99999999999999999999"},
		{"application/dtmf-relay", "Signal=55\r\n"},
		{"application/dtmf-relay", "Duration=100"},
		{"application/dtmf-relay", "=\n==\nSignal\n"},
		{"application/dtmf", "a"},
		{"application/dtmf", " d \r\n"},
		{"application/dtmf", "4242424242424242"},
		{"text/plain", "5"},
		{"", "5"},
		{"application/sdp", "v=0\r\no=- 4242424242 1 IN IP4 192.0.2.1\r\n"},
	} {
		f.Add(s.ctype, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		digit, d, err := parseInfo(infoRequest(ctype, body))
		if err != nil {
			if !errors.Is(err, ErrInfo) {
				t.Fatalf("%v: not ErrInfo", err)
			}
			if digit != 0 || d != 0 {
				t.Fatalf("a refusal with a key: %q %v", digit, d)
			}
			msg := err.Error()
			if ct := strings.TrimSpace(ctype); ct != "" {
				msg = strings.Replace(msg, strconv.Quote(ct), "", 1)
			}
			if !infoError.MatchString(msg) {
				t.Fatalf("unexpected error text %q", err)
			}
			return
		}
		if !dtmf.ValidDigit(digit) || digit >= 'a' && digit <= 'd' {
			t.Fatalf("key %q is not one upper-case DTMF key", digit)
		}
		if d < time.Millisecond || d >= 10*time.Second {
			t.Fatalf("key %q lasts %v", digit, d)
		}
		relay := "Signal=" + string(digit) + "\r\nDuration=" + strconv.Itoa(int(d/time.Millisecond)) + "\r\n"
		if g, gd, err := parseInfo(infoRequest("application/dtmf-relay", []byte(relay))); err != nil || g != digit || gd != d {
			t.Fatalf("%q read back as %q %v %v, want %q %v", relay, g, gd, err, digit, d)
		}
		if g, gd, err := parseInfo(infoRequest("application/dtmf", []byte{digit})); err != nil || g != digit || gd != infoDuration {
			t.Fatalf("application/dtmf %q read back as %q %v %v", digit, g, gd, err)
		}
	})
}
