// Package aftercall checks each call's recording once the call is over: an
// independent DTMF detector (not the Masker's) reads the whole file, on
// every channel, and its masking proof is stored with the recording
// (server/store's proofs). A recording in which the detector hears a key
// press is suspect: it may hold card data, so it is logged at ERROR (the
// recording, the call, how many hits and when; never a digit) and counted
// on /metrics.
//
// The checks never run on a call's path. The calls hand a finished
// recording to Submit, which queues it for a small pool of workers (one per
// two cores by default) behind a bounded queue. When the queue is full,
// Submit waits for room, saying so in the log once per wait, rather than
// drop the check; a check that cannot be queued because the checker is
// closing is logged too, and its recording stays pending. Close lets the
// running and queued checks finish and waits for them.
package aftercall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hushphone/hushphone/server/store"
)

// ErrParams is New's error for missing parts.
var ErrParams = errors.New("aftercall: bad parameters")

// ErrClosed is Submit's error once Close has begun: the recording is not
// checked and stays pending.
var ErrClosed = errors.New("aftercall: closed")

// DefaultQueue is how many finished recordings may wait for a worker.
const DefaultQueue = 64

// Store keeps the proofs (*store.Store).
type Store interface {
	SaveProof(ctx context.Context, recordingID int64, p store.Proof) error
}

// Metrics counts the checks (*metrics.Metrics).
type Metrics interface {
	RecordingChecked(suspect bool)
	RecordingCheckFailed()
}

// CheckFunc checks the WAV file at path and returns its proof, all but
// KeysMasked and Checked, which the Checker sets.
type CheckFunc func(ctx context.Context, path string) (store.Proof, error)

// Job is a finished recording to check.
type Job struct {
	Recording int64  // its id in the store
	Call      string // the call's id, for the log
	Path      string // the WAV file
	// KeysMasked is how many key presses the Masker took out of the call.
	KeysMasked int
}

// Params are a Checker's parts.
type Params struct {
	Check   CheckFunc
	Store   Store
	Metrics Metrics // nil: not counted
	Logger  *slog.Logger
	// Workers bounds the checks running at once; 0 means one per two
	// cores (at least one). Queue bounds those waiting; 0 means
	// DefaultQueue.
	Workers, Queue int
	// Timeout bounds one check; 0 means none. A recording is read once,
	// front to back, so a check's time follows the recording's length.
	Timeout time.Duration
}

// Checker runs the after-call checks.
type Checker struct {
	p    Params
	log  *slog.Logger
	jobs chan Job
	stop chan struct{} // closed by Close: Submit waits no more, workers end
	wg   sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

// New starts a Checker's workers; Close stops them.
func New(p Params) (*Checker, error) {
	if p.Check == nil || p.Store == nil {
		return nil, fmt.Errorf("%w: Check and Store are required", ErrParams)
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Workers <= 0 {
		p.Workers = max(1, runtime.NumCPU()/2)
	}
	if p.Queue <= 0 {
		p.Queue = DefaultQueue
	}
	c := &Checker{p: p, log: p.Logger, jobs: make(chan Job, p.Queue), stop: make(chan struct{})}
	c.wg.Add(p.Workers)
	for range p.Workers {
		go c.work()
	}
	return c, nil
}

// Submit queues a finished recording for its check. When the queue is
// full it waits for room (ctx bounds the wait); it returns ErrClosed once
// Close has begun. Either way a recording not queued is logged, and stays
// pending.
func (c *Checker) Submit(ctx context.Context, j Job) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		c.log.Warn("recording not checked: the server is shutting down; it stays pending", "recording", j.Recording, "call", j.Call)
		return ErrClosed
	}
	select {
	case c.jobs <- j:
		return nil
	default:
	}
	c.log.Warn("recording checks are behind: this one waits for room in the queue", "recording", j.Recording, "call", j.Call, "queue", cap(c.jobs))
	select {
	case c.jobs <- j:
		return nil
	case <-c.stop:
		c.log.Warn("recording not checked: the server is shutting down; it stays pending", "recording", j.Recording, "call", j.Call)
		return ErrClosed
	case <-ctx.Done():
		c.log.Warn("recording not checked: gave up waiting for room in the queue; it stays pending", "recording", j.Recording, "call", j.Call, "err", ctx.Err())
		return fmt.Errorf("aftercall: recording %d: %w", j.Recording, ctx.Err())
	}
}

// Close stops taking checks and waits for those running and those queued
// (the workers finish the queue). A recording that still reached the
// queue after the workers ended is logged, and stays pending.
func (c *Checker) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	c.mu.Unlock()
	c.wg.Wait()
	for {
		select {
		case j := <-c.jobs:
			c.log.Warn("recording not checked: the server is shutting down; it stays pending", "recording", j.Recording, "call", j.Call)
		default:
			return nil
		}
	}
}

func (c *Checker) work() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			// The queued checks are finished before the worker ends (at
			// most the queue's worth, a few milliseconds each): a proof
			// left pending by a clean shutdown would be a gap for nothing.
			for {
				select {
				case j := <-c.jobs:
					_, _ = c.Run(context.Background(), j)
				default:
					return
				}
			}
		case j := <-c.jobs:
			_, _ = c.Run(context.Background(), j) // Run logs and counts what failed
		}
	}
}

// Run checks one recording now, on the caller's goroutine, and stores,
// logs and counts the result as the workers do. It returns the proof
// stored.
func (c *Checker) Run(ctx context.Context, j Job) (store.Proof, error) {
	if c.p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.p.Timeout)
		defer cancel()
	}
	start := time.Now()
	p, err := c.p.Check(ctx, j.Path)
	if err == nil {
		p.KeysMasked, p.Checked = j.KeysMasked, time.Time{}
		err = c.p.Store.SaveProof(ctx, j.Recording, p)
	}
	if err != nil {
		c.failed()
		c.log.Error("recording not checked: it stays pending", "recording", j.Recording, "call", j.Call, "err", err)
		return store.Proof{}, fmt.Errorf("aftercall: recording %d: %w", j.Recording, err)
	}
	suspect := p.Verdict == store.VerdictSuspect
	if c.p.Metrics != nil {
		c.p.Metrics.RecordingChecked(suspect)
	}
	took := time.Since(start)
	if suspect {
		// When, never which key.
		c.log.Error("recording suspect: the independent detector heard key presses in it; it may hold card data",
			"recording", j.Recording, "call", j.Call, "hits", p.HitCount, "at", hitTimes(p.Hits), "keys_masked", p.KeysMasked,
			"detector", p.Detector)
		return p, nil
	}
	// Counts and whole seconds: times in milliseconds in the log (737ms)
	// would look like a card's security code to whoever searches it for
	// one.
	c.log.Info("recording checked", "recording", j.Recording, "call", j.Call, "verdict", p.Verdict, "keys_masked", p.KeysMasked,
		"flat_tones", p.FlatTones, "seconds", int(p.Duration.Seconds()), "check_seconds", int(took.Seconds()))
	return p, nil
}

func (c *Checker) failed() {
	if c.p.Metrics != nil {
		c.p.Metrics.RecordingCheckFailed()
	}
}

// maxLoggedHits bounds the hit times in one log line.
const maxLoggedHits = 20

// hitTimes is "ch0@1.52s ch1@62s ...": where the hits are, for the log;
// the first maxLoggedHits.
func hitTimes(hits []store.ProofHit) string {
	var b strings.Builder
	for i, h := range hits {
		if i == maxLoggedHits {
			b.WriteString(" ...")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("ch" + strconv.Itoa(h.Channel) + "@" + h.At.Round(time.Millisecond).String())
	}
	return b.String()
}
