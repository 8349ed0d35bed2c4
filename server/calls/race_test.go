package calls

import (
	"context"
	"errors"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/route"
)

// TestOfferRacingTheEnd: an agent's offer whose leg is made while the
// call ends (the caller hangs up as the agent answers) must not leave the
// leg attached to the ended call: nothing would ever close it, and its
// goroutines (pion's ICE, the leg's RTCP reader) would run until the
// server stops. Seen in e2e's goroutine leak check; reproduced here by
// ending the call between the leg's making and its attaching.
func TestOfferRacingTheEnd(t *testing.T) {
	rig := newLeakRig(t)
	defer rig.stop()
	refusedCaller(t, rig.sipAddr) // a caller who is never answered: the offer needs only the call's agent
	id := next(t, rig.router.inbound)
	rig.mgr.RouteEvent(route.CallAssigned{Call: id, Agent: "ann"})
	rig.mgr.mu.Lock()
	c := rig.mgr.calls[id]
	rig.mgr.mu.Unlock()

	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	rig.mgr.beforeAttach = func(call string) { rig.mgr.end(context.Background(), call) }
	err = rig.mgr.SDP(context.Background(), "ann", id, protocol.KindOffer, offer.SDP)
	if !errors.Is(err, ErrNoCall) {
		t.Errorf("an offer for a call that ended meanwhile: %v, want ErrNoCall", err)
	}
	c.mu.Lock()
	leg := c.leg
	c.mu.Unlock()
	if leg != nil {
		_ = leg.Close()
		t.Error("the leg was attached to the ended call, where nothing closes it")
	}
	// The same for a supervisor who starts listening as the call ends.
	if err := rig.mgr.Listen(context.Background(), "sue", id); !errors.Is(err, ErrNoCall) {
		t.Errorf("listening to an ended call: %v, want ErrNoCall", err)
	}
}
