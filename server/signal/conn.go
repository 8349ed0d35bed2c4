package signal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/hushphone/hushphone/payment/session"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/pay"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/store"
)

// conn is one user's WebSocket. ServeHTTP's goroutine reads; writeLoop
// writes everything queued on out; watchLoop pings and re-checks the
// session. close asks writeLoop to close with a code.
type conn struct {
	h         *Hub
	user      string
	userID    int64 // the user's stable id (payments are authorised by it)
	role      store.Role
	tokenHash []byte
	ws        *websocket.Conn
	out       chan []byte
	recheck   chan struct{} // Hub.Recheck: check the session now

	closeOnce sync.Once
	closing   chan struct{}
	code      protocol.CloseCode
	reason    string
}

// close makes writeLoop send what is queued, then close with code.
func (c *conn) close(code protocol.CloseCode, reason string) {
	c.closeOnce.Do(func() {
		c.code, c.reason = code, reason
		close(c.closing)
	})
}

func (c *conn) send(m protocol.Message) {
	b, err := json.Marshal(m)
	if err != nil {
		c.h.log.Error("websocket: encode", "type", m.Type, "err", err)
		return
	}
	c.enqueue(b)
}

// enqueue queues b without blocking; a client that lets SendQueue messages
// pile up is closed (1008) rather than holding up everyone else.
func (c *conn) enqueue(b []byte) {
	select {
	case <-c.closing:
		return
	default:
	}
	select {
	case c.out <- b:
	default:
		c.h.log.Warn("websocket: client too slow; closing", "user", c.user)
		c.close(protocol.CloseTooSlow, "too slow: messages were not read")
	}
}

func (c *conn) writeLoop(ctx context.Context) {
	write := func(b []byte) bool {
		wctx, cancel := context.WithTimeout(ctx, c.h.p.WriteTimeout)
		defer cancel()
		if err := c.ws.Write(wctx, websocket.MessageText, b); err != nil {
			_ = c.ws.CloseNow()
			return false
		}
		return true
	}
	for {
		select {
		case b := <-c.out:
			if !write(b) {
				return
			}
		case <-c.closing:
			if c.code != protocol.CloseTooSlow {
				for len(c.out) > 0 {
					if !write(<-c.out) {
						return
					}
				}
			}
			_ = c.ws.Close(websocket.StatusCode(c.code), c.reason)
			return
		case <-ctx.Done():
			return
		}
	}
}

// watchLoop pings the peer (a peer that does not answer is gone) and checks
// the session is still signed in: every SessionCheck, and at once when the
// Hub asks (Recheck).
func (c *conn) watchLoop(ctx context.Context) {
	ping := time.NewTicker(c.h.p.PingInterval)
	defer ping.Stop()
	check := time.NewTicker(c.h.p.SessionCheck)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.closing:
			return
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, c.h.p.PingInterval)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				c.h.log.Info("websocket: peer does not answer pings; closing", "user", c.user)
				_ = c.ws.CloseNow()
				return
			}
		case <-check.C:
			if !c.checkSession(ctx) {
				return
			}
		case <-c.recheck:
			if !c.checkSession(ctx) {
				return
			}
		}
	}
}

func (c *conn) readLoop(ctx context.Context) {
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			if s := websocket.CloseStatus(err); s == -1 && !errors.Is(err, context.Canceled) {
				c.h.log.Debug("websocket: read", "user", c.user, "err", err)
			}
			return
		}
		if typ != websocket.MessageText {
			c.send(protocol.Message{Type: protocol.TypeError, Code: protocol.CodeBadMessage, Message: "send JSON as text messages, not binary"})
			continue
		}
		m, err := protocol.Parse(b)
		if err != nil {
			c.replyError(m.ID, err)
			continue
		}
		c.replyError(m.ID, c.handle(ctx, m))
	}
}

func (c *conn) replyError(id string, err error) {
	if err == nil {
		return
	}
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		c.h.log.Error("websocket: handle message", "user", c.user, "err", err)
		pe = &protocol.Error{Code: protocol.CodeInternal, Message: "the server failed; try again"}
	}
	c.send(protocol.Message{Type: protocol.TypeError, ID: id, Code: pe.Code, Message: pe.Message})
}

// perr is an error to send back to the client (a *protocol.Error).
func perr(code protocol.ErrorCode, msg string) error {
	return &protocol.Error{Code: code, Message: msg}
}

// routeError turns the call queue's errors into replies.
func routeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, route.ErrNotOffered):
		return perr(protocol.CodeNotOffered, "that call is not ringing for you")
	case errors.Is(err, route.ErrNotYourCall):
		return perr(protocol.CodeNotYourCall, "you are not on that call")
	case errors.Is(err, route.ErrNoCall):
		return perr(protocol.CodeNoCall, "no such call: it may have ended")
	case errors.Is(err, route.ErrNoAgent):
		return perr(protocol.CodeNotRegistered, "you are not in the call queue: reconnect")
	case errors.Is(err, route.ErrClosed):
		return perr(protocol.CodeUnavailable, "the server is shutting down")
	case errors.Is(err, route.ErrBadPresence):
		return perr(protocol.CodeBadRequest, `"status" must be "available" or "away"`)
	}
	return err
}

