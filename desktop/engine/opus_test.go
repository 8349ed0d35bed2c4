package engine

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/hushphone/hushphone/internal/opus"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/wav"
)

// toneBlocks is the amplitude of hz in each 20 ms block of s where it is
// above floor (the blocks that carry the tone), sorted, and the median
// ratio in those blocks of the tone to everything else, in dB.
func toneBlocks(s []int16, hz, floor float64) (amps []float64, cleanDB float64) {
	var ratios []float64
	for i := 0; i+160 <= len(s); i += 160 {
		b := s[i : i+160]
		a := toneAmp(b, hz)
		if a < floor {
			continue
		}
		var sum float64
		for _, v := range b {
			sum += float64(v) * float64(v)
		}
		rest := math.Sqrt(math.Max(sum/160-a*a/2, 1e-9))
		amps = append(amps, a)
		ratios = append(ratios, 20*math.Log10(a/math.Sqrt2/rest))
	}
	if len(amps) == 0 {
		return nil, 0
	}
	slices.Sort(amps)
	slices.Sort(ratios)
	return amps, ratios[len(ratios)/2]
}

func dB(a, b float64) float64 { return 20 * math.Log10(a/b) }

// TestOpusAgentTakesACall: an agent with Codec "opus" takes a sipp call.
// The caller plays a 1 kHz tone, the agent's voice is a 400 Hz tone. The
// agent's leg runs Opus both ways (the server transcodes to and from the
// call's PCMU): the agent hears the caller's tone at the level the
// server's recording has it (within 1 dB), and the recording has the
// agent's voice at the level it was spoken (within 1 dB).
func TestOpusAgentTakesACall(t *testing.T) {
	if !opus.Available {
		t.Skip("built without cgo: no Opus")
	}
	sipptest.Sipp(t) // skip early without sipp
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")

	const amp = 8000
	voice := make([]int16, 10*8000)
	for i := range voice {
		voice[i] = int16(amp * math.Sin(2*math.Pi*400*float64(i)/8000))
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
	agent, err := New(Config{Server: srv.URL, User: "ann", Password: "ann-password", AutoAnswer: true, Audio: audio,
		Loopback: true, Codec: "opus"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runDone := make(chan error, 1)
	actx, stopAgent := context.WithCancel(ctx)
	go func() { runDone <- agent.Run(actx) }()
	srv.WaitAvailable(t, 1)

	// The caller: 6 s of 1 kHz, then silence until it hangs up.
	in := make([]int16, 6*8000)
	for i := range in {
		in[i] = int16(amp * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	if err := sipptest.Calls(ctx, t, srv.SIPAddr, in, 1); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); audio.Calls() < 1 && time.Now().Before(deadline); {
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
	if c, _ := agent.heardCodec.Load().(string); !strings.EqualFold(c, webrtc.MimeTypeOpus) {
		t.Fatalf("the agent heard the server over %q, want Opus", c)
	}

	// The server's recording: the masked caller left, the agent right.
	recs, err := srv.Store.ListRecordings(ctx, 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("recordings %v %v", recs, err)
	}
	sr, err := wav.ReadFile(filepath.Join(srv.DataDir, recs[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	left, right := make([]int16, sr.Frames()), make([]int16, sr.Frames())
	for i := range left {
		left[i], right[i] = sr.Samples[2*i], sr.Samples[2*i+1]
	}
	a, err := wav.ReadFile(recPath)
	if err != nil {
		t.Fatal(err)
	}

	const floor = amp / 4 // blocks carrying the tone (12 dB down at most)
	callerRec, _ := toneBlocks(left, 1000, floor)
	heard, heardClean := toneBlocks(a.Samples, 1000, floor)
	spoken, spokenClean := toneBlocks(right, 400, floor)
	if len(callerRec) < 150 || len(heard) < 150 || len(spoken) < 150 {
		t.Fatalf("20 ms blocks with the tone: %d of the caller in the recording, %d heard by the agent, %d of the agent in the recording; want 150 (3 s) each",
			len(callerRec), len(heard), len(spoken))
	}
	med := func(x []float64) float64 { return x[len(x)/2] }
	t.Logf("caller's 1 kHz: %.0f sent, %.0f in the recording, %.0f heard by the agent over Opus (%+.2f dB; the rest %.1f dB below), %d blocks",
		float64(amp), med(callerRec), med(heard), dB(med(heard), med(callerRec)), heardClean, len(heard))
	t.Logf("agent's 400 Hz: %.0f spoken, %.0f in the recording after Opus (%+.2f dB; the rest %.1f dB below), %d blocks",
		float64(amp), med(spoken), dB(med(spoken), amp), spokenClean, len(spoken))
	if d := dB(med(heard), med(callerRec)); math.Abs(d) > 1 {
		t.Errorf("the agent heard the caller's tone at %+.2f dB from the recording's, want within 1 dB", d)
	}
	if d := dB(med(spoken), amp); math.Abs(d) > 1 {
		t.Errorf("the recording has the agent's voice at %+.2f dB from what was spoken, want within 1 dB", d)
	}
	if heardClean < 20 || spokenClean < 20 {
		t.Errorf("the tones are only %.1f dB (caller, at the agent) and %.1f dB (agent, in the recording) above the rest, want 20 dB",
			heardClean, spokenClean)
	}
}

func TestCodecConfig(t *testing.T) {
	for _, c := range []string{"", "pcmu", "PCMU", "opus"} {
		if _, err := New(Config{Server: "http://127.0.0.1:1", User: "ann", Codec: c}); err != nil && (c != "opus" || opus.Available) {
			t.Errorf("Codec %q: %v", c, err)
		}
	}
	if _, err := New(Config{Server: "http://127.0.0.1:1", User: "ann", Codec: "g722"}); !errors.Is(err, ErrConfig) {
		t.Errorf("Codec g722: %v, want ErrConfig", err)
	}
}
