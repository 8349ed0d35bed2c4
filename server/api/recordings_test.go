package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/wav"
	"github.com/hushphone/hushphone/server/recorder"
	"github.com/hushphone/hushphone/server/store"
)

// oneSecondRecording writes a real one-second recording (silence, caller
// side) as DATA/recordings/name, not yet indexed, and returns DATA.
func (e *env) oneSecondRecording(name string) string {
	e.t.Helper()
	dataDir := filepath.Dir(e.store.Path())
	if err := os.MkdirAll(filepath.Join(dataDir, "recordings"), 0o700); err != nil {
		e.t.Fatal(err)
	}
	rec, err := recorder.Create(filepath.Join(dataDir, "recordings", name))
	if err != nil {
		e.t.Fatal(err)
	}
	frame := make([]byte, 160)
	g711.EncodeULawTo(frame, make([]int16, 160))
	for range 50 {
		if err := rec.Caller(frame, g711.ULaw); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := rec.Close(); err != nil {
		e.t.Fatal(err)
	}
	return dataDir
}

func TestRecordings(t *testing.T) {
	e := newEnv(t, cheap)
	ctx := context.Background()
	// A real one-second recording, indexed.
	e.oneSecondRecording("call-1.wav")
	r1, err := e.store.AddRecording(ctx, store.Recording{CallID: "call-1", Agent: "ann", Path: "recordings/call-1.wav", Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.AddRecording(ctx, store.Recording{CallID: "call-2", Agent: "ann", Path: "recordings/gone.wav"}); err != nil {
		t.Fatal(err)
	}

	sue, ann := e.signIn("sue"), e.signIn("ann")
	if r := e.do("GET", "/api/v1/recordings", ann, ""); r.status != http.StatusForbidden {
		t.Fatalf("agent lists recordings: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/recordings", "", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous lists recordings: %d", r.status)
	}
	r := e.do("GET", "/api/v1/recordings?limit=10", sue, "")
	if r.status != http.StatusOK || !strings.Contains(r.raw, `"call":"call-1"`) || !strings.Contains(r.raw, `"duration_ms":1000`) || !strings.Contains(r.raw, `"url":"/api/v1/recordings/`) {
		t.Fatalf("list: %d %s", r.status, r.raw)
	}
	if !strings.Contains(r.raw, `"verdict":"pending"`) || strings.Contains(r.raw, `"verdict":"clean"`) {
		t.Errorf("list before the check: %s; want every verdict pending", r.raw)
	}
	// By the caller's number, as the call log has it.
	if err := e.store.CallOffered(ctx, store.LoggedCall{CallID: "call-1", Queue: "default", Direction: store.DirectionIn, Caller: "+12025550123"}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{"(202)%20555-0123": "call-1", "5550123": "call-1", "5550124": ""} {
		r := e.do("GET", "/api/v1/recordings?caller="+q, sue, "")
		if got := strings.Contains(r.raw, `"call":"call-1","agent":"ann"`) && strings.Contains(r.raw, `"caller":"+12025550123"`); r.status != 200 || got != (want != "") || strings.Contains(r.raw, `"call-2"`) {
			t.Errorf("caller=%s: %d %s, want %q", q, r.status, r.raw, want)
		}
	}
	if r := e.do("GET", "/api/v1/recordings?limit=x", sue, ""); r.status != http.StatusBadRequest {
		t.Fatalf("bad limit: %d", r.status)
	}

	// Download: a playable stereo WAV.
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/api/v1/recordings/"+strconv.FormatInt(r1.ID, 10), nil)
	req.Header.Set("Authorization", "Bearer "+sue)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("download: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	b, _ := io.ReadAll(res.Body)
	a, err := wav.Read(bytes.NewReader(b))
	if err != nil || a.Channels != 2 || a.Frames() != 8000 {
		t.Fatalf("downloaded recording: %v %+v", err, a)
	}
	for _, c := range []struct {
		path string
		code int
	}{
		{"/api/v1/recordings/999", 404}, {"/api/v1/recordings/x", 400}, {"/api/v1/recordings/2", 404},
		{"/api/v1/recordings/999/proof", 404}, {"/api/v1/recordings/0/proof", 400},
		{"/api/v1/recordings/" + strconv.FormatInt(r1.ID, 10) + "/proof", 404}, // not checked yet
	} {
		if r := e.do("GET", c.path, sue, ""); r.status != c.code {
			t.Errorf("%s: %d, want %d (%s)", c.path, r.status, c.code, r.raw)
		}
	}
}

func TestRecordingProof(t *testing.T) {
	e := newEnv(t, cheap)
	ctx := context.Background()
	r1, err := e.store.AddRecording(ctx, store.Recording{CallID: "call-1", Agent: "ann", Path: "recordings/call-1.wav"})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e.store.AddRecording(ctx, store.Recording{CallID: "call-2", Agent: "ann", Path: "recordings/call-2.wav"})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("the WAV"))
	checked := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC)
	if err := e.store.SaveProof(ctx, r1.ID, store.Proof{
		Verdict: store.VerdictSuspect, KeysMasked: 23, HitCount: 1, FlatTones: 22, Detector: "spandsp dtmf_rx", DetectorVersion: "0.0.6",
		Hits:   []store.ProofHit{{Channel: 0, At: 1520 * time.Millisecond}},
		SHA256: sum, Duration: 95 * time.Second, Channels: 2, Checked: checked,
	}); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/recordings/" + strconv.FormatInt(r1.ID, 10) + "/proof"
	sue, ann := e.signIn("sue"), e.signIn("ann")
	if r := e.do("GET", path, ann, ""); r.status != http.StatusForbidden {
		t.Errorf("an agent reads a proof: %d", r.status)
	}
	if r := e.do("GET", path, "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous reads a proof: %d", r.status)
	}
	r := e.do("GET", path, sue, "")
	if r.status != http.StatusOK {
		t.Fatalf("proof: %d %s", r.status, r.raw)
	}
	var got proofResponse
	if err := json.Unmarshal([]byte(r.raw), &got); err != nil {
		t.Fatal(err)
	}
	want := proofResponse{
		Recording: r1.ID, Verdict: "suspect", KeysMasked: 23, HitCount: 1, Hits: []proofHit{{Channel: 0, AtMs: 1520}},
		FlatTones: 22, Detector: "spandsp dtmf_rx", DetectorVersion: "0.0.6", SHA256: hex.EncodeToString(sum[:]),
		DurationMs: 95000, Channels: 2, Checked: checked,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("proof %+v\nwant %+v", got, want)
	}
	r = e.do("GET", "/api/v1/recordings", sue, "")
	var list []recordingResponse
	if err := json.Unmarshal([]byte(r.raw), &list); err != nil {
		t.Fatal(err)
	}
	verdicts := map[int64]string{}
	for _, rec := range list {
		verdicts[rec.ID] = rec.Verdict
	}
	if verdicts[r1.ID] != "suspect" || verdicts[r2.ID] != "pending" {
		t.Errorf("verdicts in the list %v", verdicts)
	}
}
