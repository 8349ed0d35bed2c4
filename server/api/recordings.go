package api

import (
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/hushphone/hushphone/server/store"
)

// recordingResponse is one recording in the list.
type recordingResponse struct {
	ID         int64     `json:"id"`
	Call       string    `json:"call"`
	Agent      string    `json:"agent"`
	Started    time.Time `json:"started"`
	DurationMs int64     `json:"duration_ms"`
	URL        string    `json:"url"`
	// Verdict is the masking proof's: clean, suspect, or pending until
	// the recording has been checked.
	Verdict string `json:"verdict"`
	// Caller is the other party's number as the call log keeps it
	// (store.CallerNumber: one that could be a card number only as its
	// last four), "" when the log has none.
	Caller string `json:"caller"`
}

// verdictPending is a recording's verdict before its check has run.
const verdictPending = "pending"

// recordings lists the newest recordings (?limit=N, default 100) for
// supervisors and admins, narrowed by ?agent=, ?caller=, ?call=, ?from=
// and ?to=.
func (s *Server) recordings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.RecordingFilter{Agent: q.Get("agent"), Caller: q.Get("caller"), CallID: q.Get("call"), Limit: 100}
	if !readLimit(w, r, &f.Limit, maxListLimit) || !readPeriod(w, r, &f.From, &f.To) {
		return
	}
	recs, err := s.p.Store.FindRecordings(r.Context(), f)
	if err != nil {
		s.log.Error("list recordings", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not list recordings; try again")
		return
	}
	out := make([]recordingResponse, 0, len(recs))
	for _, rec := range recs {
		verdict := rec.Verdict
		if verdict == "" {
			verdict = verdictPending
		}
		out = append(out, recordingResponse{
			ID: rec.ID, Call: rec.CallID, Agent: rec.Agent, Started: rec.Started,
			DurationMs: rec.Duration.Milliseconds(), URL: "/api/v1/recordings/" + strconv.FormatInt(rec.ID, 10),
			Verdict: verdict, Caller: rec.Caller,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// recording downloads one recording's WAV file.
func (s *Server) recording(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "a recording's id is a positive number")
		return
	}
	rec, err := s.p.Store.RecordingByID(r.Context(), id)
	if errors.Is(err, store.ErrNoRecording) {
		writeError(w, http.StatusNotFound, "no such recording")
		return
	}
	if err != nil {
		s.log.Error("look up recording", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not look the recording up; try again")
		return
	}
	// The index only holds paths inside the data directory; check again.
	if !filepath.IsLocal(filepath.FromSlash(rec.Path)) {
		writeError(w, http.StatusNotFound, "no such recording")
		return
	}
	f, err := os.Open(filepath.Join(filepath.Dir(s.p.Store.Path()), filepath.FromSlash(rec.Path)))
	if err != nil {
		s.log.Warn("recording file missing", "id", id, "err", err)
		writeError(w, http.StatusNotFound, "that recording is indexed but its file is gone")
		return
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "the server could not read the recording; try again")
		return
	}
	// Played in the page (?play=1, inline) or downloaded: either way the
	// access log says who. A request for the file from its start is a new
	// play or download; a range further in is a player's next request,
	// logged too unless this user's play or download of it was logged in
	// the last hour (so no range request reads the file unlogged).
	action, disposition := store.AccessRecordingDownload, "attachment"
	if r.URL.Query().Get("play") == "1" {
		action, disposition = store.AccessRecordingPlay, "inline"
	}
	object := strconv.FormatInt(id, 10)
	logIt := true
	if rg := r.Header.Get("Range"); rg != "" && !strings.HasPrefix(rg, "bytes=0-") {
		se, _ := SessionFrom(r.Context())
		recent, err := s.p.Store.RecordingAccessedSince(r.Context(), se.User.ID, id, s.p.Now().Add(-time.Hour))
		logIt = err != nil || !recent
	}
	if logIt && !s.logAccess(w, r, action, object) {
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", disposition+`; filename="recording-`+strconv.FormatInt(id, 10)+`.wav"`)
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// proofHit is one key press the independent detector found: when and on
// which channel, never which key.
type proofHit struct {
	Channel int   `json:"channel"`
	AtMs    int64 `json:"at_ms"`
}

// proofResponse is a recording's masking proof.
type proofResponse struct {
	Recording       int64      `json:"recording"`
	Verdict         string     `json:"verdict"`
	KeysMasked      int        `json:"keys_masked"`
	HitCount        int        `json:"hit_count"`
	Hits            []proofHit `json:"hits"`
	FlatTones       int        `json:"flat_tones"`
	Detector        string     `json:"detector"`
	DetectorVersion string     `json:"detector_version"`
	SHA256          string     `json:"sha256"`
	DurationMs      int64      `json:"duration_ms"`
	Channels        int        `json:"channels"`
	Checked         time.Time  `json:"checked"`
}

// proof returns a recording's masking proof, for those who may download
// the recording.
func (s *Server) proof(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "a recording's id is a positive number")
		return
	}
	p, err := s.p.Store.ProofOf(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNoRecording):
		writeError(w, http.StatusNotFound, "no such recording")
		return
	case errors.Is(err, store.ErrNoProof):
		writeError(w, http.StatusNotFound, "that recording has not been checked yet; its check runs once its call is over")
		return
	case err != nil:
		s.log.Error("read a recording's proof", "id", id, "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not read the proof; try again")
		return
	}
	out := proofResponse{
		Recording: id, Verdict: p.Verdict, KeysMasked: p.KeysMasked, HitCount: p.HitCount, Hits: make([]proofHit, 0, len(p.Hits)),
		FlatTones: p.FlatTones, Detector: p.Detector, DetectorVersion: p.DetectorVersion,
		SHA256: hex.EncodeToString(p.SHA256[:]), DurationMs: p.Duration.Milliseconds(), Channels: p.Channels, Checked: p.Checked,
	}
	for _, h := range p.Hits {
		out.Hits = append(out.Hits, proofHit{Channel: h.Channel, AtMs: h.At.Milliseconds()})
	}
	writeJSON(w, http.StatusOK, out)
}
