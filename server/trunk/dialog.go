package trunk

// This file holds what keeps a call's dialog its own. A request inside a
// call (re-INVITE, UPDATE, INFO, BYE, ACK, OPTIONS with a To-tag) is taken
// only with the call's Call-ID and both its tags (the caller's From-tag
// and our To-tag: RFC 3261 12.2.2), from the call's peer (the address its
// INVITE came from, or any inside the allow list), and, where the trunk
// demands digest credentials, a re-INVITE, UPDATE, INFO or BYE proves the
// INVITE's credential again. Anything else gets 403 (not from the peer) or 481 (not
// the dialog), is counted (Metrics.SIPRefused) and changes nothing: every
// agent and supervisor sees Call-IDs, so a Call-ID alone must not let
// anyone type into a payment.
//
// It also holds the requests outside calls (OPTIONS, and methods we do not
// take) and the headers RFC 3261 wants on our answers: Allow and Supported
// on 2xx to INVITE and OPTIONS and on 405, Contact on every 2xx to INVITE.

import (
	"crypto/subtle"
	"errors"
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// What we take and support, for Allow and Supported (RFC 3261 20.5 and
// 20.37; timer is RFC 4028's session timer).
const (
	allowMethods = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE"
	supportedExt = "timer"
	acceptBodies = "application/sdp, application/dtmf-relay, application/dtmf"
)

// Reasons a request is refused, for Metrics.SIPRefused.
const (
	refusedSource = "source" // 403: neither the call's peer nor an allowed address
	refusedDialog = "dialog" // 481 or 482: not the call's Call-ID and tags
	refusedAuth   = "auth"   // 401 after wrong credentials
)

// capabilities adds Allow and Supported to res.
func capabilities(res *sip.Response) {
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sip.NewHeader("Supported", supportedExt))
}

// refused counts a refused request and logs it (its source, never its
// body).
func (t *Trunk) refused(req *sip.Request, reason string) {
	t.log.Info("trunk: request refused", "method", req.Method.String(), "reason", reason, "source", req.Source())
	if m := t.cfg.Metrics; m != nil {
		m.SIPRefused(req.Method.String(), reason)
	}
}

// toTag is req's To-tag: set, the request claims to be inside a dialog.
func toTag(req *sip.Request) string {
	to := req.To()
	if to == nil {
		return ""
	}
	v, _ := to.Params.Get("tag")
	return v
}

// fromTag is req's From-tag, "" if none.
func fromTag(req *sip.Request) string {
	from := req.From()
	if from == nil {
		return ""
	}
	v, _ := from.Params.Get("tag")
	return v
}

// sourceAddr is req's source address, unmapped; invalid if it has none.
func sourceAddr(req *sip.Request) netip.Addr {
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return src.Addr().Unmap()
}

// fromPeer reports whether req comes from the call's peer: the address its
// INVITE came from (an inbound call's trunk, or a proxy that
// Record-Routes), or that answered ours (an outbound call's trunk).
func (c *Call) fromPeer(req *sip.Request) bool {
	return c.peer.IsValid() && sourceAddr(req) == c.peer
}

// sameDialog reports whether req carries the call's Call-ID and both its
// tags: on an inbound call the caller's From-tag and our To-tag, on an
// outbound call the far end's as From and ours as To. Our tag is random
// (sipgo's UUID, or 16 random characters): nobody outside the dialog can
// guess it.
func (c *Call) sameDialog(req *sip.Request) bool {
	id := req.CallID()
	if id == nil || c.localTag == "" {
		return false
	}
	return id.Value() == c.ID && fromTag(req) == c.remoteTag &&
		subtle.ConstantTimeCompare([]byte(toTag(req)), []byte(c.localTag)) == 1
}

