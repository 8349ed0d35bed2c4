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
	rec, err := recorder.Create(filepath.Join(m.p.DataDir, rel))
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
		d := rec.Duration()
		if err := rec.Close(); err != nil {
			m.log.Error("recording not closed", "call", id, "err", err)
		}
		if idx.ID != 0 {
			_ = m.p.Store.SetRecordingDuration(ctx, idx.ID, d)
		}
		return
	}
	c.rec, c.recID = rec, idx.ID
	c.audio.setRecorder(rec)
	c.mu.Unlock()
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
