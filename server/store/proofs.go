package store

// This file holds each recording's masking proof: what an independent
// detector (not the Masker's) found when it checked the recording after
// its call ended. A hit is a key press that detector heard: card data, so
// the proof holds when (the time into the recording) and on which channel,
// never which key.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// migrationProofs is schema version 5: one proof per recording, replaced
// when the recording is checked again. The file's SHA-256 is a BLOB, not
// hex text: its 32 bytes can be compared with any tool's hex after hex
// encoding, and no run of hex digits in a text column can look like part
// of a card's data.
const migrationProofs = `CREATE TABLE recording_proofs (
	recording_id     INTEGER PRIMARY KEY REFERENCES recordings (id) ON DELETE CASCADE,
	verdict          TEXT NOT NULL CHECK (verdict IN ('clean', 'suspect')),
	keys_masked      INTEGER NOT NULL CHECK (keys_masked >= 0), -- the Masker's count; never the keys
	hit_count        INTEGER NOT NULL CHECK (hit_count >= 0),
	hits             TEXT NOT NULL DEFAULT '[]', -- JSON [{"channel": 0, "at_ms": 1234}]: when, never which key; the first MaxProofHits
	flat_tones       INTEGER NOT NULL CHECK (flat_tones >= 0),
	detector         TEXT NOT NULL,
	detector_version TEXT NOT NULL,
	sha256           BLOB NOT NULL, -- the WAV file's SHA-256, 32 bytes
	duration_ms      INTEGER NOT NULL, -- the audio's length, as the detector read it
	channels         INTEGER NOT NULL,
	checked          INTEGER NOT NULL -- Unix milliseconds
);`

// The verdicts a proof may hold.
const (
	// VerdictClean: the independent detector found no key press.
	VerdictClean = "clean"
	// VerdictSuspect: it found at least one.
	VerdictSuspect = "suspect"
)

// ErrNoProof is returned for a recording that has not been checked yet.
var ErrNoProof = errors.New("the recording has not been checked yet")

// MaxProofHits bounds the hits a proof lists (HitCount counts them all):
// a recording made of key presses could otherwise make a proof as long as
// itself.
const MaxProofHits = 1000

// ErrBadProof is returned for a proof the store refuses: a verdict other
// than clean or suspect, a negative count, a hash of the wrong length, or
// a text that could hold card data.
var ErrBadProof = errors.New("invalid masking proof")

// ProofHit is one key press the independent detector found: the channel
// (0 the caller's side, 1 the agent's in a two-channel recording) and the
// time into the recording. Never the key: it would be card data.
type ProofHit struct {
	Channel int
	At      time.Duration
}

// Proof is a recording's masking proof.
type Proof struct {
	Verdict    string // VerdictClean or VerdictSuspect
	KeysMasked int    // the key presses the Masker took out of the call
	// HitCount is how many key presses the detector found; Hits lists
	// the first of them (at most MaxProofHits).
	HitCount  int
	Hits      []ProofHit
	FlatTones int // the Masker's flat tones the detector found
	// Detector and DetectorVersion name the independent detector.
	Detector, DetectorVersion string
	SHA256                    [32]byte // the WAV file's
	Duration                  time.Duration
	Channels                  int
	Checked                   time.Time
}

// hitJSON is a hit as the hits column holds it: integers only.
type hitJSON struct {
	Channel int   `json:"channel"`
	AtMs    int64 `json:"at_ms"`
}

// check refuses a proof the store cannot hold. The texts are the
// detector's name and version, which come from the build, not from
// anyone: like the payments' identifiers they may not hold 12 digits in a
// row (a version names a release date and time, whose digits apart come
// to more than 12). The hits are integers the store writes itself (times
// and channels), so they are not texts to check.
func (p Proof) check() error {
	if p.Verdict != VerdictClean && p.Verdict != VerdictSuspect {
		return fmt.Errorf("%w: the verdict must be %s or %s", ErrBadProof, VerdictClean, VerdictSuspect)
	}
	if p.KeysMasked < 0 || p.FlatTones < 0 || p.Channels < 0 || p.Duration < 0 {
		return fmt.Errorf("%w: a negative count", ErrBadProof)
	}
	if p.HitCount < len(p.Hits) || len(p.Hits) > MaxProofHits {
		return fmt.Errorf("%w: %d hits listed of %d (at most %d are listed)", ErrBadProof, len(p.Hits), p.HitCount, MaxProofHits)
	}
	if (p.Verdict == VerdictClean) != (p.HitCount == 0) {
		return fmt.Errorf("%w: a recording is clean when, and only when, the detector found nothing", ErrBadProof)
	}
	if p.Detector == "" {
		return fmt.Errorf("%w: it needs the detector's name", ErrBadProof)
	}
	for _, v := range []string{p.Detector, p.DetectorVersion} {
		if panRe.MatchString(v) {
			return fmt.Errorf("%w: a name holds 12 or more digits in a row, which could be a card number", ErrBadProof)
		}
	}
	return nil
}

