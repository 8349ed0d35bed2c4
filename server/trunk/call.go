package trunk

// This file holds the Call: its state machine (offered, answered, over)
// and what it says on SIP (Ring, Answer, Reject, Hangup), Send and Stats,
// and run, which runs its media from the INVITE to its end.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/mask"
	"github.com/hushphone/hushphone/media/mix"
	"github.com/hushphone/hushphone/server/callerleg"
	"github.com/hushphone/hushphone/server/sdpneg"
)

// Call is one call through the trunk, from its INVITE until it ends. It
// is either inbound or outbound (Outbound), and once answered the two are
// alike: the far end's audio goes through the call's Masker to Answer's or
// Dial's out, its key presses (RFC 4733, in-band, SIP INFO) to keys, and
// Send sends it the agent's voice.
//
// An inbound call starts with the caller's INVITE: the trunk hands it to
// Config.OnCall, offered, and OnCall may Ring it and must Answer or Reject
// it; offered, it ends with Reject, Hangup (480) or the caller's CANCEL.
// An outbound call starts with Trunk.Dial, which returns it already
// answered (a refused or cancelled Dial returns no Call). Answered, either
// kind ends with Hangup (our BYE) or the far end's BYE. The end of Serve
// hangs up every call. Done is closed once the call has ended and its
// goroutines (media, RTCP reports, ringback) have stopped.
//
// The state machine is small: offered (ringing, or waiting to), answered,
// over. Its SIP side is in this file; its media is in rtp.go and rtcp.go,
// through the call's Stream.
type Call struct {
	ID    string       // the SIP Call-ID
	From  string       // the caller's number (user part of From); for an outbound call, the number dialled
	To    string       // an inbound call's dialled number: the INVITE's request URI's user
	Offer sdpneg.Offer // what the caller's SDP asked for; for an outbound call, what the far end's answer agreed
	// Outbound is set for calls made with Dial.
	Outbound bool

	t   *Trunk
	dlg dialog                     // the call's dialog, either side
	srv *sipgo.DialogServerSession // an inbound call's dialog, for its responses
	// The dialog's identity, for its requests (dialog.go): the peer's
	// address, our tag and the peer's, the credential its INVITE proved.
	peer                          netip.Addr
	localTag, remoteTag, authUser string
	src                           callerleg.Source // where the caller's media may come from
	stream                        Stream           // every RTP and RTCP packet of the call
	cname                         string           // our RTCP CNAME
	ended                         chan struct{}
	stop                          chan struct{} // closed by Hangup: the call ends on our side whatever the peer does
	once                          sync.Once

	sig   sync.Mutex // serialises what is said on the dialog, and guards state
	state callState

	// What tells a dead call (timers.go): when the caller's media was
	// last heard (unix nanoseconds), whether it sends none on purpose
	// (hold), whether the call is up; the session timer, guarded by tmu,
	// and kick, which wakes the call's watch when the timer changes.
	heard         atomic.Int64
	quiet, live   atomic.Bool
	tmu           sync.Mutex
	session       session
	refreshed     time.Time
	refreshFailed bool
	kick          chan struct{}

	mu      sync.Mutex // guards what follows: the RTP loop and SIP INFO share the leg
	leg     *callerleg.Leg
	masker  *mask.Masker
	started bool
	arrival time.Time // of the packet being handled

	early netip.AddrPort // where the caller's RTP comes from before Answer

	answer []byte // our SDP answer: the same in 183 and 200
	// sdpSession is our o= line's session id; sdpVersion counts the
	// answers to re-INVITEs since (each is version 1+sdpVersion).
	sdpSession, sdpVersion uint64
	ringStop               chan struct{} // closed to stop the ringback
	ringOnce               sync.Once     // the ringback starts once at most
	ringEnd                sync.Once     // and stops once
	ringWG                 sync.WaitGroup

	agentSent atomic.Bool // the agent's first frame has gone (it gets the marker bit)

	rtcpFrom netip.AddrPort // where the caller's RTCP comes from (guarded by mu)

	sendMu    sync.Mutex // guards our RTP stream to the caller (ringback, then the agent)
	send      rtp.Header // its next packet's header
	sentAny   bool       // the stream's first packet has gone (it had the marker bit)
	sentNew   bool       // packets have gone since the last RTCP report
	sentPkts  uint32     // for sender reports
	sentBytes uint32     // payload octets
	sentAt    time.Time  // when the last packet went
	sentTS    uint32     // and its RTP timestamp
}

// dialog is what a call does with its dialog, inbound or outbound.
type dialog interface {
	Bye(ctx context.Context) error
	Close() error
	Context() context.Context
}