func (c *conn) handle(ctx context.Context, m protocol.Message) error {
	if m.Type == protocol.TypePing {
		c.send(protocol.Message{Type: protocol.TypePong, ID: m.ID})
		return nil
	}
	if m.Type.Pay() {
		return c.handlePay(ctx, m)
	}
	if isSupervisor(c.role) {
		return c.handleSupervisor(ctx, m)
	}
	if c.role != store.RoleAgent {
		return perr(protocol.CodeForbidden, "only agents send "+string(m.Type)+" messages")
	}
	r := c.h.p.Router
	switch m.Type {
	case protocol.TypeListen, protocol.TypeUnlisten:
		return perr(protocol.CodeForbidden, "only supervisors and admins listen in to calls")
	case protocol.TypePresence:
		return routeError(r.SetPresence(c.user, route.State(m.Status)))
	case protocol.TypeAnswer:
		return routeError(r.Answer(c.user, m.Call))
	case protocol.TypeDecline:
		return routeError(r.Decline(c.user, m.Call))
	case protocol.TypeHangup:
		return routeError(r.AgentHangup(c.user, m.Call))
	case protocol.TypeDial:
		if c.h.p.Dialer == nil {
			return perr(protocol.CodeUnavailable, "this server places no calls: it has no outbound trunk")
		}
		err := c.h.p.Dialer.Dial(ctx, c.user, m.Number)
		switch {
		case errors.Is(err, ErrNoOutbound):
			return perr(protocol.CodeUnavailable, "this server places no calls: it has no outbound trunk")
		case errors.Is(err, route.ErrAgentBusy):
			return perr(protocol.CodeBusy, "you have a call ringing or in progress: end it first")
		}
		return routeError(err)
	case protocol.TypeHold:
		if c.h.p.Media == nil {
			return perr(protocol.CodeUnavailable, "this server has no media side")
		}
		err := c.h.p.Media.Hold(ctx, c.user, m.Call, m.Status == string(protocol.HoldOn))
		switch {
		case errors.Is(err, ErrNoSuchCall):
			return perr(protocol.CodeNotYourCall, "you are not on that call")
		case errors.Is(err, ErrCallNotActive):
			return perr(protocol.CodeNotActive, "the call cannot be held now: it is not answered, or already on hold for a dropped connection")
		case err != nil:
			return fmt.Errorf("signal: hold: %w", err)
		}
		c.send(protocol.Message{Type: protocol.TypeHold, ID: m.ID, Call: m.Call, Status: m.Status})
		return nil
	case protocol.TypeSDP, protocol.TypeCandidate:
		if a, ok := r.Agent(c.user); !ok || a.Call != m.Call || (a.State != route.StateRinging && a.State != route.StateBusy) {
			return perr(protocol.CodeNotYourCall, "you are not on that call")
		}
		return c.media(ctx, m)
	}
	return perr(protocol.CodeUnknownType, "unknown message type")
}

// media passes an sdp or candidate message to the media side.
func (c *conn) media(ctx context.Context, m protocol.Message) error {
	if c.h.p.Media == nil {
		return perr(protocol.CodeUnavailable, "this server has no media side")
	}
	var err error
	if m.Type == protocol.TypeSDP {
		err = c.h.p.Media.SDP(ctx, c.user, m.Call, m.Kind, m.SDP)
	} else {
		err = c.h.p.Media.Candidate(ctx, c.user, m.Call, m.Candidate)
	}
	if errors.Is(err, ErrNoSuchCall) {
		return perr(protocol.CodeNotYourCall, "you are not on that call, nor listening to it")
	}
	if errors.Is(err, ErrNoMicrophone) {
		return perr(protocol.CodeNoMicrophone, "you whisper or barge: offer sendrecv with an audio track (a microphone), or go back to listen first")
	}
	if err != nil {
		// The reason goes to the log only: its text can quote the SDP or
		// the candidate, with their addresses.
		c.h.log.Info("websocket: media refused", "user", c.user, "call", m.Call, "type", m.Type, "err", err)
		if m.Type == protocol.TypeSDP {
			return perr(protocol.CodeMedia, "the media side refused the sdp: send a WebRTC offer with PCMU or Opus audio (the server's log says why)")
		}
		return perr(protocol.CodeMedia, "the media side refused the candidate: send an ICE candidate line as the peer connection gave it (the server's log says why)")
	}
	return nil
}

