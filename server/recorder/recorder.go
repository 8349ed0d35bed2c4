// Package recorder writes a call's recording: one stereo WAV, 8 kHz 16-bit
// PCM, the masked caller on the left and the agent on the right, from answer
// to hang-up, on one time line clocked by the caller's frames (and by the
// agent's when the caller's stop: see Agent). There is no
// pause and no resume: the caller's audio reaching the recorder is the
// Masker's output, so key presses are already flat tones.
//
// The file is readable at every moment: its header is written first with
// "unknown" sizes; the audio is kept in memory and written once a second
// (one write instead of fifty), followed by the header patched to the true
// sizes, and at Close; the file is synced to disk every few seconds, so a
// server stopped mid-call, even killed, leaves a complete, playable
// recording up to its last second or so.
package recorder

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mask"
	"github.com/hushphone/hushphone/media/wav"
)

// Errors.
var (
	ErrClosed = errors.New("recorder: closed")
	ErrFrame  = errors.New("recorder: a frame is 20 ms (160 samples)")
)

const (
	frame        = mask.FrameSamples
	flushEvery   = 50  // frames: patch the header every second
	syncEvery    = 250 // frames: sync to disk every 5 s
	agentBacklog = 10  // agent frames held, at most (200 ms)
)

// Recorder is one call's recording. Its methods are safe to call from the
// caller's and the agent's goroutines at once.
type Recorder struct {
	mu     sync.Mutex
	f      *os.File
	buf    *fileBuffer // between w and f: one write a second
	w      *wav.Writer
	frames int64
	closed bool

	agent    [agentBacklog][frame]int16 // queued agent frames
	head, n  int
	callerIn [frame]int16
	stereo   [2 * frame]int16
}

// Create starts a recording at path, which must not exist yet (the folder
// must). The file is created with mode 0600: only the server reads it, and
// gives it to supervisors through its API.
func Create(path string) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	buf := newFileBuffer(f)
	w, err := wav.NewWriter(buf, wav.Header{Format: wav.FormatPCM16, Channels: 2, SampleRate: mask.SampleRate})
	if err == nil {
		err = buf.flush() // the header, at once
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("recorder: %w", err)
	}
	return &Recorder{f: f, buf: buf, w: w}, nil
}

// Agent queues 20 ms of the agent's voice (linear, 160 samples), to be
// written beside the next caller frame. With 200 ms of backlog the
// caller's frames have stopped (the caller's RTP ends before the call
// does, or pauses): the oldest agent frame is written beside silence, so
// the agent's side is whole however the call ends.
func (r *Recorder) Agent(samples []int16) error {
	if len(samples) != frame {
		return fmt.Errorf("%w: got %d", ErrFrame, len(samples))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.n == agentBacklog {
		clear(r.callerIn[:])
		if err := r.writeLocked(); err != nil {
			return err
		}
	}
	copy(r.agent[(r.head+r.n)%agentBacklog][:], samples)
	r.n++
	return nil
}

// Caller writes 20 ms of the masked caller (one G.711 frame in law) with
// the agent's next 20 ms (silence if none came).
func (r *Recorder) Caller(payload []byte, law g711.Law) error {
	if len(payload) != frame {
		return fmt.Errorf("%w: got %d bytes", ErrFrame, len(payload))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	law.Decode(r.callerIn[:], payload)
	return r.writeLocked()
}

// writeLocked writes r.callerIn beside the oldest queued agent frame
// (silence if none), r.mu held.
func (r *Recorder) writeLocked() error {
	var agent *[frame]int16
	if r.n > 0 {
		agent = &r.agent[r.head]
		r.head = (r.head + 1) % agentBacklog
		r.n--
	}
	for i, v := range r.callerIn {
		r.stereo[2*i] = v
		r.stereo[2*i+1] = 0
		if agent != nil {
			r.stereo[2*i+1] = agent[i]
		}
	}
	if err := r.w.Write(r.stereo[:]); err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	r.frames++
	if r.frames%flushEvery == 0 {
		// The second's audio, then the header that counts it.
		if err := r.w.Flush(); err != nil {
			return fmt.Errorf("recorder: %w", err)
		}
		if err := r.buf.flush(); err != nil {
			return err
		}
	}
	if r.frames%syncEvery == 0 {
		if err := r.f.Sync(); err != nil {
			return fmt.Errorf("recorder: %w", err)
		}
	}
	return nil
}

// Duration is how much has been recorded.
func (r *Recorder) Duration() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Duration(r.frames) * 20 * time.Millisecond
}

// Close finishes the recording: final sizes, synced, closed. It is safe to
// call more than once.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	// The agent's last words, if the caller's frames stopped first.
	clear(r.callerIn[:])
	var drained error // writeLocked's errors say "recorder:" already
	for r.n > 0 && drained == nil {
		drained = r.writeLocked()
	}
	r.closed = true
	err := r.w.Close()
	if ferr := r.buf.flush(); err == nil {
		err = ferr
	}
	if serr := r.f.Sync(); err == nil {
		err = serr
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	switch {
	case drained != nil:
		return drained
	case err != nil:
		return fmt.Errorf("recorder: %w", err)
	}
	return nil
}