type callState uint8

const (
	stateOffered  callState = iota // ringing, or waiting to
	stateAnswered                  // 200 OK sent
	stateOver                      // rejected or hung up by us
)

// Done is closed when the call has ended, whoever ended it.
func (c *Call) Done() <-chan struct{} { return c.ended }

// Ring tells the caller the call is waiting: 180 Ringing, or, with a
// Ringback configured, 183 Session Progress with our SDP answer and the
// ringback tone on RTP until Answer or the call's end.
func (c *Call) Ring() error {
	c.sig.Lock()
	defer c.sig.Unlock()
	if c.state != stateOffered {
		return ErrAnswered
	}
	rb := c.t.cfg.Ringback
	if rb == nil {
		if err := c.srv.Respond(sip.StatusRinging, "Ringing", nil); err != nil {
			return fmt.Errorf("%w: ring: %w", ErrSIP, err)
		}
		return nil
	}
	answer := c.answerSDP()
	tone, err := rb.frames(c.Offer.Law)
	if err != nil {
		return err
	}
	if err := c.srv.Respond(sip.StatusSessionInProgress, "Session Progress", answer, sip.NewHeader("Content-Type", "application/sdp")); err != nil {
		return fmt.Errorf("%w: ring: %w", ErrSIP, err)
	}
	c.ringOnce.Do(func() {
		c.ringWG.Add(1)
		go c.ringback(tone)
	})
	return nil
}

// answerSDP is our answer to the offer, made once so that 183 and 200
// carry the same.
func (c *Call) answerSDP() []byte {
	if c.answer == nil {
		c.sdpSession = uint64(time.Now().Unix())
		c.answer = sdpneg.Answer(c.Offer, c.stream.LocalAddr(), c.sdpSession, 1)
	}
	return c.answer
}

// Answer answers the call (200 OK with our SDP; it returns once the caller
// has acknowledged it): from now on every 20 ms of the caller's audio,
// masked, goes to out (G.711 in the agreed law, called from the call's
// receive goroutine, must not block), and every key press to keys (the
// payment side's input; never to be logged or shown). A caller that never
// acknowledges the 200 OK (it is resent for 64*T1, 32 s) has the call
// ended with BYE (RFC 3261 13.3.1.4), and Answer returns ErrNoAck.
func (c *Call) Answer(out func(frame []byte), keys func(dtmf.Event)) error {
	c.sig.Lock()
	defer c.sig.Unlock()
	if c.state != stateOffered {
		return ErrAnswered
	}
	c.state = stateAnswered
	c.stopRingback()
	answer := c.answerSDP()
	c.mu.Lock()
	err := c.startLeg(out, keys)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	// The session timer the caller asked for, if any (RFC 4028).
	ses := agreeSession(readSessionAsk(c.srv.InviteRequest), 0)
	headers := append([]sip.Header{sip.NewHeader("Content-Type", "application/sdp"),
		sip.NewHeader("Allow", allowMethods), sip.NewHeader("Supported", supportedExt)}, ses.headers()...)
	c.heardNow(time.Now())
	if err := c.srv.Respond(sip.StatusOK, "OK", answer, headers...); err != nil {
		c.state = stateOver
		if c.dlg.Context().Err() != nil { // cancelled or hung up meanwhile
			c.end()
			return fmt.Errorf("%w: answer: %w", ErrSIP, err)
		}
		// Not cancelled, not hung up: the 200 OK was never acknowledged
		// (a broken NAT, a bad Contact). End the call rather than leave
		// an agent on it.
		c.t.log.Warn("trunk: the caller never acknowledged the 200 OK: ending the call with BYE", "call", c.ID, "err", err)
		if m := c.t.cfg.Metrics; m != nil {
			m.CallCut(cutNoAck)
		}
		ctx, cancel := context.WithTimeout(context.Background(), byeWait)
		if berr := c.dlg.Bye(ctx); berr != nil {
			c.t.log.Debug("trunk: BYE unanswered", "call", c.ID, "err", berr)
		}
		cancel()
		c.end()
		return fmt.Errorf("%w (%w)", ErrNoAck, err)
	}
	c.heardNow(time.Now())
	c.live.Store(true)
	c.setSession(ses)
	return nil
}

