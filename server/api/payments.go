package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/hushphone/hushphone/payment/session"
	"github.com/hushphone/hushphone/server/pay"
	"github.com/hushphone/hushphone/server/store"
)

// Payments are the secure-pay sessions (*pay.Manager).
type Payments interface {
	Start(ctx context.Context, agent, call string, r pay.Request) (pay.Status, error)
	Ask(agent, id string, f session.Field) (pay.Status, error)
	Reset(agent, id string, f session.Field) (pay.Status, error)
	Cancel(ctx context.Context, agent, id string) (pay.Status, error)
	Submit(ctx context.Context, agent, id string) (pay.Status, error)
	Status(ctx context.Context, user string, userID int64, supervisor bool, id string) (pay.Status, error)
}

// payRoutes are the secure-pay endpoints (docs/openapi.yaml):
//
//	POST /api/v1/calls/{call}/payments                   agents: start a session on their call (201)
//	GET  /api/v1/payments[?call=ID&limit=N]              the audit, newest first (agents: their own)
//	GET  /api/v1/payments/{id}                           a session's status
//	POST /api/v1/payments/{id}/fields/{field}/ask        have the caller type a field again
//	POST /api/v1/payments/{id}/fields/{field}/reset      clear a field
//	POST /api/v1/payments/{id}/cancel                    end the session, nothing charged
//	POST /api/v1/payments/{id}/submit                    send it to the gateway; answers with the outcome
func (s *Server) payRoutes(r chi.Router) {
	agent := RequireRole(store.RoleAgent)
	r.With(agent).Post("/calls/{call}/payments", s.payStart)
	r.Get("/payments", s.payList)
	r.Get("/payments/{id}", s.payStatus)
	r.With(agent).Post("/payments/{id}/fields/{field}/ask", s.payField(true))
	r.With(agent).Post("/payments/{id}/fields/{field}/reset", s.payField(false))
	r.With(agent).Post("/payments/{id}/cancel", s.payCancel)
	r.With(agent).Post("/payments/{id}/submit", s.paySubmit)
}

// payments returns the Payments, or answers 503.
func (s *Server) payments(w http.ResponseWriter) (Payments, bool) {
	if s.p.Payments == nil {
		writeError(w, http.StatusServiceUnavailable, "this server takes no payments")
		return nil, false
	}
	return s.p.Payments, true
}

// payError answers with the status that fits a payment error.
func (s *Server) payError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, pay.ErrBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, pay.ErrNoSession):
		status = http.StatusNotFound
	case errors.Is(err, pay.ErrForbidden):
		status = http.StatusForbidden
	case errors.Is(err, pay.ErrNotYourCall), errors.Is(err, pay.ErrActive), errors.Is(err, pay.ErrNotReady),
		errors.Is(err, pay.ErrOver), errors.Is(err, pay.ErrSubmitting):
		status = http.StatusConflict
	case errors.Is(err, pay.ErrClosed):
		status = http.StatusServiceUnavailable
	default:
		s.log.Error("payment request", "err", err)
		writeError(w, status, "the server failed; try again")
		return
	}
	writeError(w, status, err.Error())
}

func (s *Server) payStart(w http.ResponseWriter, r *http.Request) {
	p, ok := s.payments(w)
	if !ok {
		return
	}
	var req pay.Request
	if !decode(w, r, &req) {
		return
	}
	se, _ := SessionFrom(r.Context())
	call, err := url.PathUnescape(chi.URLParam(r, "call")) // a SIP Call-ID holds '@', which clients escape
	if err != nil {
		writeError(w, http.StatusBadRequest, "the call's id in the path is not properly escaped")
		return
	}
	st, err := p.Start(r.Context(), se.User.Name, call, req)
	if err != nil {
		s.payError(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/payments/"+st.ID)
	writeJSON(w, http.StatusCreated, st)
}

func isSupervisor(r store.Role) bool { return r == store.RoleSupervisor || r == store.RoleAdmin }

func (s *Server) payStatus(w http.ResponseWriter, r *http.Request) {
	p, ok := s.payments(w)
	if !ok {
		return
	}
	se, _ := SessionFrom(r.Context())
	st, err := p.Status(r.Context(), se.User.Name, se.User.ID, isSupervisor(se.User.Role), chi.URLParam(r, "id"))
	if err != nil {
		s.payError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) payList(w http.ResponseWriter, r *http.Request) {
	f, csvOut, ok := paymentFilter(w, r)
	if !ok {
		return
	}
	se, _ := SessionFrom(r.Context())
	sup := isSupervisor(se.User.Role)
	if !sup {
		f.AgentID = se.User.ID // by id: never a removed user's of the same name
	}
	ps, err := s.p.Store.FindPayments(r.Context(), f)
	if err != nil {
		s.log.Error("list payments", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not list payments; try again")
		return
	}
	if csvOut {
		if !s.logAccess(w, r, store.AccessPaymentsExport, exportObject(f)) {
			return
		}
		s.paymentsCSV(w, ps)
		return
	}
	out := make([]pay.Status, 0, len(ps))
	for _, p := range ps {
		st := pay.FromAudit(p)
		if p.Outcome == "" && s.p.Payments != nil {
			// Under way: its live status, not the row's.
			if live, err := s.p.Payments.Status(r.Context(), se.User.Name, se.User.ID, sup, p.ID); err == nil {
				st = live
			}
		}
		out = append(out, st)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) payField(ask bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.payments(w)
		if !ok {
			return
		}
		se, _ := SessionFrom(r.Context())
		id, f := chi.URLParam(r, "id"), session.Field(chi.URLParam(r, "field"))
		var st pay.Status
		var err error
		if ask {
			st, err = p.Ask(se.User.Name, id, f)
		} else {
			st, err = p.Reset(se.User.Name, id, f)
		}
		if err != nil {
			s.payError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	}
}

func (s *Server) payCancel(w http.ResponseWriter, r *http.Request) {
	p, ok := s.payments(w)
	if !ok {
		return
	}
	se, _ := SessionFrom(r.Context())
	st, err := p.Cancel(r.Context(), se.User.Name, chi.URLParam(r, "id"))
	if err != nil {
		s.payError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) paySubmit(w http.ResponseWriter, r *http.Request) {
	p, ok := s.payments(w)
	if !ok {
		return
	}
	se, _ := SessionFrom(r.Context())
	st, err := p.Submit(r.Context(), se.User.Name, chi.URLParam(r, "id"))
	if err != nil {
		s.payError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
