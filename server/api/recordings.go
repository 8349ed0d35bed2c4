package api

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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
}

// recordings lists the newest recordings (?limit=N, default 100) for
// supervisors and admins.
func (s *Server) recordings(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to 10000")
			return
		}
		limit = n
	}
	recs, err := s.p.Store.ListRecordings(r.Context(), limit)
	if err != nil {
		s.log.Error("list recordings", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not list recordings; try again")
		return
	}
	out := make([]recordingResponse, 0, len(recs))
	for _, rec := range recs {
		out = append(out, recordingResponse{
			ID: rec.ID, Call: rec.CallID, Agent: rec.Agent, Started: rec.Started,
			DurationMs: rec.Duration.Milliseconds(), URL: "/api/v1/recordings/" + strconv.FormatInt(rec.ID, 10),
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
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `attachment; filename="recording-`+strconv.FormatInt(id, 10)+`.wav"`)
	http.ServeContent(w, r, "", fi.ModTime(), f)
}
