package trunk

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/maskscore"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mask"
	"github.com/hushphone/hushphone/server/callerleg"
)

// TestSippInBandKeysAreMasked: sipp streams 8 s of the corpus's nominal
// case (speech and key presses, in-band) as the caller; what the trunk
// gives out is judged with the corpus measures, and each key is reported
// once with its digit; at the default 20 ms look-ahead and at the
// mask-lookahead setting's 40 ms, whose added latency is 20 ms more.
func TestSippInBandKeysAreMasked(t *testing.T) {
	t.Parallel() // a trunk, ports and peer of its own, and no log it reads
	for _, la := range []time.Duration{0, 40 * time.Millisecond} {
		t.Run(fmt.Sprintf("look-ahead %v", max(la, mask.DefaultLookahead)), func(t *testing.T) {
			t.Parallel()
			sippInBandKeys(t, la)
		})
	}
}

// sippInBandKeys is TestSippInBandKeysAreMasked with the trunk's
// MaskLookahead la (0: the default).
func sippInBandKeys(t *testing.T, la time.Duration) {
	bin := sipptest.Sipp(t)
	// 8 s from 4.5 s: several key presses between sentences.
	in, tones := sipptest.Excerpt(t, "nominal", 36000, 64000)
	n := len(in)
	if len(tones) < 5 {
		t.Fatalf("only %d key presses in the excerpt", len(tones))
	}
	audio := make([]byte, n)
	g711.EncodeULawTo(audio, in)

	work := t.TempDir()
	if err := sipptest.WritePCAP(filepath.Join(work, "caller.pcap"), audio); err != nil {
		t.Fatal(err)
	}
	scen := sipptest.CallerScenario(n/8 + 1000)
	if err := os.WriteFile(filepath.Join(work, "caller.xml"), scen, 0o644); err != nil {
		t.Fatal(err)
	}

	var out []byte
	var keys []dtmf.Event
	lat := &latencies{}
	addr, got, _ := startTrunkCfg(t, Config{Metrics: lat, MaskLookahead: la}, func(got *answered, call *Call) {
		_ = call.Answer(func(f []byte) {
			got.mu.Lock()
			out = append(out, f...)
			got.mu.Unlock()
		}, func(e dtmf.Event) {
			got.mu.Lock()
			keys = append(keys, e)
			got.mu.Unlock()
		})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-sf", "caller.xml", "-s", "hushphone", "-m", "1", "-i", "127.0.0.1",
		"-p", strconv.Itoa(freePort(t)), "-mp", strconv.Itoa(freePort(t)), "-timeout", "40s", "-timeout_error", "-nostdin", addr)
	cmd.Dir = work
	cmd.WaitDelay = 5 * time.Second // a killed sipp's pipes must not hold the test
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, log.String())
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.calls) != 1 || got.calls[0].From != "0123456789" {
		t.Fatalf("calls %v", got.calls)
	}

	// What the trunk gave out, back on the input's time line.
	heard := make([]int16, len(out))
	g711.DecodeULawTo(heard, out)
	if len(heard) < n {
		t.Fatalf("%d samples out for %d in", len(heard), n)
	}
	rep, err := maskscore.Score(in, heard[:n], tones, maskscore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("through sipp and the trunk: %s", rep)
	for _, p := range rep.Problems(maskscore.DefaultLimits()) {
		t.Error(p)
	}
	var downs []byte
	for _, k := range keys {
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
	if string(downs) != string(want) {
		t.Fatalf("keys %q, want %q", downs, want)
	}
	// The server's added latency, frame by frame: the look-ahead and the
	// processing.
	lat.mu.Lock()
	d := append([]time.Duration(nil), lat.d...)
	lat.mu.Unlock()
	if len(d) < 300 || lat.offered != 1 || lat.ended != 1 {
		t.Fatalf("metrics: %d latencies, %d offered, %d ended", len(d), lat.offered, lat.ended)
	}
	slices.Sort(d)
	p50, p99 := d[len(d)/2], d[len(d)*99/100]
	t.Logf("added latency over %d frames: p50 %v, p99 %v", len(d), p50, p99)
	la = max(la, mask.DefaultLookahead)
	if p50 < la || p99 > la+40*time.Millisecond {
		t.Errorf("added latency p50 %v p99 %v: want the %v look-ahead and well under %v", p50, p99, la, la+40*time.Millisecond)
	}
	// Independent detectors find nothing in what was given out.
	for _, d := range maskscore.Detectors() {
		base, err := d.FindSamples(ctx, maskscore.SpeechOnly(&maskscore.Case{Samples: in, Tones: tones}))
		if err != nil {
			t.Fatal(err)
		}
		found, err := d.FindSamples(ctx, heard[rep.Delay:][:n-rep.Delay])
		if err != nil {
			t.Fatal(err)
		}
		if extra := maskscore.ExtraDigits(base, found); extra != "" {
			t.Errorf("%s finds %d digit(s) beyond the speech alone", d.Name, len(extra))
		}
	}
}

// latencies records what the trunk reports, as server/metrics would.
type latencies struct {
	mu             sync.Mutex
	d              []time.Duration
	offered, ended int
}

func (l *latencies) CallOffered() { l.mu.Lock(); l.offered++; l.mu.Unlock() }

func (l *latencies) CallEnded(callerleg.Stats) { l.mu.Lock(); l.ended++; l.mu.Unlock() }

func (l *latencies) AddedLatency(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) SIPRefused(string, string) {}

func (l *latencies) RTPStranger(string) {}

func (l *latencies) CallCut(string) {}
