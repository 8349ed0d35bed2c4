package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testkit"
)

func TestRecordings(t *testing.T) {
	ctx := context.Background()
	c := testkit.NewClock(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	s := open(t, dir, WithClock(c.Now))

	for _, bad := range []Recording{
		{CallID: "", Path: "recordings/a.wav"},
		{CallID: "c1", Path: ""},
		{CallID: "c1", Path: "/etc/passwd"},
		{CallID: "c1", Path: "../outside.wav"},
	} {
		if _, err := s.AddRecording(ctx, bad); !errors.Is(err, ErrBadRecording) {
			t.Errorf("AddRecording(%+v) = %v, want ErrBadRecording", bad, err)
		}
	}
	first, err := s.AddRecording(ctx, Recording{CallID: "c1", Agent: "ann", Path: filepath.Join("recordings", "c1.wav")})
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == 0 || !first.Started.Equal(c.Now()) {
		t.Errorf("first: %+v", first)
	}
	if _, err := s.AddRecording(ctx, Recording{CallID: "c1b", Path: filepath.Join("recordings", "c1.wav")}); err == nil {
		t.Error("two recordings in one file")
	}
	c.Add(time.Minute)
	second, err := s.AddRecording(ctx, Recording{CallID: "c2", Agent: "bob", Path: "recordings/c2.wav"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetRecordingDuration(ctx, first.ID, 93*time.Second+250*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRecordingDuration(ctx, 999, time.Second); !errors.Is(err, ErrNoRecording) {
		t.Errorf("SetRecordingDuration(999) = %v", err)
	}
	got, err := s.RecordingByID(ctx, first.ID)
	if err != nil || got.Duration != 93250*time.Millisecond || got.Agent != "ann" || got.Path != filepath.Join("recordings", "c1.wav") {
		t.Errorf("RecordingByID = %+v, %v", got, err)
	}
	if _, err := s.RecordingByID(ctx, 999); !errors.Is(err, ErrNoRecording) {
		t.Errorf("RecordingByID(999) = %v", err)
	}
	all, err := s.ListRecordings(ctx, 0)
	if err != nil || len(all) != 2 || all[0].ID != second.ID || all[1].ID != first.ID {
		t.Errorf("ListRecordings = %+v, %v; want newest first", all, err)
	}
	one, err := s.ListRecordings(ctx, 1)
	if err != nil || len(one) != 1 || one[0].CallID != "c2" {
		t.Errorf("ListRecordings(1) = %+v, %v", one, err)
	}
}

func TestRecordingAgents(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	rec, err := s.AddRecording(ctx, Recording{CallID: "c1", Agent: "ann", Path: "recordings/c1.wav"})
	if err != nil {
		t.Fatal(err)
	}
	// bob took the call over, then ann again, then bob: each once, in order.
	for _, a := range []string{"bob", "ann", "bob", "an"} {
		if err := s.AddRecordingAgent(ctx, rec.ID, a); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.RecordingByID(ctx, rec.ID); got.Agent != "ann,bob,an" {
		t.Errorf("agents %q, want ann,bob,an", got.Agent)
	}
	if err := s.AddRecordingAgent(ctx, rec.ID, "x,y"); !errors.Is(err, ErrBadName) {
		t.Errorf("a name with a comma: %v", err)
	}
	if err := s.AddRecordingAgent(ctx, 999, "bob"); !errors.Is(err, ErrNoRecording) {
		t.Errorf("no such recording: %v", err)
	}
}
