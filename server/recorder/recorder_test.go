package recorder

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/wav"
)

func sine(hz float64, n, off int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(6000 * math.Sin(2*math.Pi*hz*float64(off+i)/8000))
	}
	return s
}

func TestStereoOnTheCallersClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "call.wav")
	r, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var wantL, wantR []int16
	payload := make([]byte, 160)
	for f := 0; f < 100; f++ { // 2 s
		caller := sine(2000, 160, f*160)
		g711.EncodeULawTo(payload, caller)
		dec := make([]int16, 160)
		g711.DecodeULawTo(dec, payload)
		wantL = append(wantL, dec...)
		agent := make([]int16, 160) // the agent says nothing for the first second
		if f >= 50 {
			agent = sine(440, 160, f*160)
			if err := r.Agent(agent); err != nil {
				t.Fatal(err)
			}
		}
		wantR = append(wantR, agent...)
		if err := r.Caller(payload, g711.ULaw); err != nil {
			t.Fatal(err)
		}
	}
	if d := r.Duration().Seconds(); d != 2 {
		t.Fatalf("duration %v", d)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	a, err := wav.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Channels != 2 || a.SampleRate != 8000 || a.Format != wav.FormatPCM16 || a.Frames() != 16000 {
		t.Fatalf("recording %+v, %d frames", a.Header, a.Frames())
	}
	for i := 0; i < 16000; i++ {
		if a.Samples[2*i] != wantL[i] || a.Samples[2*i+1] != wantR[i] {
			t.Fatalf("sample %d: %d/%d, want %d/%d", i, a.Samples[2*i], a.Samples[2*i+1], wantL[i], wantR[i])
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	if err := r.Caller(payload, g711.ULaw); !errors.Is(err, ErrClosed) {
		t.Fatalf("Caller after Close: %v", err)
	}
}

// TestPlayableWhenCutOff: a server killed mid-call leaves a file that
// readers, ours and sox, play up to its last flushed second.
func TestPlayableWhenCutOff(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "call.wav")
	r, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 160)
	g711.EncodeULawTo(payload, sine(1000, 160, 0))
	for f := 0; f < 130; f++ { // 2.6 s, never closed
		if err := r.Caller(payload, g711.ULaw); err != nil {
			t.Fatal(err)
		}
	}
	// What a crash leaves: the file as it is on disk now.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.wav")
	if err := os.WriteFile(cut, b, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := wav.ReadFile(cut)
	if err != nil {
		t.Fatal(err)
	}
	if a.Frames() < 16000 {
		t.Fatalf("%d frames readable, want at least the 2 s flushed", a.Frames())
	}
	if soxi, err := exec.LookPath("soxi"); err == nil {
		out, err := exec.Command(soxi, "-D", cut).CombinedOutput()
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), "2") {
			t.Fatalf("soxi says %q (%v), want 2 s and more", out, err)
		}
	}
	_ = r.Close()
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "call.wav")
	r, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := Create(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second recording over the first: %v", err)
	}
	if err := r.Caller(make([]byte, 80), g711.ULaw); !errors.Is(err, ErrFrame) {
		t.Fatalf("short frame: %v", err)
	}
	if err := r.Agent(make([]int16, 320)); !errors.Is(err, ErrFrame) {
		t.Fatalf("long agent frame: %v", err)
	}
	if _, err := Create(filepath.Join(dir, "no", "such", "folder.wav")); err == nil {
		t.Fatal("a recording in a missing folder")
	}
}

// TestAgentKeptWhenCallerStops: the caller's RTP stops a second and a
// half before the call ends (as a caller's often does before its BYE);
// the agent's voice goes on. The recording holds both sides to the end:
// the agent's last 1.5 s beside silence, in order, none dropped (before,
// the backlog dropped all but the last 200 ms).
func TestAgentKeptWhenCallerStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "call.wav")
	r, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 160)
	g711.EncodeULawTo(payload, sine(2000, 160, 0))
	var wantR []int16
	for f := 0; f < 125; f++ { // 2.5 s of the agent; the caller's first second
		agent := sine(440, 160, f*160)
		wantR = append(wantR, agent...)
		if err := r.Agent(agent); err != nil {
			t.Fatal(err)
		}
		if f < 50 {
			if err := r.Caller(payload, g711.ULaw); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := wav.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Frames() != 125*160 {
		t.Fatalf("%d frames recorded, want %d (2.5 s: the agent's whole side)", a.Frames(), 125*160)
	}
	for i := 0; i < 125*160; i++ {
		if a.Samples[2*i+1] != wantR[i] {
			t.Fatalf("agent sample %d: %d, want %d", i, a.Samples[2*i+1], wantR[i])
		}
		if i >= 50*160 && a.Samples[2*i] != 0 {
			t.Fatalf("caller sample %d after the caller stopped: %d, want silence", i, a.Samples[2*i])
		}
	}
}

func TestAgentBacklogIsBounded(t *testing.T) {
	r, err := Create(filepath.Join(t.TempDir(), "call.wav"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; i < 3*agentBacklog; i++ {
		if err := r.Agent(make([]int16, 160)); err != nil {
			t.Fatal(err)
		}
	}
	if r.n != agentBacklog {
		t.Fatalf("%d agent frames queued, want %d", r.n, agentBacklog)
	}
}

// BenchmarkFrame is one 20 ms frame of a call's recording: the agent's
// frame queued, the caller's written beside it (with the header patched
// every second and a sync every 5 s, as in a call). The recording starts
// afresh every 10 minutes of audio to keep the file small. Besides the
// wall time (ns/op, which the disk's syncs dominate) it reports the
// process's CPU time per frame (cpu-ns/op), what a loaded server pays.
func BenchmarkFrame(b *testing.B) {
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	defer func() {
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	}()
	dir := b.TempDir()
	payload := make([]byte, 160)
	g711.EncodeULawTo(payload, sine(1000, 160, 0))
	agent := sine(300, 160, 0)
	var r *Recorder
	files, frames := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		if frames%30000 == 0 {
			b.StopTimer()
			if r != nil {
				_ = r.Close()
			}
			files++
			var err error
			if r, err = Create(filepath.Join(dir, strconv.Itoa(files)+".wav")); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		frames++
		if err := r.Agent(agent); err != nil {
			b.Fatal(err)
		}
		if err := r.Caller(payload, g711.ULaw); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = r.Close()
}
