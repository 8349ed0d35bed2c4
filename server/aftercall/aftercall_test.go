package aftercall

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testkit"
	"github.com/hushphone/hushphone/internal/testing/testwav"
	"github.com/hushphone/hushphone/media/wav"
	"github.com/hushphone/hushphone/server/metrics"
	"github.com/hushphone/hushphone/server/store"
)

// counts is a Metrics that counts.
type counts struct{ checked, suspect, failed atomic.Int64 }

func (c *counts) RecordingChecked(suspect bool) {
	c.checked.Add(1)
	if suspect {
		c.suspect.Add(1)
	}
}
func (c *counts) RecordingCheckFailed() { c.failed.Add(1) }

// both tells two Metrics.
type both [2]Metrics

func (b both) RecordingChecked(suspect bool) {
	b[0].RecordingChecked(suspect)
	b[1].RecordingChecked(suspect)
}

func (b both) RecordingCheckFailed() {
	b[0].RecordingCheckFailed()
	b[1].RecordingCheckFailed()
}

// logBuf is a JSON log in memory.
type logBuf struct{ testkit.SyncBuffer }

// records are the log's records at level (all with "").
func (l *logBuf) records(t *testing.T, level string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if level == "" || m["level"] == level {
			out = append(out, m)
		}
	}
	return out
}

func newLog() (*logBuf, *slog.Logger) {
	l := &logBuf{}
	return l, slog.New(slog.NewJSONHandler(l, nil))
}

// env is a data directory with a store and a recordings folder.
type env struct {
	dir   string
	store *store.Store
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := os.MkdirAll(filepath.Join(dir, "recordings"), 0o700); err != nil {
		t.Fatal(err)
	}
	return &env{dir: dir, store: st}
}

// recording writes a stereo 8 kHz recording, caller left and agent right,
// and indexes it; it returns the job for it.
func (e *env) recording(t testing.TB, call string, left, right []int16) Job {
	t.Helper()
	rel := filepath.Join("recordings", call+".wav")
	a := &wav.Audio{Header: wav.Header{Format: wav.FormatPCM16, Channels: 2, SampleRate: 8000}, Samples: testwav.Interleave(left, right)}
	if err := wav.WriteFile(filepath.Join(e.dir, rel), a); err != nil {
		t.Fatal(err)
	}
	r, err := e.store.AddRecording(context.Background(), store.Recording{CallID: call, Agent: "ann", Path: rel})
	if err != nil {
		t.Fatal(err)
	}
	return Job{Recording: r.ID, Call: call, Path: filepath.Join(e.dir, rel)}
}

// sines is the sum of sines at freqs, each at amp, for n samples.
func sines(n int, amp float64, freqs ...float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		var v float64
		for _, f := range freqs {
			v += amp * math.Sin(2*math.Pi*f*float64(i)/8000)
		}
		s[i] = int16(v)
	}
	return s
}

// withKey is 1 s of a quiet 440 Hz hum, a real key press (852 and 1209
// Hz: a row and a column of the keypad, about -14 dBm0 each, 120 ms),
// then 1 s more hum: what a recording holds when a key got through
// unmasked.
func withKey() []int16 {
	hum := sines(8000, 300, 440)
	s := slices.Concat(hum, sines(960, 4000, 852, 1209), hum)
	return s
}

