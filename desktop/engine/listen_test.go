package engine

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/maskscore"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/server/store"
)

// earAudio keeps everything heard, and counts calls.
type earAudio struct {
	mu             sync.Mutex
	heard          []int16
	started, ended int
}

func (e *earAudio) Mic(f []int16) { clear(f) }
func (e *earAudio) Speaker(f []int16) {
	e.mu.Lock()
	e.heard = append(e.heard, f...)
	e.mu.Unlock()
}
func (e *earAudio) CallStarted(string) { e.mu.Lock(); e.started++; e.mu.Unlock() }
func (e *earAudio) CallEnded(string)   { e.mu.Lock(); e.ended++; e.mu.Unlock() }

// toneAmp is the amplitude of s's component at hz.
func toneAmp(s []int16, hz float64) float64 {
	var c, q float64
	for i, v := range s {
		w := 2 * math.Pi * hz * float64(i) / 8000
		c += float64(v) * math.Cos(w)
		q += float64(v) * math.Sin(w)
	}
	return 2 * math.Hypot(c, q) / float64(max(len(s), 1))
}

// blockAmps is the amplitude of hz in each 20 ms block of s, sorted: a
// stream that lost or repeated a frame keeps its level block by block,
// where one transform over the whole would see the phase jump.
func blockAmps(s []int16, hz float64) []float64 {
	var out []float64
	for i := 0; i+160 <= len(s); i += 160 {
		out = append(out, toneAmp(s[i:i+160], hz))
	}
	slices.Sort(out)
	return out
}

// TestSupervisorListensIn: a sipp caller with speech and in-band keys, an
// agent (this engine, its voice a 440 Hz tone) and a supervisor (this
// engine too) who listens in once the call is active. The supervisor hears
// the masked caller (the flat masking tone, no key any detector finds) mixed
// with the agent's voice, is told when the call ends, and the agent is told
// nothing about it.
func TestSupervisorListensIn(t *testing.T) {
	sipptest.Sipp(t)                                          // skip early without sipp
	in, tones := sipptest.Excerpt(t, "nominal", 36000, 64000) // 8 s with several key presses

	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	srv.AddUser(t, "sue", store.RoleSupervisor, "sue-password")

	voice := make([]int16, 10*8000)
	for i := range voice {
		voice[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	var evMu sync.Mutex
	var annEvents []Event
	ann, err := New(Config{Server: srv.URL, User: "ann", Password: "ann-password", AutoAnswer: true,
		Audio: NewFileAudio(voice, nil), Loopback: true,
		OnEvent: func(e Event) { evMu.Lock(); annEvents = append(annEvents, e); evMu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	ear := &earAudio{}
	var sue *Agent
	var sueErrs []string
	listening := false
	var callID string
	sue, err = New(Config{Server: srv.URL, User: "sue", Password: "sue-password", OTP: srv.OTP("sue"), Audio: ear, Loopback: true,
		OnEvent: func(e Event) {
			// From the engine's goroutine: Listen only queues a message.
			switch e.Type {
			case "calls":
				for _, c := range e.Calls {
					if c.State == "active" && !listening {
						listening = true
						evMu.Lock()
						callID = c.Call
						evMu.Unlock()
						go func() { _ = sue.Listen(context.Background(), c.Call) }()
					}
				}
			case "error":
				evMu.Lock()
				sueErrs = append(sueErrs, string(e.Code))
				evMu.Unlock()
				if e.Code == "not_active" { // taken a moment later: try again
					go func() {
						time.Sleep(50 * time.Millisecond)
						evMu.Lock()
						id := callID
						evMu.Unlock()
						_ = sue.Listen(context.Background(), id)
					}()
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, a := range []*Agent{ann, sue} {
		wg.Go(func() {
			if err := a.Run(ctx); err != nil {
				t.Errorf("%s: %v", a.cfg.User, err)
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()
	srv.WaitAvailable(t, 1)

	if err := sipptest.Calls(ctx, t, srv.SIPAddr, in, 1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ear.mu.Lock()
		done := ear.ended
		ear.mu.Unlock()
		if done > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The call is over: listening to it again is refused.
	evMu.Lock()
	id := callID
	evMu.Unlock()
	if err := sue.Listen(ctx, id); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		evMu.Lock()
		last := ""
		if len(sueErrs) > 0 {
			last = sueErrs[len(sueErrs)-1]
		}
		evMu.Unlock()
		if last == "no_call" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	ear.mu.Lock()
	heard := append([]int16(nil), ear.heard...)
	started, ended := ear.started, ear.ended
	ear.mu.Unlock()
	evMu.Lock()
	defer evMu.Unlock()
	if started != 1 || ended != 1 {
		t.Fatalf("the supervisor's listening started %d and ended %d times (errors %v)", started, ended, sueErrs)
	}
	if len(sueErrs) == 0 || sueErrs[len(sueErrs)-1] != "no_call" {
		t.Errorf("listening to a call that ended: errors %v, want no_call last", sueErrs)
	}
	for _, code := range sueErrs[:max(len(sueErrs)-1, 0)] {
		if code != "not_active" {
			t.Errorf("the supervisor got error %s", code)
		}
	}
	if len(heard) < 5*8000 {
		t.Fatalf("the supervisor heard %.1f s of an 8 s call", float64(len(heard))/8000)
	}
	// The agent's voice is in the mix (the median block)...
	voiceAmps := blockAmps(heard, 440)
	if a := voiceAmps[len(voiceAmps)/2]; a < 4000 {
		t.Errorf("the agent's voice (440 Hz, amplitude 8000) reaches the supervisor at %.0f", a)
	}
	// ...and so is the masked caller: the keys as the flat tone only
	// (-18 dBm0 is an amplitude of about 2860).
	toneAmps := blockAmps(heard, 2000)
	flat := 0
	for _, a := range toneAmps {
		if a > 1500 {
			flat++
		}
	}
	if flat < 10 {
		t.Errorf("the flat masking tone in %d blocks of what the supervisor heard, want every key press's", flat)
	}
	for _, d := range maskscore.Detectors() {
		base, err := d.FindSamples(ctx, maskscore.SpeechOnly(&maskscore.Case{Samples: in, Tones: tones}))
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.FindSamples(ctx, heard)
		if err != nil {
			t.Fatal(err)
		}
		if extra := maskscore.ExtraDigits(base, got); extra != "" {
			t.Errorf("%s finds %d digit(s) in what the supervisor heard", d.Name, len(extra))
		}
	}
	// Listening is silent: the agent heard of none of it.
	for _, e := range annEvents {
		if strings.HasPrefix(string(e.Type), "listen") {
			t.Errorf("the agent got %s", e.Type)
		}
	}
	t.Logf("supervisor heard %.1f s: agent's voice at %.0f (median block), the flat tone in %d blocks", float64(len(heard))/8000, voiceAmps[len(voiceAmps)/2], flat)
}
