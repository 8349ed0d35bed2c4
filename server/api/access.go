package api

// This file holds the access log's side of the API: what is written to it
// (plays and downloads of recordings, payments exports, user changes) and
// GET /api/v1/audit, which admins read it through.

import (
	"net/http"
	"time"

	"github.com/hushphone/hushphone/server/store"
)

// logAccess writes who did action to what. A request whose access cannot
// be logged is refused (500): nobody reads a recording unaudited.
func (s *Server) logAccess(w http.ResponseWriter, r *http.Request, action, object string) bool {
	se, _ := SessionFrom(r.Context())
	err := s.p.Store.AddAccess(r.Context(), store.Access{UserID: se.User.ID, UserName: se.User.Name, Action: action, Object: object})
	if err != nil {
		s.log.Error("write the access log", "action", action, "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not write its access log, so it does not serve this; try again")
		return false
	}
	return true
}

// noteChange records a change an admin made (to a user, a queue) in the
// server's log and the access log, with who made it. The change is made: a
// failure to write the access log is logged, not answered.
func (s *Server) noteChange(r *http.Request, action, object string) {
	se, _ := SessionFrom(r.Context())
	s.log.Info("admin change", "action", action, "object", object, "by", se.User.Name)
	if err := s.p.Store.AddAccess(r.Context(), store.Access{UserID: se.User.ID, UserName: se.User.Name, Action: action, Object: object}); err != nil {
		s.log.Error("write the access log", "action", action, "err", err)
	}
}

type accessResponse struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	User   string    `json:"user"`
	Action string    `json:"action"`
	Object string    `json:"object"`
}

// audit lists the access log, newest first, for admins: ?user=, ?action=,
// ?from=, ?to=, ?limit= (default 100, at most 10000).
func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.AccessFilter{User: q.Get("user"), Action: q.Get("action"), Limit: 100}
	if !readLimit(w, r, &f.Limit, maxListLimit) || !readPeriod(w, r, &f.From, &f.To) {
		return
	}
	entries, err := s.p.Store.ListAccess(r.Context(), f)
	if err != nil {
		s.log.Error("read the access log", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not read its access log; try again")
		return
	}
	out := make([]accessResponse, 0, len(entries))
	for _, a := range entries {
		out = append(out, accessResponse{ID: a.ID, At: a.At, User: a.UserName, Action: a.Action, Object: a.Object})
	}
	writeJSON(w, http.StatusOK, out)
}
