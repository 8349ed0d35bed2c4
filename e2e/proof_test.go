package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/server/store"
)

// proofJSON is GET /api/v1/recordings/{id}/proof's answer.
type proofJSON struct {
	Recording  int64  `json:"recording"`
	Verdict    string `json:"verdict"`
	KeysMasked int    `json:"keys_masked"`
	HitCount   int    `json:"hit_count"`
	Hits       []struct {
		Channel int   `json:"channel"`
		AtMs    int64 `json:"at_ms"`
	} `json:"hits"`
	FlatTones       int    `json:"flat_tones"`
	Detector        string `json:"detector"`
	DetectorVersion string `json:"detector_version"`
	SHA256          string `json:"sha256"`
	DurationMs      int64  `json:"duration_ms"`
	Channels        int    `json:"channels"`
}

// checkProof: once the call is over, its recording's masking proof
// appears: clean, every key the payment side got counted as masked, no
// hit, the WAV's SHA-256; the list shows the verdict, the proof endpoint
// returns it, and /metrics counted the check. The supervisor "sue" reads
// them through the API.
func checkProof(t *testing.T, srv *stacktest.Stack) {
	t.Helper()
	ctx := context.Background()
	recs, err := srv.Store.ListRecordings(ctx, 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("recordings %+v, %v; want one", recs, err)
	}
	rec := recs[0]
	var p store.Proof
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err = srv.Store.ProofOf(ctx, rec.ID)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no proof for the recording: %v", err)
	}
	keys := 0
	for _, k := range srv.Keys() {
		if k.Phase == dtmf.KeyDown {
			keys++
		}
	}
	b, err := os.ReadFile(filepath.Join(srv.DataDir, rec.Path))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if p.Verdict != store.VerdictClean || p.HitCount != 0 || len(p.Hits) != 0 || p.KeysMasked != keys || keys == 0 ||
		p.SHA256 != sum || p.Channels != 2 || p.Detector == "" || p.DetectorVersion == "" || p.Duration < 5*time.Second {
		t.Errorf("proof %+v; want clean, no hit, %d keys masked, two channels, the file's SHA-256 %x", p, keys, sum)
	}
	// Every masked key left one flat tone, unless it was too short to.
	if p.FlatTones > keys || p.FlatTones < keys/2 {
		t.Errorf("%d flat tones for %d keys masked", p.FlatTones, keys)
	}

	code, err := srv.Code(ctx, "sue")
	if err != nil {
		t.Fatal(err)
	}
	sue := restSignIn(t, srv.URL, "sue", "sue-password", code)
	var list []struct {
		ID      int64  `json:"id"`
		Verdict string `json:"verdict"`
	}
	if st := sue.do("GET", "/api/v1/recordings", nil, &list); st != 200 || len(list) != 1 || list[0].ID != rec.ID || list[0].Verdict != "clean" {
		t.Errorf("the list: %d %+v; want recording %d, clean", st, list, rec.ID)
	}
	var pj proofJSON
	if st := sue.do("GET", "/api/v1/recordings/"+strconv.FormatInt(rec.ID, 10)+"/proof", nil, &pj); st != 200 {
		t.Fatalf("the proof: %d", st)
	}
	if pj.Recording != rec.ID || pj.Verdict != "clean" || pj.KeysMasked != keys || pj.HitCount != 0 || len(pj.Hits) != 0 ||
		pj.SHA256 != hex.EncodeToString(sum[:]) || pj.FlatTones != p.FlatTones || pj.Channels != 2 || pj.DurationMs != p.Duration.Milliseconds() {
		t.Errorf("the proof from the API %+v; want the stored %+v", pj, p)
	}

	res, err := http.Get(srv.MetricsURL())
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	for _, want := range []string{"hushphone_recordings_checked_total 1\n", "hushphone_recordings_suspect_total 0\n"} {
		if !strings.Contains(string(mb), want) {
			t.Errorf("metrics: no %q", strings.TrimSpace(want))
		}
	}
}
