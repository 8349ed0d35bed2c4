package proof

import (
	"encoding/json"
	"fmt"
	"time"
)

// The JSON form, stored beside a recording and printed by verify --json:
//
//	{"verdict":"clean","keys_masked":4,"hit_count":0,"hits":[],
//	 "flat_tones":4,"flat_tone_times":[{"channel":0,"at_ms":5120},...],
//	 "detector":"spandsp dtmf_rx","detector_version":"0.0.6 (release 20110122 075024)",
//	 "sha256":"...","duration_ms":61240,"channels":2}
//
// Times are whole milliseconds from the file's first sample; channel 0 is
// the first (left) one. Lists are never null.

type hitJSON struct {
	Channel int   `json:"channel"`
	AtMs    int64 `json:"at_ms"`
}

type proofJSON struct {
	Verdict         string `json:"verdict"`
	KeysMasked      int    `json:"keys_masked"`
	HitCount        int    `json:"hit_count"`
	Hits            []Hit  `json:"hits"`
	FlatTones       int    `json:"flat_tones"`
	FlatToneTimes   []Hit  `json:"flat_tone_times"`
	Detector        string `json:"detector"`
	DetectorVersion string `json:"detector_version"`
	SHA256          string `json:"sha256"`
	DurationMs      int64  `json:"duration_ms"`
	Channels        int    `json:"channels"`
}

// MarshalJSON writes {"channel":0,"at_ms":1234}.
func (h Hit) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(hitJSON{Channel: h.Channel, AtMs: h.At.Milliseconds()})
	if err != nil {
		return nil, fmt.Errorf("proof: hit: %w", err)
	}
	return b, nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (h *Hit) UnmarshalJSON(b []byte) error {
	var w hitJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("proof: hit: %w", err)
	}
	*h = Hit{Channel: w.Channel, At: time.Duration(w.AtMs) * time.Millisecond}
	return nil
}

// MarshalJSON writes the proof's JSON form (see above).
func (p Proof) MarshalJSON() ([]byte, error) {
	w := proofJSON{
		Verdict: p.Verdict, KeysMasked: p.KeysMasked, HitCount: p.HitCount, Hits: p.Hits,
		FlatTones: p.FlatTones, FlatToneTimes: p.FlatToneTimes, Detector: p.Detector,
		DetectorVersion: p.DetectorVersion, SHA256: p.SHA256, DurationMs: p.Duration.Milliseconds(), Channels: p.Channels,
	}
	if w.Hits == nil {
		w.Hits = []Hit{}
	}
	if w.FlatToneTimes == nil {
		w.FlatToneTimes = []Hit{}
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("proof: %w", err)
	}
	return b, nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Proof) UnmarshalJSON(b []byte) error {
	var w proofJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("proof: %w", err)
	}
	*p = Proof{
		Verdict: w.Verdict, KeysMasked: w.KeysMasked, HitCount: w.HitCount, Hits: w.Hits,
		FlatTones: w.FlatTones, FlatToneTimes: w.FlatToneTimes, Detector: w.Detector,
		DetectorVersion: w.DetectorVersion, SHA256: w.SHA256,
		Duration: time.Duration(w.DurationMs) * time.Millisecond, Channels: w.Channels,
	}
	// Empty lists are nil, as Check leaves them.
	if len(p.Hits) == 0 {
		p.Hits = nil
	}
	if len(p.FlatToneTimes) == 0 {
		p.FlatToneTimes = nil
	}
	return nil
}