// handleSupervisor serves a supervisor's or admin's message: listening in.
func (c *conn) handleSupervisor(ctx context.Context, m protocol.Message) error {
	switch m.Type {
	case protocol.TypeListen, protocol.TypeUnlisten, protocol.TypeSDP, protocol.TypeCandidate:
	case protocol.TypeHold:
		return perr(protocol.CodeForbidden, "only agents hold their calls")
	default:
		return perr(protocol.CodeForbidden, "supervisors send only listen, unlisten, sdp, candidate and ping")
	}
	media := c.h.p.Media
	if media == nil {
		return perr(protocol.CodeUnavailable, "this server has no media side")
	}
	mode := m.Mode
	if mode == "" {
		mode = protocol.ModeListen
	}
	var err error
	switch m.Type {
	case protocol.TypeListen:
		err = media.ListenMode(ctx, c.user, m.Call, mode)
	case protocol.TypeUnlisten:
		err = media.Unlisten(ctx, c.user, m.Call)
	default:
		return c.media(ctx, m)
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrNoSuchCall):
		return perr(protocol.CodeNoCall, "no such call: it may have ended")
	case errors.Is(err, ErrCallNotActive):
		return perr(protocol.CodeNotActive, "no agent has answered that call yet: listen once it is active")
	case errors.Is(err, ErrTooManyListeners):
		return perr(protocol.CodeLimit, "too many supervisors are listening to that call")
	case errors.Is(err, ErrNotListening):
		return perr(protocol.CodeNotListening, "you are not listening to that call")
	case errors.Is(err, ErrNoMicrophone):
		return perr(protocol.CodeNoMicrophone, "whisper and barge need your voice: offer sendrecv with an audio track (a microphone) first")
	default:
		return fmt.Errorf("signal: %s: %w", m.Type, err)
	}
	if m.Type == protocol.TypeListen {
		c.send(protocol.Message{Type: protocol.TypeListenStarted, ID: m.ID, Call: m.Call, Mode: mode})
	} else {
		c.send(protocol.Message{Type: protocol.TypeListenEnded, ID: m.ID, Call: m.Call, Reason: string(protocol.ListenEndSupervisor)})
	}
	return nil
}

// handlePay serves the pay.* messages: agents run their own sessions;
// supervisors and admins may ask for any session's status.
func (c *conn) handlePay(ctx context.Context, m protocol.Message) error {
	p := c.h.p.Payments
	if p == nil {
		return perr(protocol.CodeUnavailable, "this server takes no payments")
	}
	sup := isSupervisor(c.role)
	if m.Type != protocol.TypePayStatus && c.role != store.RoleAgent {
		return perr(protocol.CodeForbidden, "only the agent on a call runs its payment; supervisors send pay.status")
	}
	var st pay.Status
	var err error
	switch m.Type {
	case protocol.TypePayStart:
		st, err = p.Start(ctx, c.user, m.Call, *m.Pay)
	case protocol.TypePayAsk:
		st, err = p.Ask(c.user, m.Session, session.Field(m.Field))
	case protocol.TypePayReset:
		st, err = p.Reset(c.user, m.Session, session.Field(m.Field))
	case protocol.TypePayCancel:
		st, err = p.Cancel(ctx, c.user, m.Session)
	case protocol.TypePaySubmit:
		// The gateway may take seconds: its answer comes as pay.progress
		// (to the agent and supervisors) while this connection goes on.
		c.h.wg.Add(1)
		go func() {
			defer c.h.wg.Done()
			if _, err := p.Submit(context.WithoutCancel(ctx), c.user, m.Session); err != nil {
				c.replyError(m.ID, payError(err))
			}
		}()
		return nil
	case protocol.TypePayStatus:
		if m.Session == "" {
			var ok bool
			if st, ok = p.ForCall(m.Call); !ok || !sup && st.Agent != c.user {
				return perr(protocol.CodeNoPayment, "no payment session is under way on that call")
			}
		} else {
			st, err = p.Status(ctx, c.user, c.userID, sup, m.Session)
		}
	}
	if err != nil {
		return payError(err)
	}
	c.send(protocol.Message{Type: protocol.TypePayProgress, ID: m.ID, Call: st.Call, Session: st.ID, Payment: &st})
	return nil
}

// payError turns the payment side's errors into replies; their text holds
// no digit the caller typed.
func payError(err error) error {
	var code protocol.ErrorCode
	switch {
	case errors.Is(err, pay.ErrBadRequest):
		code = protocol.CodeBadRequest
	case errors.Is(err, pay.ErrNoSession):
		code = protocol.CodeNoPayment
	case errors.Is(err, pay.ErrNotYourCall):
		code = protocol.CodeNotYourCall
	case errors.Is(err, pay.ErrForbidden):
		code = protocol.CodeForbidden
	case errors.Is(err, pay.ErrActive):
		code = protocol.CodePayActive
	case errors.Is(err, pay.ErrNotReady):
		code = protocol.CodeNotReady
	case errors.Is(err, pay.ErrOver):
		code = protocol.CodePayOver
	case errors.Is(err, pay.ErrSubmitting):
		code = protocol.CodeSubmitting
	case errors.Is(err, pay.ErrClosed):
		code = protocol.CodeUnavailable
	default:
		return err
	}
	return perr(code, strings.TrimPrefix(err.Error(), "pay: "))
}
