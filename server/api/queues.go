package api

// This file holds the call queues' administration: a queue takes the
// calls to one dialled number and rings its members, the longest idle
// first; the default queue takes every other call (its members: the
// agents in no queue, and those made its members).

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/hushphone/hushphone/server/store"
)

type queueResponse struct {
	Name    string   `json:"name"`
	Number  string   `json:"number"` // "" for the default queue
	Members []string `json:"members"`
}

func (s *Server) queueRoutes(r chi.Router) {
	r.With(RequireRole(store.RoleSupervisor, store.RoleAdmin)).Get("/queues", s.listQueues)
	admin := r.With(RequireRole(store.RoleAdmin))
	admin.Post("/queues", s.addQueue)
	admin.Put("/queues/{name}/members", s.setQueueMembers)
	admin.Delete("/queues/{name}", s.removeQueue)
}

func (s *Server) listQueues(w http.ResponseWriter, r *http.Request) {
	qs, err := s.p.Store.ListQueues(r.Context())
	if err != nil {
		s.log.Error("list queues", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not list the queues; try again")
		return
	}
	out := make([]queueResponse, 0, len(qs))
	for _, q := range qs {
		out = append(out, queueResponse{Name: q.Name, Number: q.Number, Members: nonNil(q.Members)})
	}
	writeJSON(w, http.StatusOK, out)
}

type addQueueRequest struct {
	Name    string   `json:"name"`
	Number  string   `json:"number"`
	Members []string `json:"members,omitempty"`
}

// maxQueueMembers bounds one queue's members in a request.
const maxQueueMembers = 1000

func (s *Server) addQueue(w http.ResponseWriter, r *http.Request) {
	var req addQueueRequest
	if !decode(w, r, &req) {
		return
	}
	if store.CheckQueue(req.Name, req.Number) != nil {
		writeError(w, http.StatusBadRequest, "a queue's name is 1-64 letters, digits, '.', '_' or '-' (not default), its number 1-32 digits, letters or '+*#._-', neither with 12 digits in a row")
		return
	}
	if len(req.Members) > maxQueueMembers {
		writeError(w, http.StatusBadRequest, "at most 1000 members")
		return
	}
	ctx := r.Context()
	err := s.p.Store.AddQueue(ctx, req.Name, req.Number)
	if errors.Is(err, store.ErrQueueExists) {
		writeError(w, http.StatusConflict, "a queue of that name, or for that number, already exists")
		return
	}
	if !s.storeDone(w, err, "add the queue") {
		return
	}
	if len(req.Members) > 0 && !s.membersDone(w, s.p.Store.SetQueueMembers(ctx, req.Name, req.Members)) {
		_ = s.p.Store.RemoveQueue(ctx, req.Name) // all or nothing
		return
	}
	s.queuesChanged(r, req.Name+": added for "+req.Number)
	writeJSON(w, http.StatusCreated, queueResponse{Name: req.Name, Number: req.Number, Members: nonNil(req.Members)})
}

type membersRequest struct {
	Members []string `json:"members"`
}

func (s *Server) setQueueMembers(w http.ResponseWriter, r *http.Request) {
	var req membersRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.Members) > maxQueueMembers {
		writeError(w, http.StatusBadRequest, "at most 1000 members")
		return
	}
	name := chi.URLParam(r, "name")
	if !s.membersDone(w, s.p.Store.SetQueueMembers(r.Context(), name, req.Members)) {
		return
	}
	s.queuesChanged(r, name+": members set")
	w.WriteHeader(http.StatusNoContent)
}

// membersDone answers for SetQueueMembers' error; it reports err == nil.
func (s *Server) membersDone(w http.ResponseWriter, err error) bool {
	switch {
	case errors.Is(err, store.ErrNoQueue):
		writeError(w, http.StatusNotFound, "no such queue (GET /api/v1/queues lists them)")
		return false
	case errors.Is(err, store.ErrNoUser):
		writeError(w, http.StatusBadRequest, "every member must be an agent's name (GET /api/v1/users lists them)")
		return false
	}
	return s.storeDone(w, err, "set the queue's members")
}

func (s *Server) removeQueue(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	err := s.p.Store.RemoveQueue(r.Context(), name)
	if errors.Is(err, store.ErrNoQueue) {
		writeError(w, http.StatusNotFound, "no such queue (the default queue cannot be removed)")
		return
	}
	if !s.storeDone(w, err, "remove the queue") {
		return
	}
	s.queuesChanged(r, name+": removed")
	w.WriteHeader(http.StatusNoContent)
}

// queuesChanged reloads the call path's queues and records the change.
func (s *Server) queuesChanged(r *http.Request, what string) {
	s.reloadQueues(r)
	s.noteChange(r, store.AccessQueueChange, what)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
