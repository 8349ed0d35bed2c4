package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testkit"
)

func TestProofs(t *testing.T) {
	ctx := context.Background()
	c := testkit.NewClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	s := open(t, t.TempDir(), WithClock(c.Now))
	rec, err := s.AddRecording(ctx, Recording{CallID: "c1", Agent: "ann", Path: "recordings/c1.wav"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.AddRecording(ctx, Recording{CallID: "c2", Agent: "bob", Path: "recordings/c2.wav"})
	if err != nil {
		t.Fatal(err)
	}

	// Before the check: no proof, and the verdict is empty (pending).
	if _, err := s.ProofOf(ctx, rec.ID); !errors.Is(err, ErrNoProof) {
		t.Fatalf("ProofOf before the check = %v, want ErrNoProof", err)
	}
	if _, err := s.ProofOf(ctx, 999); !errors.Is(err, ErrNoRecording) {
		t.Fatalf("ProofOf(no such recording) = %v, want ErrNoRecording", err)
	}
	if got, err := s.RecordingByID(ctx, rec.ID); err != nil || got.Verdict != "" {
		t.Fatalf("verdict before the check %q, %v; want empty", got.Verdict, err)
	}

	good := Proof{
		Verdict: VerdictSuspect, KeysMasked: 23, FlatTones: 22, HitCount: 3,
		Hits:     []ProofHit{{Channel: 0, At: 1500 * time.Millisecond}, {Channel: 1, At: 62 * time.Second}},
		Detector: "spandsp dtmf_rx", DetectorVersion: "0.0.6 (release 20110122 075024)",
		SHA256: sha256.Sum256([]byte("the file")), Duration: 95 * time.Second, Channels: 2,
	}
	for _, tc := range []struct {
		name   string
		change func(p *Proof)
	}{
		{"verdict", func(p *Proof) { p.Verdict = "pending" }},
		{"no verdict", func(p *Proof) { p.Verdict = "" }},
		{"clean with hits", func(p *Proof) { p.Verdict = VerdictClean }},
		{"clean with a hit not listed", func(p *Proof) { p.Verdict, p.Hits, p.HitCount = VerdictClean, nil, 1 }},
		{"suspect without a hit", func(p *Proof) { p.Hits, p.HitCount = nil, 0 }},
		{"more hits listed than counted", func(p *Proof) { p.HitCount = 1 }},
		{"too many hits listed", func(p *Proof) { p.Hits = make([]ProofHit, MaxProofHits+1); p.HitCount = MaxProofHits + 1 }},
		{"negative keys", func(p *Proof) { p.KeysMasked = -1 }},
		{"negative flat tones", func(p *Proof) { p.FlatTones = -1 }},
		{"no detector", func(p *Proof) { p.Detector = "" }},
		{"a card number in the detector", func(p *Proof) { p.Detector = "dtmf 4242424242424242" }},
		{"a card number in the version", func(p *Proof) { p.DetectorVersion = "4242424242424242" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			tc.change(&p)
			if err := s.SaveProof(ctx, rec.ID, p); !errors.Is(err, ErrBadProof) {
				t.Errorf("SaveProof = %v, want ErrBadProof", err)
			}
		})
	}
	if err := s.SaveProof(ctx, 999, good); !errors.Is(err, ErrNoRecording) {
		t.Errorf("SaveProof(no such recording) = %v, want ErrNoRecording", err)
	}

	// Many hits are stored whole: the hits are integers the store writes,
	// not a text its digit guard reads.
	many := good
	for i := range 40 {
		many.Hits = append(many.Hits, ProofHit{Channel: i % 2, At: time.Duration(1000+i*137) * time.Millisecond})
	}
	many.HitCount = len(many.Hits) + 7
	if err := s.SaveProof(ctx, other.ID, many); err != nil {
		t.Fatalf("SaveProof with %d hits: %v", len(many.Hits), err)
	}
	if got, err := s.ProofOf(ctx, other.ID); err != nil || got.HitCount != len(many.Hits)+7 || !reflect.DeepEqual(got.Hits, many.Hits) {
		t.Errorf("many hits read back: %d of %d listed, %v", len(got.Hits), got.HitCount, err)
	}

	if err := s.SaveProof(ctx, rec.ID, good); err != nil {
		t.Fatal(err)
	}
	got, err := s.ProofOf(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := good
	want.Checked = c.Now()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ProofOf = %+v\nwant %+v", got, want)
	}
	if r, _ := s.RecordingByID(ctx, rec.ID); r.Verdict != VerdictSuspect {
		t.Errorf("verdict %q, want suspect", r.Verdict)
	}

	// Checked again: the new proof replaces the old.
	c.Add(time.Hour)
	clean := good
	clean.Verdict, clean.Hits, clean.HitCount = VerdictClean, nil, 0
	if err := s.SaveProof(ctx, rec.ID, clean); err != nil {
		t.Fatal(err)
	}
	got, err = s.ProofOf(ctx, rec.ID)
	if err != nil || got.Verdict != VerdictClean || len(got.Hits) != 0 || !got.Checked.Equal(c.Now()) {
		t.Errorf("after a second check: %+v, %v", got, err)
	}
	recs, err := s.ListRecordings(ctx, 0)
	if err != nil || len(recs) != 2 {
		t.Fatalf("ListRecordings = %+v, %v", recs, err)
	}
	verdicts := map[string]string{}
	for _, r := range recs {
		verdicts[r.CallID] = r.Verdict
	}
	if verdicts["c1"] != VerdictClean || verdicts["c2"] != VerdictSuspect {
		t.Errorf("verdicts in the list %v", verdicts)
	}
}
