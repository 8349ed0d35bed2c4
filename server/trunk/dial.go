package trunk

// This file holds outbound calls: Dial, from the INVITE to the answered
// Call (or the refusal), and the settings it reads.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/server/sdpneg"
	"github.com/hushphone/hushphone/server/trunk/rtpstream"
)

// Errors from Dial.
var (
	// ErrNoOutbound means no outbound trunk is configured.
	ErrNoOutbound = errors.New("trunk: outbound calls are off: set the outbound trunk's address, HOST:PORT (the trunk-out setting)")
	// ErrNotServing means Dial was called while the trunk is not serving
	// (before Serve, or during shutdown).
	ErrNotServing = errors.New("trunk: not serving SIP")
	// ErrRejected is wrapped by a *RejectedError: the far end refused.
	ErrRejected = errors.New("trunk: call refused")
	// ErrNumber means the number to dial is not one.
	ErrNumber = errors.New("trunk: bad number")
)

// RejectedError is a final SIP response other than 2xx to our INVITE.
type RejectedError struct {
	Code   int
	Reason string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("trunk: call refused: %d %s", e.Code, e.Reason)
}

// Is makes errors.Is(err, ErrRejected) true.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// validNumber is a dialable number: digits, '+', '*', '#', at most 32.
func validNumber(n string) bool {
	if n == "" || len(n) > 32 {
		return false
	}
	for i := range len(n) {
		switch c := n[i]; {
		case c >= '0' && c <= '9', c == '*', c == '#', c == '+' && i == 0:
		default:
			return false
		}
	}
	return true
}

// DialOption changes what Dial does.
type DialOption func(*dialOptions)

type dialOptions struct {
	ringing func()
}

// OnRinging has Dial call f, once, when the far end says it rings (180 or
// 183), from sipgo's goroutine; f must not block.
func OnRinging(f func()) DialOption { return func(o *dialOptions) { o.ringing = f } }

// Dial calls number through the outbound trunk (Config.Outbound) and
// returns once it is answered (200 OK, ACK sent): an answered *Call like an
// inbound one. From then on the far end's audio, through the call's Masker,
// goes to out (20 ms of G.711 in Call.Offer.Law, from the call's receive
// goroutine; it must not block) and its key presses to keys; Send sends the
// agent's voice; Hangup sends BYE; Done is closed when either side ends
// it. Provisional responses (100, 180, 183) are waited through; their early
// media is not played to anyone. A 401 or 407 is answered once with
// Config.OutboundAuth, if set. A refusal is a *RejectedError (errors.Is
// ErrRejected); when ctx ends first the INVITE is cancelled (CANCEL) and
// ctx's error returned. Dial needs Listen to have been called, and waits
// for Serve: the INVITE goes out from the SIP port, where the far end's
// answers and BYE come back.
func (t *Trunk) Dial(ctx context.Context, number string, out func(frame []byte), keys func(dtmf.Event), options ...DialOption) (*Call, error) {
	var do dialOptions
	for _, o := range options {
		o(&do)
	}
	if t.outDialogs == nil {
		return nil, ErrNoOutbound
	}
	if !validNumber(number) {
		return nil, fmt.Errorf("%w: %q: digits, with an optional leading +, at most 32", ErrNumber, number)
	}
	if out == nil || keys == nil {
		return nil, fmt.Errorf("%w: Dial needs out and keys", ErrConfig)
	}
	t.mu.Lock()
	listening := t.udp != nil
	t.mu.Unlock()
	if !listening {
		return nil, ErrNotServing
	}
	select { // Serve may be starting
	case <-t.serving:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrNotServing, ctx.Err())
	}
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return nil, ErrNotServing
	}
	t.handlers.Add(1) // Serve waits for us before it returns
	t.mu.Unlock()
	defer t.handlers.Done()
	// Shutting down cancels a call not yet answered. The watch ends, and
	// is waited for, when Dial returns.
	ctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	defer func() { cancel(); <-watched }()
	go func() {
		defer close(watched)
		select {
		case <-t.shutdown:
			cancel()
		case <-ctx.Done():
		}
	}()

	// SRTP or plain RTP, as the policy says (srtp.go): for SRTP our keys
	// are made with the call, and the far end's come with its answer.
	c, err := t.newCall(sdpneg.Offer{Secure: t.outboundSecure()})
	if err != nil {
		return nil, err
	}
	var ours []sdpneg.Crypto
	if c.Offer.Secure {
		ours = append(ours, c.Offer.LocalCrypto)
	}
	c.sdpSession = uint64(time.Now().Unix())
	offer := sdpneg.MakeOffer(c.stream.LocalAddr(), c.sdpSession, 1, ours...)
	c.answer = offer // our last SDP, for an offerless re-INVITE from the far end
	from := &sip.FromHeader{Address: sip.Uri{User: t.cfg.OutboundFrom, Host: t.sipHost}}
	c.localTag = sip.GenerateTagN(16)
	from.Params.Add("tag", c.localTag)
	dlg, err := t.outDialogs.WriteInvite(ctx, t.outboundInvite(number, offer, from))
	if err != nil {
		c.closeMedia()
		return nil, fmt.Errorf("%w: INVITE to the outbound trunk: %w", ErrSIP, err)
	}
	opts := sipgo.AnswerOptions{}
	if do.ringing != nil {
		var once sync.Once
		opts.OnResponse = func(res *sip.Response) error {
			if res.StatusCode == sip.StatusRinging || res.StatusCode == sip.StatusSessionInProgress {
				once.Do(do.ringing)
			}
			return nil
		}
	}
	if a := t.cfg.OutboundAuth; a != nil {
		opts.Username, opts.Password = a.User, a.Password
	}
	if err := t.waitAnswer(ctx, dlg, opts, c); err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, fmt.Errorf("trunk: outbound call cancelled: %w", err) // the background wait cleans up
		}
		c.closeMedia()
		_ = dlg.Close()
		var rej *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &rej):
			t.log.Info("trunk: outbound call refused", "code", rej.Res.StatusCode)
			return nil, &RejectedError{Code: rej.Res.StatusCode, Reason: rej.Res.Reason}
		case ctx.Err() != nil:
			return nil, fmt.Errorf("trunk: outbound call cancelled: %w", ctx.Err())
		}
		return nil, fmt.Errorf("%w: outbound call: %w", ErrSIP, err)
	}
	fail := func(err error) (*Call, error) {
		// Answered, but unusable: ACK, then hang up at once.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = dlg.Ack(bctx)
		_ = dlg.Bye(bctx)
		_ = dlg.Close()
		c.closeMedia()
		return nil, err
	}
	ans, err := sdpneg.ReadAnswer(dlg.InviteResponse.Body(), ours...)
	if err == nil && ans.Secure {
		err = setRemote(c.stream.(*rtpstream.SRTP), ans.Crypto) //nolint:forcetypeassert // an SRTP offer made an SRTP stream
	}
	if err != nil {
		t.log.Info("trunk: outbound call's answer refused", "err", err)
		return fail(fmt.Errorf("trunk: the far end's SDP answer: %w", err))
	}
	c.Offer, c.send.PayloadType = ans, ans.AudioPT
	c.src.SDP = ans.Remote
	c.ID, c.From, c.Outbound = dlg.InviteRequest.CallID().Value(), number, true
	if to := dlg.InviteResponse.To(); to != nil {
		c.remoteTag, _ = to.Params.Get("tag")
	}
	if src, err := netip.ParseAddrPort(dlg.InviteResponse.Source()); err == nil {
		c.peer = src.Addr().Unmap() // the far end's requests come from where its answer did
	}
	c.dlg, c.state = dlg, stateAnswered
	c.mu.Lock()
	err = c.startLeg(out, keys)
	c.mu.Unlock()
	if err != nil {
		return fail(err)
	}
	if err := dlg.Ack(ctx); err != nil {
		return fail(fmt.Errorf("%w: ACK: %w", ErrSIP, err))
	}
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return fail(ErrNotServing)
	}
	t.calls[c.ID] = c
	t.wg.Add(1)
	t.mu.Unlock()
	c.heardNow(time.Now())
	c.live.Store(true)
	t.log.Info("trunk: outbound call answered", "call", c.ID, "law", ans.Law.String())
	if t.cfg.Metrics != nil {
		t.cfg.Metrics.CallOffered()
	}
	go c.run() //nolint:contextcheck // the call outlives Dial's ctx: it ends with its dialog
	return c, nil
}

