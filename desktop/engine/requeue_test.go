package engine

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/g711"
)

// TestHeldCallGoesToAnotherAgent: the agent's connection drops mid-call
// and they do not come back within the rejoin timeout (shortened here to
// 1.5 s), so the call goes back to the queue and rings the next agent, who
// answers: the caller, held meanwhile, hears the new agent's voice, and the
// recording's index names both agents.
func TestHeldCallGoesToAnotherAgent(t *testing.T) {
	srv := stacktest.Start(t, stacktest.WithRejoinTimeout(1500*time.Millisecond))
	srv.AddAgent(t, "ann", "ann-password")
	srv.AddAgent(t, "bob", "bob-password")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var events []string
	run := func(name string, audio Audio) (stop func()) {
		return runAgent(ctx, t, Config{Server: srv.URL, User: name, Password: name + "-password", AutoAnswer: true, Loopback: true, Audio: audio,
			OnEvent: func(e Event) {
				mu.Lock()
				events = append(events, name+" "+string(e.Type))
				mu.Unlock()
			}})
	}
	stopAnn := run("ann", nil)
	srv.WaitAvailable(t, 1)
	caller := sipptest.Dial(t, srv.SIPAddr, g711.ULaw, 15*time.Second)
	if _, n := caller.Listen(2 * time.Second); n < 50 {
		t.Fatalf("the caller got %d packets from ann in 2 s", n)
	}
	// bob signs in; ann's connection drops and does not come back.
	voice := make([]int16, 20*8000)
	for i := range voice {
		voice[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	stopBob := run("bob", NewFileAudio(voice, nil))
	defer stopBob()
	srv.WaitAvailable(t, 1) // bob: ann is busy
	stopAnn()

	// Within the rejoin timeout, a ring and an answer, bob is on the call.
	deadline := time.Now().Add(10 * time.Second)
	var heard []byte
	for time.Now().Before(deadline) {
		heard, _ = caller.Listen(500 * time.Millisecond)
		if len(heard) >= 1600 && tone(heard, 1000) > 4000 {
			break
		}
	}
	if a := tone(heard, 1000); a < 4000 {
		t.Fatalf("the caller never heard bob (1000 Hz at %.0f)", a)
	}
	// The hold tone stopped once bob had the call: no 20 ms block of
	// what followed holds a beep (440 Hz at amplitude 2271).
	for range 3 {
		more, _ := caller.Listen(time.Second)
		pcm := make([]int16, len(more))
		g711.DecodeULawTo(pcm, more)
		if amps := blockAmps(pcm, 440); len(amps) > 0 && amps[len(amps)-1] > 500 {
			t.Fatalf("the hold tone (440 Hz at %.0f) goes on while bob talks", amps[len(amps)-1])
		}
	}
	caller.Hangup(t)

	mu.Lock()
	got := append([]string(nil), events...)
	mu.Unlock()
	var bobStarted bool
	for _, e := range got {
		bobStarted = bobStarted || e == "bob call.started"
	}
	if !bobStarted {
		t.Errorf("bob never got call.started: %q", got)
	}
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		recs, err := srv.Store.ListRecordings(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].Agent == "ann,bob" && recs[0].Duration > 0 {
			return
		}
		if len(recs) > 1 {
			t.Fatalf("one call, %d recordings: %+v", len(recs), recs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	recs, _ := srv.Store.ListRecordings(ctx, 0)
	t.Fatalf("recordings %+v: want one, of ann then bob, with its duration", recs)
}

// tone is the amplitude of the hz component of mu-law audio, in its
// median 20 ms block.
func tone(ulaw []byte, hz float64) float64 {
	pcm := make([]int16, len(ulaw))
	g711.DecodeULawTo(pcm, ulaw)
	amps := blockAmps(pcm, hz)
	if len(amps) == 0 {
		return 0
	}
	return amps[len(amps)/2]
}
