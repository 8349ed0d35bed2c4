package engine

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/maskscore"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/wav"
)

// TestAgentTakesACall: a sipp caller with speech and in-band keys, the
// server's live call path, and this engine as the agent, auto-answering,
// playing a voice and recording what it hears. The agent's recording is
// scored with the masking measures; the server's recording holds the
// agent's voice.
func TestAgentTakesACall(t *testing.T) {
	sipptest.Sipp(t)                                          // skip early without sipp
	in, tones := sipptest.Excerpt(t, "nominal", 36000, 64000) // 8 s with several key presses
	n := len(in)

	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")

	// The agent: its voice is a 440 Hz tone; what it hears goes to a WAV.
	voice := make([]int16, 10*8000)
	for i := range voice {
		voice[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	recPath := filepath.Join(t.TempDir(), "agent.wav")
	f, err := os.Create(recPath)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wav.NewWriter(f, wav.Header{Format: wav.FormatPCM16, Channels: 1, SampleRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	audio := NewFileAudio(voice, w)
	var evMu sync.Mutex
	var events []Event
	agent, err := New(Config{Server: srv.URL, User: "ann", Password: "ann-password", AutoAnswer: true, Audio: audio, Loopback: true,
		OnEvent: func(e Event) { evMu.Lock(); events = append(events, e); evMu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runDone := make(chan error, 1)
	actx, stopAgent := context.WithCancel(ctx)
	go func() { runDone <- agent.Run(actx) }()
	srv.WaitAvailable(t, 1)

	if err := sipptest.Calls(ctx, t, srv.SIPAddr, in, 1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for audio.Calls() < 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stopAgent()
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	if audio.Calls() != 1 {
		t.Fatalf("%d calls ended at the agent", audio.Calls())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()

	// What the agent heard, scored: it starts when the agent's media did,
	// a little after the caller's audio; find that offset first.
	a, err := wav.ReadFile(recPath)
	if err != nil {
		t.Fatal(err)
	}
	heard := a.Samples
	if len(heard) < 6*8000 {
		t.Fatalf("the agent recorded %d samples", len(heard))
	}
	const pad = 16000
	padded := append(make([]int16, pad), heard...)
	rough, err := maskscore.Score(in, padded[:min(len(padded), n)], tones, maskscore.Options{MaxDelay: pad + 400})
	if err != nil {
		t.Fatal(err)
	}
	start := pad + 160 - rough.Delay // the input sample the agent heard first, after the look-ahead
	if start < 0 || start > pad {
		t.Fatalf("the agent's audio starts %d samples into the call", start)
	}
	var shifted []maskscore.Tone
	for _, tn := range tones {
		// A key press under way when the agent's media started (an answer
		// that came late) is clipped to what the agent could hear of it.
		if tn.End > start {
			tn.Start, tn.End = max(tn.Start-start, 0), tn.End-start
			shifted = append(shifted, tn)
		}
	}
	seg := in[start:]
	rep, err := maskscore.Score(seg, heard[:min(len(heard), len(seg))], shifted, maskscore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("agent's recording (from %.2f s into the call): %s", float64(start)/8000, rep)
	lim := maskscore.DefaultLimits()
	if raceDetector {
		// Late packets become silence in the recording, so it is not
		// bit-exact; leaks, the flat tone and the detectors still count.
		lim.MinSpeechSNRDB = math.Inf(-1)
	}
	for _, p := range rep.Problems(lim) {
		t.Error(p)
	}
	for _, d := range maskscore.Detectors() {
		base, err := d.FindSamples(ctx, maskscore.SpeechOnly(&maskscore.Case{Samples: seg, Tones: shifted}))
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.FindSamples(ctx, heard)
		if err != nil {
			t.Fatal(err)
		}
		if extra := maskscore.ExtraDigits(base, got); extra != "" {
			t.Errorf("%s finds %d digit(s) in what the agent heard", d.Name, len(extra))
		}
	}

	// The agent saw the keys only as key.pressed; the payment side got
	// every digit.
	evMu.Lock()
	pressed := 0
	for _, e := range events {
		if e.Type == "key.pressed" {
			pressed++
		}
	}
	evMu.Unlock()
	var downs []byte
	for _, k := range srv.Keys() {
		if k.Phase == dtmf.KeyDown {
			downs = append(downs, k.Digit)
		}
	}
	var want []byte
	for _, tn := range tones {
		if tn.Expect == maskscore.ExpectDetect {
			want = append(want, tn.Digit[0])
		}
	}
	if string(downs) != string(want) || pressed != len(want) {
		t.Fatalf("payment side %q, agent saw %d key.pressed; want %q", downs, pressed, want)
	}

	// The server's recording has the agent's voice on the right.
	recs, err := srv.Store.ListRecordings(ctx, 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("recordings %v %v", recs, err)
	}
	sr, err := wav.ReadFile(filepath.Join(srv.DataDir, recs[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	var c, q float64
	for i := 0; i < sr.Frames(); i++ {
		w := 2 * math.Pi * 440 * float64(i) / 8000
		c += float64(sr.Samples[2*i+1]) * math.Cos(w)
		q += float64(sr.Samples[2*i+1]) * math.Sin(w)
	}
	if amp := 2 * math.Hypot(c, q) / float64(sr.Frames()); amp < 1000 {
		t.Errorf("the agent's voice in the server's recording: 440 Hz at %.0f", amp)
	}
}
