package trunk

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/mix"
)

// TestServeStopsEverything: Serve's end stops every goroutine and timer
// the trunk started, with calls in every state when it comes: one
// answered (media, RTCP reports; its caller never answers our BYE) and one
// ringing with ringback (its caller never acknowledges our 480, so that
// wait goes on in the background until Serve closes the SIP stack).
func TestServeStopsEverything(t *testing.T) {
	before := goleak.IgnoreCurrent()
	rb := RingbackUK
	offered := make(chan *Call, 2)
	var calls atomic.Int32
	tr, err := New(Config{
		SIPAddr: "127.0.0.1:" + strconv.Itoa(freePort(t)), Ringback: &rb, RTCPInterval: 50 * time.Millisecond,
		OnCall: func(c *Call) {
			if err := c.Ring(); err != nil {
				t.Errorf("Ring: %v", err)
			}
			if calls.Add(1) == 1 {
				time.Sleep(100 * time.Millisecond) // some ringback
				if err := c.Answer(func([]byte) {}, func(dtmf.Event) {}); err != nil {
					t.Errorf("Answer: %v", err)
				}
				if err := c.Send(make([]byte, mix.FrameSamples)); err != nil {
					t.Errorf("Send: %v", err)
				}
			}
			offered <- c
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := tr.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- tr.Serve(ctx) }()
	addr := tr.cfg.SIPAddr

	answered := newRawCaller(t, addr, nil)
	answered.send("INVITE", 1, "Content-Type: application/sdp\r\n", answered.offer(""))
	answered.until(200, 3*time.Second)
	answered.send("ACK", 1, "", "")
	<-offered

	ringing := newRawCaller(t, addr, nil)
	ringing.send("INVITE", 1, "Content-Type: application/sdp\r\n", ringing.offer(""))
	ringing.until(183, 3*time.Second)
	<-offered
	time.Sleep(100 * time.Millisecond) // some ringback and RTCP reports

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return")
	}
	goleak.VerifyNone(t, before)
}
