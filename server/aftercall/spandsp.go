package aftercall

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/hushphone/hushphone/server/proof"
	"github.com/hushphone/hushphone/server/store"
)

// Available says whether this build has the independent detector
// (server/proof's spandsp, through cgo); without it there is nothing to
// check recordings with.
const Available = proof.Available

// Spandsp is the CheckFunc of the server: server/proof's check (spandsp's
// dtmf_rx on every channel of the file), as the store keeps it.
func Spandsp(ctx context.Context, path string) (store.Proof, error) {
	p, err := proof.CheckFile(ctx, path)
	if err != nil {
		return store.Proof{}, fmt.Errorf("check: %w", err)
	}
	return fromProof(p)
}

// fromProof is p as the store keeps it. The hits are as many as
// server/proof lists (its MaxListed, which is the store's MaxProofHits).
func fromProof(p proof.Proof) (store.Proof, error) {
	var sp store.Proof
	sum, err := hex.DecodeString(p.SHA256)
	if err != nil || len(sum) != len(sp.SHA256) {
		return store.Proof{}, fmt.Errorf("%w: the check gave a SHA-256 of %d characters", store.ErrBadProof, len(p.SHA256))
	}
	copy(sp.SHA256[:], sum)
	sp.Verdict, sp.KeysMasked, sp.HitCount, sp.FlatTones = p.Verdict, max(p.KeysMasked, 0), p.HitCount, p.FlatTones
	sp.Detector, sp.DetectorVersion, sp.Duration, sp.Channels = p.Detector, p.DetectorVersion, p.Duration, p.Channels
	for _, h := range p.Hits[:min(len(p.Hits), store.MaxProofHits)] {
		sp.Hits = append(sp.Hits, store.ProofHit{Channel: h.Channel, At: h.At})
	}
	return sp, nil
}
