package calls

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/hushphone/hushphone/server/recorder"
	"github.com/hushphone/hushphone/server/store"
)

// record starts the call's recording and indexes it.
func (m *Manager) record(ctx context.Context, c *call) {
	id := c.id
	name := "call-" + time.Now().UTC().Format("20060102-150405") + "-" + safe(id) + ".wav"
	rel := filepath.Join("recordings", name)
	path := filepath.Join(m.p.DataDir, rel)
	rec, err := recorder.Create(path)
	if err != nil {
		m.log.Error("recording not started", "call", id, "err", err)
		return
	}
	c.mu.Lock()
	agent := c.agent
	c.mu.Unlock()
	idx, err := m.p.Store.AddRecording(ctx, store.Recording{CallID: id, Agent: agent, Path: rel})
	if err != nil {
		m.log.Error("recording not indexed", "call", id, "err", err)
	}
	c.mu.Lock()
	if c.ended { // the call ended as its recording started: it is over too
		c.mu.Unlock()
		m.finishRecording(ctx, c, rec, idx.ID, path)
		return
	}
	c.rec, c.recID, c.recPath = rec, idx.ID, path
	c.audio.setRecorder(rec)
	c.mu.Unlock()
}

// Recorded is a call's recording once its file is closed: what
// Params.Recorded gets.
type Recorded struct {
	ID       int64  // the recording's id in the store
	Call     string // the call's id
	Path     string // the WAV file
	Duration time.Duration
	// KeysMasked is how many key presses the Masker took out of the
	// call: a count, never the keys.
	KeysMasked int
}

// finishRecording closes a call's recording, sets its length in the
// index and hands it to Params.Recorded (once its call has ended: c's
// key presses are all counted).
func (m *Manager) finishRecording(ctx context.Context, c *call, rec *recorder.Recorder, recID int64, path string) {
	d := rec.Duration()
	if err := rec.Close(); err != nil {
		// Still checked: a file its check cannot read is logged and
		// counted there.
		m.log.Error("recording not closed", "call", c.id, "err", err)
	}
	if recID == 0 {
		return // not indexed (logged when it started): no proof to store with it
	}
	_ = m.p.Store.SetRecordingDuration(ctx, recID, d)
	if m.p.Recorded != nil {
		m.p.Recorded(Recorded{ID: recID, Call: c.id, Path: path, Duration: d, KeysMasked: int(c.keysMasked.Load())})
	}
}

// safe keeps a Call-ID's letters and digits for a file name.
func safe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
		if b.Len() >= 24 {
			break
		}
	}
	return b.String()
}