// TestSuspectRecording: a recording with a key nobody masked, checked by
// the server's own check path (spandsp), is suspect: the proof stored says
// when and on which channel, the log says so at ERROR without the digit,
// and the metric counts it.
func TestSuspectRecording(t *testing.T) {
	if !Available {
		t.Fatal("this build has no spandsp (build with cgo and libspandsp-dev: build/install-deps.sh)")
	}
	e := newEnv(t)
	logs, log := newLog()
	m := &counts{}
	served := metrics.New() // and the server's own metrics, as /metrics shows them
	c, err := New(Params{Check: Spandsp, Store: e.store, Metrics: both{m, served}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	j := e.recording(t, "call-suspect", sines(2*8000+960, 300, 440), withKey())
	j.KeysMasked = 3
	p, err := c.Run(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.store.ProofOf(context.Background(), j.Recording)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(j.Path)
	if stored.Verdict != store.VerdictSuspect || stored.HitCount != 1 || len(stored.Hits) != 1 || stored.Hits[0].Channel != 1 ||
		stored.Hits[0].At < time.Second-20*time.Millisecond || stored.Hits[0].At > time.Second+60*time.Millisecond ||
		stored.KeysMasked != 3 || stored.SHA256 != sha256.Sum256(b) || stored.Channels != 2 || stored.Detector == "" {
		t.Errorf("stored proof %+v; want suspect, one hit on channel 1 at about 1 s, 3 keys masked, the file's SHA-256", stored)
	}
	if p.Verdict != stored.Verdict || p.HitCount != stored.HitCount {
		t.Errorf("Run returned %+v, stored %+v", p, stored)
	}
	if m.checked.Load() != 1 || m.suspect.Load() != 1 || m.failed.Load() != 0 {
		t.Errorf("metrics: checked %d, suspect %d, failed %d; want 1, 1, 0", m.checked.Load(), m.suspect.Load(), m.failed.Load())
	}
	w := httptest.NewRecorder()
	served.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"hushphone_recordings_checked_total 1\n", "hushphone_recordings_suspect_total 1\n"} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("/metrics: no %q", strings.TrimSpace(want))
		}
	}
	r, err := e.store.RecordingByID(context.Background(), j.Recording)
	if err != nil || r.Verdict != store.VerdictSuspect {
		t.Errorf("the recording's verdict %q, %v", r.Verdict, err)
	}
	// The ERROR says which recording, which call, how many hits and when;
	// nothing else, so no digit.
	errs := logs.records(t, "ERROR")
	if len(errs) != 1 {
		t.Fatalf("%d ERROR records, want 1: %v", len(errs), errs)
	}
	rec := errs[0]
	var keys []string
	for k := range rec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"at", "call", "detector", "hits", "keys_masked", "level", "msg", "recording", "time"}; !slices.Equal(keys, want) {
		t.Errorf("the ERROR record holds %v, want only %v", keys, want)
	}
	if rec["recording"] != float64(j.Recording) || rec["call"] != "call-suspect" || rec["hits"] != float64(1) ||
		!regexp.MustCompile(`^ch1@[0-9.]+m?s$`).MatchString(rec["at"].(string)) {
		t.Errorf("the ERROR record %v", rec)
	}
}