// waitAnswer waits for dlg's final answer, or for ctx. When ctx ends first
// it returns ctx's error at once, and the rest goes on in the background:
// sipgo sends CANCEL once the far end has sent a provisional response (not
// before, RFC 3261 9.1; a far end that sends nothing holds it until the
// INVITE times out, 32 s, or Serve ends), a 200 that crosses the CANCEL is
// ACKed and hung up, and the dialog and c's sockets are closed. Serve gives
// these 2 s before it closes the SIP port, then ends them.
func (t *Trunk) waitAnswer(ctx context.Context, dlg *sipgo.DialogClientSession, opts sipgo.AnswerOptions, c *Call) error {
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	var (
		mu     sync.Mutex
		gaveUp bool
		done   = make(chan error, 1)
	)
	t.bg.Add(1)
	go func() {
		defer t.bg.Done()
		defer wcancel()
		err := dlg.WaitAnswer(wctx, opts)
		mu.Lock()
		if !gaveUp {
			done <- err
			mu.Unlock()
			return
		}
		mu.Unlock()
		if err == nil { // answered as we gave up
			bctx, cancel := context.WithTimeout(context.WithoutCancel(wctx), 2*time.Second) // wctx was cancelled when Dial gave up
			_ = dlg.Ack(bctx)
			_ = dlg.Bye(bctx)
			cancel()
		}
		_ = dlg.Close()
		c.closeMedia()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	select {
	case err := <-done: // the answer came as ctx ended
		return err
	default:
	}
	gaveUp = true
	wcancel()        // CANCEL, in the background
	return ctx.Err() //nolint:wrapcheck // Dial wraps it
}

// outbound parses Config.Outbound: HOST:PORT, or sips:HOST:PORT for TLS.
func outbound(addr string) (host string, port int, overTLS bool, err error) {
	hostPort, overTLS := strings.CutPrefix(addr, "sips:")
	if !overTLS {
		hostPort = strings.TrimPrefix(hostPort, "sip:")
	}
	host, portS, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "", 0, false, fmt.Errorf("%w: the trunk-out setting %q is not HOST:PORT or sips:HOST:PORT: %w", ErrConfig, addr, err)
	}
	port, err = strconv.Atoi(portS)
	if err != nil || port <= 0 || port > 65535 || host == "" {
		return "", 0, false, fmt.Errorf("%w: the trunk-out setting %q is not HOST:PORT or sips:HOST:PORT", ErrConfig, addr)
	}
	return host, port, overTLS, nil
}
