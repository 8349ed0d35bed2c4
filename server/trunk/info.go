package trunk

// This file holds key presses sent as SIP INFO (application/dtmf-relay or
// application/dtmf): read from the request, then given to the call's
// Masker like any other key press.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/hushphone/hushphone/media/dtmf"
)

// onInfo takes SIP INFO key presses (application/dtmf-relay or
// application/dtmf) to the call's Masker: only from inside the call's
// dialog (dialogRequest) and, where the trunk demands digest credentials,
// with the call's (authenticated), so that nobody who merely knows a
// Call-ID can type into a payment.
func (t *Trunk) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	c := t.dialogRequest(req, tx)
	if c == nil {
		return
	}
	if _, ok := t.authenticated(c, req, tx); !ok {
		return
	}
	digit, d, err := parseInfo(req)
	if err != nil {
		t.respond(tx, req, sip.StatusBadRequest, "Bad DTMF")
		return
	}
	if err := c.keyPress(digit, d); err != nil {
		t.respond(tx, req, sip.StatusBadRequest, "Bad DTMF")
		return
	}
	t.respond(tx, req, sip.StatusOK, "OK")
}

// infoDuration is how long a SIP INFO key press lasts when its body does
// not say (application/dtmf-relay's customary Duration=160).
const infoDuration = 160 * time.Millisecond

// parseInfo reads a key press from a SIP INFO body: "Signal=5\r\nDuration=160"
// (application/dtmf-relay) or "5" (application/dtmf).
func parseInfo(req *sip.Request) (byte, time.Duration, error) {
	ct := req.ContentType()
	if ct == nil {
		return 0, 0, fmt.Errorf("%w: no content type", ErrInfo)
	}
	body := strings.TrimSpace(string(req.Body()))
	d := infoDuration
	var sig string
	switch strings.ToLower(strings.TrimSpace(ct.Value())) {
	case "application/dtmf-relay":
		for _, line := range strings.Split(body, "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "signal":
				sig = strings.TrimSpace(v)
			case "duration":
				if ms, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && ms > 0 && ms < 10000 {
					d = time.Duration(ms) * time.Millisecond
				}
			}
		}
	case "application/dtmf":
		sig = body
	default:
		return 0, 0, fmt.Errorf("%w: content type %q", ErrInfo, ct.Value())
	}
	if len(sig) != 1 || !dtmf.ValidDigit(strings.ToUpper(sig)[0]) {
		return 0, 0, fmt.Errorf("%w: no single key", ErrInfo)
	}
	return strings.ToUpper(sig)[0], d, nil
}

// keyPress gives a SIP INFO key press to the call's Masker (once it is
// answered).
func (c *Call) keyPress(digit byte, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.masker == nil {
		return ErrAnswered
	}
	if err := c.masker.KeyPress(digit, d); err != nil {
		return fmt.Errorf("trunk: %w", err)
	}
	return nil
}