// SaveProof stores a recording's masking proof, replacing any it had.
// Checked zero means now.
func (s *Store) SaveProof(ctx context.Context, recordingID int64, p Proof) error {
	if err := p.check(); err != nil {
		return err
	}
	if p.Checked.IsZero() {
		p.Checked = s.now()
	}
	hits := make([]hitJSON, 0, len(p.Hits))
	for _, h := range p.Hits {
		hits = append(hits, hitJSON{Channel: h.Channel, AtMs: h.At.Milliseconds()})
	}
	b, err := json.Marshal(hits)
	if err != nil {
		return fmt.Errorf("save the proof of recording %d: %w", recordingID, err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT OR REPLACE INTO recording_proofs
		(recording_id, verdict, keys_masked, hit_count, hits, flat_tones, detector, detector_version, sha256, duration_ms, channels, checked)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		recordingID, p.Verdict, p.KeysMasked, p.HitCount, string(b), p.FlatTones, p.Detector, p.DetectorVersion,
		p.SHA256[:], p.Duration.Milliseconds(), p.Channels, millis(p.Checked))
	if err != nil {
		if _, lerr := s.RecordingByID(ctx, recordingID); errors.Is(lerr, ErrNoRecording) {
			return lerr
		}
		return fmt.Errorf("save the proof of recording %d: %w", recordingID, err)
	}
	return nil
}

// ProofOf returns a recording's masking proof: ErrNoRecording for no such
// recording, ErrNoProof for one not checked yet.
func (s *Store) ProofOf(ctx context.Context, recordingID int64) (Proof, error) {
	var (
		p                    Proof
		hits                 string
		sum                  []byte
		durMs, checked       int64
		keys, hitCount, flat int
		channels             int
	)
	err := s.db.QueryRowContext(ctx, `SELECT verdict, keys_masked, hit_count, hits, flat_tones, detector, detector_version, sha256, duration_ms, channels, checked
		FROM recording_proofs WHERE recording_id = ?`, recordingID).
		Scan(&p.Verdict, &keys, &hitCount, &hits, &flat, &p.Detector, &p.DetectorVersion, &sum, &durMs, &channels, &checked)
	if errors.Is(err, sql.ErrNoRows) {
		if _, lerr := s.RecordingByID(ctx, recordingID); lerr != nil {
			return Proof{}, lerr
		}
		return Proof{}, fmt.Errorf("%w: recording %d", ErrNoProof, recordingID)
	}
	if err != nil {
		return Proof{}, fmt.Errorf("read the proof of recording %d: %w", recordingID, err)
	}
	var hj []hitJSON
	if err := json.Unmarshal([]byte(hits), &hj); err != nil {
		return Proof{}, fmt.Errorf("read the proof of recording %d: its hits: %w", recordingID, err)
	}
	if len(sum) != len(p.SHA256) {
		return Proof{}, fmt.Errorf("read the proof of recording %d: %w: a SHA-256 of %d bytes", recordingID, ErrBadProof, len(sum))
	}
	copy(p.SHA256[:], sum)
	for _, h := range hj {
		p.Hits = append(p.Hits, ProofHit{Channel: h.Channel, At: time.Duration(h.AtMs) * time.Millisecond})
	}
	p.KeysMasked, p.HitCount, p.FlatTones, p.Channels = keys, hitCount, flat, channels
	p.Duration = time.Duration(durMs) * time.Millisecond
	p.Checked = fromMillis(checked)
	return p, nil
}