// startLeg makes the call's Masker and caller leg: from now on the far
// end's audio goes through the Masker to out. Called with mu held.
func (c *Call) startLeg(out func(frame []byte), keys func(dtmf.Event)) error {
	c.masker = mask.New(mask.WithKeyEvents(keys), mask.WithLookahead(c.t.cfg.MaskLookahead))
	if m := c.t.cfg.Metrics; m != nil {
		// The frame going out now holds audio that arrived one look-ahead
		// before the packet being handled.
		lookahead, inner := c.masker.Lookahead(), out
		out = func(frame []byte) {
			m.AddedLatency(lookahead + time.Since(c.arrival))
			inner(frame)
		}
	}
	src := c.src
	src.Latched = c.early // the caller's early media latched already
	leg, err := callerleg.New(callerleg.Params{Masker: c.masker, Law: c.Offer.Law, AudioPT: c.Offer.AudioPT, EventPT: c.Offer.EventPT, Out: out, Source: src})
	if err != nil {
		return fmt.Errorf("trunk: %w", err)
	}
	c.leg, c.started = leg, true
	return nil
}

// Reject refuses the call with a SIP status (486 Busy Here, 480
// Temporarily Unavailable, ...).
func (c *Call) Reject(code int, reason string) error {
	c.sig.Lock()
	defer c.sig.Unlock()
	if c.state != stateOffered {
		return ErrAnswered
	}
	c.state = stateOver
	err := c.srv.Respond(code, reason, nil)
	c.end()
	if err != nil {
		return fmt.Errorf("%w: reject: %w", ErrSIP, err)
	}
	return nil
}

// end makes the call end on our side, whatever the peer does.
func (c *Call) end() {
	_ = c.dlg.Close()
	c.once.Do(func() { close(c.stop) })
}

// Hangup ends an answered call with a BYE (or an unanswered one with 480).
func (c *Call) Hangup(ctx context.Context) error {
	c.sig.Lock()
	defer c.sig.Unlock()
	var err error
	switch c.state {
	case stateOver:
		return nil
	case stateAnswered:
		err = c.dlg.Bye(ctx)
	default:
		// sipgo waits for the caller's ACK of a final answer (up to
		// 32 s); a caller that never sends it must not hold us past ctx.
		// The wait goes on in the background, which Serve ends.
		done := make(chan error, 1)
		c.t.background(func() { done <- c.srv.Respond(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil) })
		select {
		case err = <-done:
		case <-ctx.Done():
			err = fmt.Errorf("no ACK from the caller: %w", ctx.Err())
		}
	}
	c.state = stateOver
	c.end()
	if err != nil {
		return fmt.Errorf("%w: hang up: %w", ErrSIP, err)
	}
	return nil
}

// ErrNotAnswered is returned by Send before Answer.
var ErrNotAnswered = errors.New("trunk: call not answered")

// Send sends one frame of the agent's voice (20 ms: mix.FrameSamples bytes
// of G.711 in the call's law) to the caller: to the address the caller's RTP comes from once it
// has sent any (symmetric RTP), to its SDP's address until then.
func (c *Call) Send(frame []byte) error {
	if len(frame) != mix.FrameSamples {
		return fmt.Errorf("%w: got %d bytes", callerleg.ErrMalformed, len(frame))
	}
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return ErrNotAnswered
	}
	return c.write(frame, !c.agentSent.Swap(true))
}

// Stats are the caller leg's counters (zero before Answer).
func (c *Call) Stats() callerleg.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leg == nil {
		return callerleg.Stats{}
	}
	return c.leg.Stats()
}

// run receives the call's RTP and RTCP and sends its RTCP reports until
// the dialog ends or Hangup ends the call; then it stops the ringback,
// sends an RTCP BYE, releases the media ports and marks the call ended.
func (c *Call) run() {
	defer c.t.wg.Done()
	var loops sync.WaitGroup
	defer func() {
		c.stopRingback()
		loops.Wait()
		c.sendBye()
		c.closeMedia()
		c.t.mu.Lock()
		delete(c.t.calls, c.ID)
		c.t.mu.Unlock()
		if m := c.t.cfg.Metrics; m != nil {
			m.CallEnded(c.Stats())
		}
		close(c.ended)
		c.t.log.Info("trunk: call ended", "call", c.ID)
	}()
	// ctx ends with the dialog, with Hangup, or when run returns.
	ctx, cancel := context.WithCancel(c.dlg.Context())
	defer cancel()
	loops.Go(func() {
		select {
		case <-ctx.Done():
		case <-c.stop:
			cancel()
		}
	})
	loops.Go(func() { c.reportLoop(ctx) })
	loops.Go(func() { c.watch(ctx) })
	if err := c.stream.Receive(ctx, c.rtpIn, c.rtcpIn); err != nil {
		c.t.log.Info("trunk: call's media failed", "call", c.ID, "err", err)
	}
}