// TestCleanRecording: the same recording without the key press is clean.
func TestCleanRecording(t *testing.T) {
	e := newEnv(t)
	logs, log := newLog()
	m := &counts{}
	c, err := New(Params{Check: Spandsp, Store: e.store, Metrics: m, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	j := e.recording(t, "call-clean", sines(3*8000, 300, 440), sines(3*8000, 2000, 300))
	if err := c.Submit(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil { // after the running check
		t.Fatal(err)
	}
	p, err := e.store.ProofOf(context.Background(), j.Recording)
	if err != nil {
		t.Fatalf("no proof after Close: %v (log: %v)", err, logs.records(t, ""))
	}
	b, _ := os.ReadFile(j.Path)
	if p.Verdict != store.VerdictClean || p.HitCount != 0 || p.SHA256 != sha256.Sum256(b) || p.Duration != 3*time.Second {
		t.Errorf("proof %+v; want clean, 3 s, the file's SHA-256", p)
	}
	if m.checked.Load() != 1 || m.suspect.Load() != 0 || len(logs.records(t, "ERROR")) != 0 {
		t.Errorf("checked %d, suspect %d, errors %v", m.checked.Load(), m.suspect.Load(), logs.records(t, "ERROR"))
	}
}

// TestCheckFails: a recording that cannot be checked (its file is gone)
// is logged at ERROR and counted, and stays pending.
func TestCheckFails(t *testing.T) {
	e := newEnv(t)
	logs, log := newLog()
	m := &counts{}
	c, err := New(Params{Check: Spandsp, Store: e.store, Metrics: m, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	j := e.recording(t, "call-gone", sines(8000, 300, 440), nil)
	if err := os.Remove(j.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), j); err == nil {
		t.Fatal("a missing file checked")
	}
	if _, err := e.store.ProofOf(context.Background(), j.Recording); !errors.Is(err, store.ErrNoProof) {
		t.Errorf("ProofOf = %v, want ErrNoProof", err)
	}
	if m.failed.Load() != 1 || m.checked.Load() != 0 || len(logs.records(t, "ERROR")) != 1 {
		t.Errorf("failed %d, checked %d, errors %v", m.failed.Load(), m.checked.Load(), logs.records(t, "ERROR"))
	}
}

// TestBounded: no more checks run at once than there are workers; a full
// queue makes Submit wait (and say so), never drop; Close waits for the
// running checks, and a check submitted after it is refused and logged.
func TestBounded(t *testing.T) {
	e := newEnv(t)
	logs, log := newLog()
	var running, most atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{}, 16)
	check := func(ctx context.Context, path string) (store.Proof, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			old := most.Load()
			if n <= old || most.CompareAndSwap(old, n) {
				break
			}
		}
		started <- struct{}{}
		<-release
		return store.Proof{Verdict: store.VerdictClean, Detector: "test", Channels: 2}, nil
	}
	c, err := New(Params{Check: check, Store: e.store, Logger: log, Workers: 2, Queue: 1})
	if err != nil {
		t.Fatal(err)
	}
	var jobs []Job
	for i := range 4 {
		jobs = append(jobs, e.recording(t, "call-"+string(rune('a'+i)), sines(800, 300, 440), nil))
	}
	ctx := context.Background()
	for _, j := range jobs[:2] { // one at a time: the queue holds one
		if err := c.Submit(ctx, j); err != nil {
			t.Fatal(err)
		}
		<-started
	}
	// Both workers are busy.
	if err := c.Submit(ctx, jobs[2]); err != nil { // queued
		t.Fatal(err)
	}
	// The queue is full: the fourth waits, and gives up when told to.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err = c.Submit(short, jobs[3])
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Submit to a full queue = %v, want it to wait until its context ends", err)
	}
	if w := logs.records(t, "WARN"); len(w) != 2 || !strings.Contains(w[0]["msg"].(string), "behind") || !strings.Contains(w[1]["msg"].(string), "pending") {
		t.Errorf("WARN records %v; want the wait and the giving up", w)
	}
	// Submit waits for room rather than drop: it returns once a worker
	// takes the queued one.
	submitted := make(chan error, 1)
	go func() { submitted <- c.Submit(ctx, jobs[3]) }()
	select {
	case err := <-submitted:
		t.Fatalf("Submit returned %v with the queue full", err)
	case <-time.After(100 * time.Millisecond):
	}
	release <- struct{}{} // one check ends; the queued one starts
	<-started
	if err := <-submitted; err != nil {
		t.Fatal(err)
	}
	// Close waits for the two running and the fourth, queued: the workers
	// finish the queue.
	closed := make(chan struct{})
	go func() { _ = c.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned with checks running")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	<-closed
	if most.Load() != 2 {
		t.Errorf("at most %d checks at once, want 2", most.Load())
	}
	proofs := 0
	for _, j := range jobs {
		if _, err := e.store.ProofOf(ctx, j.Recording); err == nil {
			proofs++
		}
	}
	if proofs != 4 {
		t.Errorf("%d proofs stored, want 4 (two running, one taken from the queue, one queued at Close)", proofs)
	}
	if err := c.Submit(ctx, jobs[3]); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close = %v, want ErrClosed", err)
	}
	pending := 0
	for _, w := range logs.records(t, "WARN") {
		if strings.Contains(w["msg"].(string), "shutting down") {
			pending++
		}
	}
	if pending != 1 { // the one submitted after Close
		t.Errorf("%d recordings logged as left pending at shutdown, want 1", pending)
	}
}
