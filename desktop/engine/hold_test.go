package engine

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/g711"
)

// level440 is the level, in dBm0, of the 440 Hz in one frame of mu-law.
func level440(frame []byte) float64 {
	var re, im float64
	for i, b := range frame {
		x := float64(g711.DecodeULaw(b))
		ph := 2 * math.Pi * 440 * float64(i) / 8000
		re += x * math.Cos(ph)
		im -= x * math.Sin(ph)
	}
	amp := 2 * math.Hypot(re, im) / float64(len(frame))
	return 20 * math.Log10(amp/22706+1e-12) // 0 dBm0: a sine of peak 22706
}

// TestCallerHearsTheHoldToneWhileTheAgentIsAway: the agent's connection
// drops mid-call. The caller hears the server's hold tone (two soft 440 Hz
// beeps every 4 s), not a dead line, until the agent signs in again and
// rejoins the call; then the agent's audio comes back and the tone stops.
func TestCallerHearsTheHoldToneWhileTheAgentIsAway(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run := func() (stop func()) {
		return runAgent(ctx, t, Config{Server: srv.URL, User: "ann", Password: "ann-password", AutoAnswer: true, Loopback: true})
	}
	stop := run()
	srv.WaitAvailable(t, 1)
	caller := sipptest.Dial(t, srv.SIPAddr, g711.ULaw, 15*time.Second)

	// The agent's audio (silence: this agent has no microphone) reaches
	// the caller once the agent's WebRTC leg is up.
	if _, n := caller.Listen(3 * time.Second); n < 50 {
		t.Fatalf("the caller got %d packets from the agent in 3 s", n)
	}

	// The agent's connection drops: the hold tone.
	stop()
	held, n := caller.Listen(4500 * time.Millisecond)
	if n < 180 {
		t.Fatalf("on hold, the caller got %d packets in 4.5 s, want a steady stream (225)", n)
	}
	loud, peak := 0, -200.0
	for i := 0; i+160 <= len(held); i += 160 {
		l := level440(held[i : i+160])
		peak = max(peak, l)
		if l > -30 {
			loud++
		}
	}
	t.Logf("on hold: %d packets, %d of them beeping, loudest %.1f dBm0 at 440 Hz", n, loud, peak)
	// One 4 s cycle holds 20 frames of beep; 4.5 s may catch part of a
	// second cycle.
	if loud < 15 || loud > 40 {
		t.Errorf("%d frames of beep in 4.5 s, want two 200 ms beeps every 4 s (20 frames a cycle)", loud)
	}
	if math.Abs(peak+20) > 1.5 {
		t.Errorf("the hold tone peaks at %.1f dBm0, want -20", peak)
	}

	// The agent signs in again and rejoins: their audio, no more tone.
	stop = run()
	defer stop()
	caller.Listen(2 * time.Second) // the new WebRTC leg comes up
	back, n := caller.Listen(2 * time.Second)
	if n < 80 {
		t.Fatalf("after the rejoin the caller got %d packets in 2 s", n)
	}
	for i := 0; i+160 <= len(back); i += 160 {
		if l := level440(back[i : i+160]); l > -40 {
			t.Fatalf("the hold tone goes on after the rejoin (%.1f dBm0 at frame %d)", l, i/160)
		}
	}
	caller.Hangup(t)
}

// runAgent runs an agent until the returned stop, which waits for it and
// fails the test if it failed.
func runAgent(ctx context.Context, t *testing.T, cfg Config) (stop func()) {
	t.Helper()
	agent, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	actx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- agent.Run(actx) }()
	return func() {
		stopRun()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
