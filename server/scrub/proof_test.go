package scrub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testwav"
	"github.com/hushphone/hushphone/server/proof"
)

// TestFileProof: with Proof, the output's proof goes beside it: clean, one
// flat tone per key press masked, the output's SHA-256, no digit; and an
// existing proof is never replaced without Force.
func TestFileProof(t *testing.T) {
	const digits = "4929871234567890"
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
	h := testwav.Header{Tag: testwav.TagPCM, Channels: 1, SampleRate: 8000, Bits: 16}
	x, _ := testwav.DTMF(digits, 200*time.Millisecond, 80*time.Millisecond, 100*time.Millisecond, -10)
	if err := os.WriteFile(in, testwav.Encode(h, x), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := File(context.Background(), in, out, "", Options{Proof: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(ProofPath(out))
	if err != nil {
		t.Fatal(err)
	}
	var p proof.Proof
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	audio, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(audio)
	switch {
	case res.Proof == nil || res.Proof.SHA256 != p.SHA256:
		t.Errorf("the result's proof %+v is not the file's %+v", res.Proof, p)
	case p.Verdict != proof.VerdictClean || p.HitCount != 0:
		t.Errorf("verdict %s, %d hits: want clean", p.Verdict, p.HitCount)
	case p.KeysMasked != len(digits) || res.KeyPresses != len(digits) || p.FlatTones != len(digits):
		t.Errorf("keys masked %d, key presses %d, flat tones %d: want %d each", p.KeysMasked, res.KeyPresses, p.FlatTones, len(digits))
	case p.SHA256 != hex.EncodeToString(sum[:]):
		t.Errorf("proof sha256 %s, the output's is %x", p.SHA256, sum)
	}
	for i := 0; i+4 <= len(digits); i++ {
		if bytes.Contains(b, []byte(digits[i:i+4])) {
			t.Errorf("the proof holds %q: %s", digits[i:i+4], b)
		}
	}

	// Again, without Force: the proof (or the audio) exists.
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	if _, err := File(context.Background(), in, out, "", Options{Proof: true}, nil); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), ProofPath(out)) {
		t.Errorf("an existing proof: %v, want ErrExists naming it", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the audio was written all the same: %v", err)
	}
	if _, err := File(context.Background(), in, out, "", Options{Proof: true, Force: true}, nil); err != nil {
		t.Errorf("with Force: %v", err)
	}
}

// TestTreeProof: a folder's outputs each get their proof, and the summary
// counts them.
func TestTreeProof(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	h := testwav.Header{Tag: testwav.TagMuLaw, Channels: 2, SampleRate: 8000, Bits: 8}
	x, _ := testwav.DTMF("1234", 200*time.Millisecond, 80*time.Millisecond, 100*time.Millisecond, -10)
	for _, name := range []string{"a.wav", "sub/b.wav"} {
		p := filepath.Join(in, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, testwav.Encode(h, testwav.Interleave(x, x)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Tree(context.Background(), in, out, "", TreeOptions{Options: Options{Proof: true}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Proofs != 2 || len(res.Suspect) != 0 {
		t.Errorf("%d proofs, suspect %v: want 2 and none", res.Proofs, res.Suspect)
	}
	for _, name := range []string{"a.wav", "sub/b.wav"} {
		b, err := os.ReadFile(ProofPath(filepath.Join(out, name)))
		if err != nil {
			t.Fatal(err)
		}
		var p proof.Proof
		if err := json.Unmarshal(b, &p); err != nil || p.Verdict != proof.VerdictClean || p.FlatTones != 8 || p.KeysMasked != 8 {
			t.Errorf("%s: %s (%v): want clean, 8 flat tones and keys", name, b, err)
		}
	}
	var sb strings.Builder
	if err := res.WriteSummary(&sb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "Proofs: 2 clean, 0 suspect") {
		t.Errorf("summary:\n%s", sb.String())
	}
}
