package trunk

import (
	"context"
	"net"
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

// TestRequestsDuringShutdownLeaveNothing: requests that keep arriving
// while Serve ends (a peer's retransmissions, its ACKs and BYEs, anyone's
// OPTIONS) must not leave a socket behind. sipgo hands each request to a
// goroutine of its own and, when the socket it came in on has already
// been let go, opens a new one to answer from, which nobody would close.
func TestRequestsDuringShutdownLeaveNothing(t *testing.T) {
	before := goleak.IgnoreCurrent()
	for round := range 5 {
		tr, err := New(Config{SIPAddr: "127.0.0.1:" + strconv.Itoa(freePort(t)), OnCall: func(*Call) {}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := tr.Listen(ctx); err != nil {
			cancel()
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- tr.Serve(ctx) }()
		<-tr.serving
		stop := make(chan struct{})
		flooded := make(chan struct{})
		go func() {
			defer close(flooded)
			floodOptions(t, tr.cfg.SIPAddr, stop)
		}()
		time.Sleep(20 * time.Millisecond)
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Fatalf("round %d: Serve: %v", round, err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("round %d: Serve did not return", round)
		}
		close(stop)
		<-flooded
	}
	goleak.VerifyNone(t, before)
}

// floodOptions sends OPTIONS to addr from a few sockets, each with a Via
// naming a port nobody listens on, as fast as it can until stop.
func floodOptions(t *testing.T, addr string, stop <-chan struct{}) {
	var conns []net.Conn
	for range 4 {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		c := conns[i%len(conns)]
		msg := "OPTIONS sip:hushphone@" + addr + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-flood" + strconv.Itoa(i) + "\r\n" +
			"From: <sip:flood@127.0.0.1>;tag=f" + strconv.Itoa(i) + "\r\n" +
			"To: <sip:hushphone@" + addr + ">\r\n" +
			"Call-ID: flood-" + strconv.Itoa(i) + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
		_, _ = c.Write([]byte(msg))
		if i%64 == 63 {
			time.Sleep(time.Millisecond)
		}
	}
}