// dialogRequest returns the call a request inside a dialog belongs to. A
// request that does not belong is answered here, 403 when its source is
// neither allowed nor the call's peer, 481 when it is not the call's
// dialog (no such Call-ID, or the wrong tags), and counted; then nil. A
// stranger gets 403 whether or not the Call-ID is live.
func (t *Trunk) dialogRequest(req *sip.Request, tx sip.ServerTransaction) *Call {
	c := t.call(req)
	if !t.allowed(req) && (c == nil || !c.fromPeer(req)) {
		t.refused(req, refusedSource)
		t.respond(tx, req, sip.StatusForbidden, "Forbidden")
		return nil
	}
	if c == nil || !c.sameDialog(req) || !c.reachedBy(req) { // a call over TLS is reached over TLS only
		t.refused(req, refusedDialog)
		t.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return nil
	}
	return c
}

// authenticated checks a request's digest credentials where the trunk
// demands them (Config.Auth): a request inside an inbound call (re-INVITE,
// UPDATE, INFO, BYE) must prove the credential its call's INVITE proved
// (c nil: any). Without valid ones it answers 401 with a challenge and
// returns false. The far end of an outbound call proves nothing: it
// answered the INVITE we sent to the outbound trunk, and holds none of
// the credentials trunks calling us prove.
func (t *Trunk) authenticated(c *Call, req *sip.Request, tx sip.ServerTransaction) (user string, ok bool) {
	if t.auth == nil || (c != nil && c.Outbound) {
		return "", true
	}
	user, err := t.auth.verify(req)
	if err == nil && c != nil && user != c.authUser {
		err = errWrongUser
	}
	if err == nil {
		return user, true
	}
	if !errors.Is(err, errNoCredentials) && !errors.Is(err, errStale) {
		t.log.Info("trunk: request failed authentication", "method", req.Method.String(), "source", req.Source(), "err", err)
		if m := t.cfg.Metrics; m != nil {
			m.SIPRefused(req.Method.String(), refusedAuth)
		}
	}
	if err := tx.Respond(t.auth.challenge(req, errors.Is(err, errStale))); err != nil {
		t.log.Debug("trunk: challenge not sent", "err", err)
	}
	return "", false
}

// errWrongUser: a re-INVITE proved another credential than its call's
// INVITE did.
var errWrongUser = errors.New("trunk: credentials of another trunk than the call's")

// onAck confirms a call's dialog with the caller's ACK of our 200 OK. An
// ACK from outside the dialog is dropped (ACKs get no answer) and counted.
func (t *Trunk) onAck(req *sip.Request, tx sip.ServerTransaction) {
	c := t.call(req)
	switch {
	case !t.allowed(req) && (c == nil || !c.fromPeer(req)):
		t.refused(req, refusedSource)
	case c == nil || !c.sameDialog(req):
		t.refused(req, refusedDialog)
	default:
		_ = t.dialogs.ReadAck(req, tx)
	}
}

// onOptions answers OPTIONS: inside a call only from its dialog; outside
// one, 200 with what we take, or 503 once Serve is shutting down, so that
// a dispatcher in front sees a draining server and sends calls elsewhere.
func (t *Trunk) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	if toTag(req) != "" && t.dialogRequest(req, tx) == nil {
		return
	}
	t.mu.Lock()
	closing := t.closing
	t.mu.Unlock()
	if closing {
		t.respond(tx, req, sip.StatusServiceUnavailable, "Shutting down")
		return
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	capabilities(res)
	res.AppendHeader(sip.NewHeader("Accept", acceptBodies))
	if err := tx.Respond(res); err != nil {
		t.log.Debug("trunk: response not sent", "code", sip.StatusOK, "err", err)
	}
}

// onCancel answers a CANCEL that matched no INVITE (sipgo's transaction
// layer takes those that do): 481 (RFC 3261 9.2).
func (t *Trunk) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	t.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
}

// onOtherMethod answers a method we do not take: 405 with Allow (RFC 3261
// 21.4.6).
func (t *Trunk) onOtherMethod(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil)
	capabilities(res)
	if err := tx.Respond(res); err != nil {
		t.log.Debug("trunk: response not sent", "code", sip.StatusMethodNotAllowed, "err", err)
	}
}
