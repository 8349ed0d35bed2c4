package trunk

// This file holds what ends a call whose peer has gone quiet, so that no
// agent is left on a dead call: the RTP timeout (no RTP or RTCP from the
// caller for Config.RTPTimeout while it says it sends) and RFC 4028's
// session timer (where the caller asks for one with Session-Expires: we
// refresh it when we are the refresher, with UPDATE where the caller
// allows it, else re-INVITE; we end the call with BYE when the caller is
// the refresher and no refresh comes, or ours fails with 408 or 481). The
// unacknowledged 200 OK, the third way, is in Answer. Each call's watch
// goroutine runs the first two.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/hushphone/hushphone/server/sdpneg"
)

// Why the trunk cut a call, for Metrics.CallCut.
const (
	cutNoAck   = "no_ack"
	cutRTP     = "rtp_timeout"
	cutSession = "session_expired"
)

// ErrNoAck is returned by Answer when the caller never acknowledged the
// 200 OK (RFC 3261 13.3.1.4): the call has been ended with BYE.
var ErrNoAck = errors.New("trunk: the caller never acknowledged the answer: call ended")

// byeWait is how long a BYE we send on our own (a call cut) waits for its
// answer.
const byeWait = 4 * time.Second

// defaultMinSE is the shortest session interval we take (RFC 4028's
// floor): an INVITE asking for less is answered 422 with it.
const defaultMinSE = 90 * time.Second

// minSE is the shortest session interval the trunk takes.
func (t *Trunk) minSE() time.Duration {
	if t.cfg.minSE > 0 {
		return t.cfg.minSE
	}
	return defaultMinSE
}

// sessionAsk is what a request or response says of the session timer.
type sessionAsk struct {
	interval  time.Duration // Session-Expires; 0 if none
	refresher string        // "uac", "uas" or "" (not said)
	minSE     time.Duration // Min-SE; 0 if none
	supported bool          // Supported or Require names timer
	update    bool          // Allow names UPDATE: refreshes may be UPDATEs
}

