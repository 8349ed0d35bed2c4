package e2e

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/internal/testing/maskscore"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/wav"
)

// The two voices: a different frequency each way, so that an echo or a
// loop cannot pass for the other side. Each falls on a bin of the 20 ms
// analysis block, and neither is a harmonic of the other's repeat rate:
// mu-law's quantization error of a tone repeats with it (600 Hz repeats
// every 40 samples, so its error has a line at 1000 Hz, 51 dB down),
// while 800 and 1000 Hz repeat every 10 and 8 samples.
const (
	callerHz  = 1000 // baresip's microphone
	callerAmp = 8000 // -12.3 dBFS
	agentHz   = 800  // the agent's microphone
	agentAmp  = 6000 // -14.7 dBFS
	talk      = 6 * time.Second
)

// TestBaresipCallsAnAgent: baresip, a real SIP client, calls the whole
// stack on loopback; the Go agent engine, signed in and auto-answering,
// takes the call. Each side plays a tone and records what it hears; after
// 6 s baresip hangs up. Both directions are checked from the audio: the
// agent heard baresip's tone, baresip heard the agent's, at the level sent
// (G.711 both ways), for at least half the call, none of its own tone; and
// the server's recording has the caller on the left, the agent on the
// right.
func TestBaresipCallsAnAgent(t *testing.T) {
	baresipPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")

	dir := t.TempDir()
	agentRec := filepath.Join(dir, "agent-heard.wav")
	f, err := os.Create(agentRec)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wav.NewWriter(f, wav.Header{Format: wav.FormatPCM16, Channels: 1, SampleRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	audio := engine.NewFileAudio(sine(20*8000, agentHz, agentAmp), w)
	agent, err := engine.New(engine.Config{Server: srv.URL, User: "ann", Password: "ann-password", AutoAnswer: true, Audio: audio, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	actx, stopAgent := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- agent.Run(actx) }()
	stop := sync.OnceValue(func() error { stopAgent(); return <-runDone })
	defer func() { _ = stop() }()
	srv.WaitAvailable(t, 1)

	// baresip's microphone: longer than the call, so that aufile's end of
	// file (which it reports as an audio error) does not come first.
	callerWAV := filepath.Join(dir, "caller.wav")
	if err := maskscore.WriteWAV(callerWAV, sine(20*8000, callerHz, callerAmp)); err != nil {
		t.Fatal(err)
	}
	b := startBaresip(ctx, t, callerWAV)
	start := time.Now()
	b.command(ctx, "dial", "sip:agent@"+srv.SIPAddr)
	b.waitEvent(ctx, "CALL_ESTABLISHED")
	t.Logf("baresip's call established %v after dialling", time.Since(start).Round(time.Millisecond))
	select {
	case <-time.After(talk):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	b.command(ctx, "hangup", "")
	b.waitEvent(ctx, "CALL_CLOSED")
	b.quit(ctx)

	for audio.Calls() < 1 && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if audio.Calls() != 1 {
		t.Fatalf("%d calls ended at the agent", audio.Calls())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()

	// On a busy machine baresip falls behind real time: aufile sleeps
	// 4 ms between 20 ms frames and sends one frame per wake-up, so when
	// wake-ups come late it sends fewer frames than the call lasts (seen:
	// 4.3 s in a 6.4 s call at a load average of 8 on 2 cores), and all
	// that follows from its packets (what the agent hears, the server's
	// recording, clocked by the caller) is as short. So each recording must
	// hold its tone for at least half the call, in runs of 2 s or more, and
	// the agent and the server's recording must have what baresip sent,
	// less at most 0.3 s (frames in flight when the call ended).
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("load average: %s", strings.TrimSpace(string(load)))

	// expect checks that x holds hz at level dBFS (within 1 dB: G.711 both
	// ways, no gain anywhere) for at least half the call, and nothing
	// steady at other: no block where it dominates, and over the whole
	// recording 50 dB or more below level (an echo or a loop of the other
	// side's tone for even a tenth of the call would be 20 dB below).
	expect := func(what string, x []int16, hz, level, other float64) toneStats {
		t.Helper()
		st := measureTone(x, hz)
		o := measureTone(x, other)
		t.Logf("%s: %.2f s recorded; %.0f Hz in %.2f s (longest run %.2f s) at %.2f dBFS (sent at %.2f); %.0f Hz: %d blocks, %.1f dBFS over the whole",
			what, float64(len(x))/8000, hz, st.Seconds, st.Longest, st.Level, level, other, o.Blocks, math.Max(o.Steady, -200))
		if d := float64(len(x)) / 8000; d > talk.Seconds()+2 {
			t.Errorf("%s: %.2f s recorded of a %v call", what, d, talk)
		}
		if st.Seconds < talk.Seconds()/2 || st.Longest < 2 {
			t.Errorf("%s: %.0f Hz for %.2f s (longest run %.2f s) of a %v call", what, hz, st.Seconds, st.Longest, talk)
		}
		if math.Abs(st.Level-level) > 1 {
			t.Errorf("%s: %.0f Hz at %.2f dBFS, sent at %.2f", what, hz, st.Level, level)
		}
		if o.Blocks > 0 || o.Steady > level-50 {
			t.Errorf("%s: %.0f Hz, which does not belong there, is there too (%d blocks, %.1f dBFS over the whole)", what, other, o.Blocks, o.Steady)
		}
		return st
	}
	dump := func(dir string) []int16 {
		t.Helper()
		a, err := wav.ReadFile(b.dump(dir))
		if err != nil {
			t.Fatal(err)
		}
		if a.SampleRate != 8000 || a.Channels != 1 {
			t.Fatalf("baresip's %s dump is %d Hz, %d channels", dir, a.SampleRate, a.Channels)
		}
		return a.Samples
	}
	heard, err := wav.ReadFile(agentRec)
	if err != nil {
		t.Fatal(err)
	}
	sent := expect("baresip sent", dump("enc"), callerHz, dbfs(callerAmp), agentHz)
	agentHeard := expect("the agent heard", heard.Samples, callerHz, dbfs(callerAmp), agentHz)
	expect("baresip heard", dump("dec"), agentHz, dbfs(agentAmp), callerHz)

	recs, err := srv.Store.ListRecordings(ctx, 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("recordings %v %v", recs, err)
	}
	sr, err := wav.ReadFile(filepath.Join(srv.DataDir, recs[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	if sr.Channels != 2 || sr.SampleRate != 8000 {
		t.Fatalf("the server's recording is %d Hz, %d channels", sr.SampleRate, sr.Channels)
	}
	left := expect("the server's recording, left (caller)", channel(sr.Samples, 2, 0), callerHz, dbfs(callerAmp), agentHz)
	expect("the server's recording, right (agent)", channel(sr.Samples, 2, 1), agentHz, dbfs(agentAmp), callerHz)
	for _, got := range []struct {
		what string
		st   toneStats
	}{{"the agent", agentHeard}, {"the server's recording", left}} {
		if got.st.Seconds < sent.Seconds-0.3 {
			t.Errorf("%s got %.2f s of the %.2f s of tone baresip sent", got.what, got.st.Seconds, sent.Seconds)
		}
	}
}