// tokens are the comma-separated values of every header named one of
// names (long and compact forms), lower-cased.
func tokens(m sip.Message, names ...string) []string {
	var out []string
	for _, n := range names {
		for _, h := range m.GetHeaders(n) {
			for _, v := range strings.Split(h.Value(), ",") {
				if v = strings.ToLower(strings.TrimSpace(v)); v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// seconds reads delta-seconds (RFC 4028: up to 2^32-1; anything past a
// day is taken as a day).
func seconds(v string) (time.Duration, bool) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return time.Duration(min(n, 86400)) * time.Second, true
}

// readSessionAsk reads the session timer's headers from m. A value that
// does not parse is taken as absent.
func readSessionAsk(m sip.Message) sessionAsk {
	var a sessionAsk
	for _, v := range tokens(m, "Session-Expires", "x") {
		parts := strings.Split(v, ";")
		if d, ok := seconds(parts[0]); ok {
			a.interval = d
			for _, p := range parts[1:] {
				if k, val, _ := strings.Cut(strings.TrimSpace(p), "="); k == "refresher" && (val == "uac" || val == "uas") {
					a.refresher = val
				}
			}
		}
	}
	for _, v := range tokens(m, "Min-SE") {
		if d, ok := seconds(strings.Split(v, ";")[0]); ok {
			a.minSE = d
		}
	}
	for _, v := range tokens(m, "Supported", "k", "Require") {
		a.supported = a.supported || v == "timer"
	}
	for _, v := range tokens(m, "Allow") {
		a.update = a.update || v == "update"
	}
	return a
}

// session is a call's session timer as agreed; a zero interval: none.
type session struct {
	interval  time.Duration
	weRefresh bool // we are the refresher (refresher=uas)
	require   bool // the caller supports timer: our 2xx says Require: timer
	update    bool // refresh with UPDATE (the caller allows it), else re-INVITE
}

// agreeSession is the session timer a call's INVITE, re-INVITE or UPDATE
// asks for (RFC 4028 section 9): the interval asked, refreshed by whom
// the caller said, else by the caller when it supports the timer (by us
// when it does not: a proxy asked). A request without Session-Expires
// from a caller that supports the timer keeps the current interval
// (current), refreshed by the caller; one from a caller that does not
// turns it off.
func agreeSession(a sessionAsk, current time.Duration) session {
	interval := a.interval
	if interval == 0 {
		if !a.supported || current == 0 {
			return session{}
		}
		interval = current
	}
	interval = max(interval, a.minSE)
	refresher := a.refresher
	if refresher == "" || !a.supported {
		refresher = "uas"
		if a.supported {
			refresher = "uac"
		}
	}
	return session{interval: interval, weRefresh: refresher == "uas", require: a.supported, update: a.update}
}

// headers are the session timer's headers for our 2xx (none without a
// timer).
func (s session) headers() []sip.Header {
	if s.interval == 0 {
		return nil
	}
	refresher := "uac"
	if s.weRefresh {
		refresher = "uas"
	}
	hs := []sip.Header{sip.NewHeader("Session-Expires", strconv.Itoa(int(s.interval/time.Second))+";refresher="+refresher)}
	if s.require {
		hs = append(hs, sip.NewHeader("Require", "timer"))
	}
	return hs
}

// setSession records a session timer just agreed (a 2xx sent or received
// with it), and wakes the call's watch to re-arm.
func (c *Call) setSession(s session) {
	c.tmu.Lock()
	c.session, c.refreshed, c.refreshFailed = s, time.Now(), false
	c.tmu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// sessionDeadline is when the call's session timer next needs us: when to
// refresh (half the interval, when we refresh and the last refresh went
// well), else when the session expires: the interval less a third of it or
// 32 s, whichever is less (RFC 4028 section 10). ok is false without a
// session timer.
func (c *Call) sessionDeadline() (at time.Time, refresh, ok bool) {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	s := c.session
	if s.interval == 0 {
		return time.Time{}, false, false
	}
	if s.weRefresh && !c.refreshFailed {
		return c.refreshed.Add(s.interval / 2), true, true
	}
	return c.refreshed.Add(s.interval - min(32*time.Second, s.interval/3)), false, true
}

// heardNow notes the caller's media (or the start of a wait for it).
func (c *Call) heardNow(t time.Time) { c.heard.Store(t.UnixNano()) }

// setDirection notes the caller's offered direction: while it sends us
// nothing on purpose (hold: sendonly, recvonly, inactive), the RTP timeout
// waits.
func (c *Call) setDirection(d sdpneg.Direction) {
	c.quiet.Store(d != sdpneg.SendRecv)
	c.heardNow(time.Now())
}

// watch ends the call when its peer has gone quiet: no media for
// RTPTimeout, or a session timer run out. It runs from run, until ctx ends
// or it has cut the call.
func (c *Call) watch(ctx context.Context) {
	var tick <-chan time.Time
	if d := c.t.cfg.RTPTimeout; d > 0 {
		tk := time.NewTicker(min(max(d/10, 20*time.Millisecond), 5*time.Second))
		defer tk.Stop()
		tick = tk.C
	}
	st := time.NewTimer(time.Hour)
	st.Stop()
	defer st.Stop()
	arm := func() {
		st.Stop()
		if at, _, ok := c.sessionDeadline(); ok {
			st.Reset(time.Until(at))
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick:
			if c.live.Load() && !c.quiet.Load() && now.Sub(time.Unix(0, c.heard.Load())) > c.t.cfg.RTPTimeout {
				c.cut(ctx, cutRTP)
				return
			}
		case <-c.kick:
			arm()
		case <-st.C:
			_, refresh, ok := c.sessionDeadline()
			if !ok {
				continue
			}
			if !refresh {
				c.cut(ctx, cutSession)
				return
			}
			if !c.refreshSession(ctx) {
				c.cut(ctx, cutSession)
				return
			}
			arm()
		}
	}
}

// cut ends the call with BYE because its peer went quiet. The BYE
// outlives ctx (the call's, which its end cancels).
func (c *Call) cut(ctx context.Context, why string) {
	c.t.log.Info("trunk: call cut: its peer went quiet", "call", c.ID, "reason", why)
	if m := c.t.cfg.Metrics; m != nil {
		m.CallCut(why)
	}
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), byeWait)
	defer cancel()
	if err := c.Hangup(bctx); err != nil {
		c.t.log.Debug("trunk: BYE unanswered", "call", c.ID, "err", err)
	}
}

// refreshSession refreshes the session timer as its refresher (RFC 4028
// section 7.4): an UPDATE without SDP where the caller allows UPDATE,
// else a re-INVITE with our last SDP, unchanged (its version too). It
// returns false when the call should end now: the refresh timed out or
// was answered 408 or 481. Another refusal leaves the session to expire
// (unless the caller refreshes it), and an UPDATE refused as unknown is
// retried as a re-INVITE.
func (c *Call) refreshSession(ctx context.Context) bool {
	c.tmu.Lock()
	s := c.session
	c.tmu.Unlock()
	res, err := c.sendRefresh(ctx, s)
	if err == nil && s.update && (res.StatusCode == sip.StatusMethodNotAllowed || res.StatusCode == 501) {
		s.update = false
		res, err = c.sendRefresh(ctx, s)
	}
	switch {
	case err != nil:
		c.t.log.Info("trunk: session refresh unanswered", "call", c.ID, "err", err)
		return ctx.Err() != nil // an ending call needs no BYE of ours
	case res.StatusCode == sip.StatusRequestTimeout || res.StatusCode == sip.StatusCallTransactionDoesNotExists:
		c.t.log.Info("trunk: session refresh refused", "call", c.ID, "code", res.StatusCode)
		return false
	case !res.IsSuccess():
		c.t.log.Info("trunk: session refresh refused: the session expires unless the caller refreshes it", "call", c.ID, "code", res.StatusCode)
		c.tmu.Lock()
		c.refreshFailed = true
		c.tmu.Unlock()
		return true
	}
	// The 2xx's Session-Expires is what holds now (RFC 4028 section 7.2);
	// in it, as in our request, uac is us.
	if a := readSessionAsk(res); a.interval > 0 {
		s.interval, s.weRefresh = max(a.interval, c.t.minSE()), a.refresher != "uas"
	}
	c.setSession(s)
	return true
}

// sendRefresh sends one session refresh and waits for its final answer
// (ACKing a re-INVITE's 2xx).
func (c *Call) sendRefresh(ctx context.Context, s session) (*sip.Response, error) {
	if c.srv == nil {
		return nil, fmt.Errorf("%w: no session refresh on an outbound call", ErrSIP)
	}
	contact := c.srv.InviteRequest.Contact()
	if contact == nil {
		return nil, fmt.Errorf("%w: the caller gave no Contact", ErrSIP)
	}
	method := sip.UPDATE
	if !s.update {
		method = sip.INVITE
	}
	req := sip.NewRequest(method, contact.Address)
	// In our request we are the UAC: refresher=uac is us.
	req.AppendHeader(sip.NewHeader("Session-Expires", strconv.Itoa(int(s.interval/time.Second))+";refresher=uac"))
	req.AppendHeader(sip.NewHeader("Supported", supportedExt))
	if method == sip.INVITE {
		c.sig.Lock()
		body := c.answerSDP() // our last SDP, its version unchanged: nothing changed
		c.sig.Unlock()
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
	}
	rctx, cancel := context.WithTimeout(ctx, 32*time.Second)
	defer cancel()
	res, err := c.srv.Do(rctx, req)
	if err != nil {
		return nil, fmt.Errorf("%w: session refresh: %w", ErrSIP, err)
	}
	if method == sip.INVITE && res.IsSuccess() {
		ack := sip.NewRequest(sip.ACK, contact.Address)
		if err := c.srv.WriteRequest(ack); err != nil {
			c.t.log.Debug("trunk: ACK of the session refresh not sent", "call", c.ID, "err", err)
		}
	}
	return res, nil
}
