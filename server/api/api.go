// Package api is the server's HTTP API (chi): health, sign-in sessions,
// and the authentication every other call goes through.
//
//	GET    /healthz         200 {"status":"ok"}, 503 if the database does not answer
//	POST   /api/v1/session  {"name","password"[,"code"]} -> 200 {"token","role","expires"}
//	                        401 {"error":"wrong name or password"} (unknown names too)
//	                        401 {"error","code":"mfa_required"|"mfa_invalid"}: send, or fix, the one-time code
//	                        403 {"error","code":"mfa_enroll"}: the account needs a second factor enrolled
//	                        429 after too many failures for one name from one address, or from one address (Retry-After)
//	                        503 when too many sign-ins are being checked at once (Retry-After: 1)
//	DELETE /api/v1/session  sign out: the token stops working (204)
//	GET    /api/v1/me       who the token belongs to: {"name","role","expires"}
//	GET    /api/v1/users    supervisors and admins: every user's name, role, created, disabled, mfa
//	                        (admins also add, change and remove users: users.go)
//
// Recordings, secure pay and the wallboard's figures have their own
// endpoints (recordings.go, payments.go, stats.go); docs/openapi.yaml
// describes them all.
//
// Every call but /healthz and sign-in needs "Authorization: Bearer TOKEN"
// (401 without one, or when it has expired or been signed out); RequireRole
// guards calls for some roles only (403 for others). Every error is JSON,
// {"error":"what was wrong and what to do"}; request bodies are limited to
// MaxBody bytes (413 beyond).
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/store"
)

// MaxBody is the largest request body the API reads, in bytes.
const MaxBody = 8 << 10

// Defaults for Params.
const (
	DefaultSessionTTL      = 12 * time.Hour
	DefaultFailLimit       = 5
	DefaultSourceFailLimit = 30
	DefaultFailWindow      = time.Minute
)

// Params are what the API needs.
type Params struct {
	Store      *store.Store // required
	Logger     *slog.Logger // nil: discard
	SessionTTL time.Duration
	// FailLimit sign-ins for one name from one source (the client's
	// address), and SourceFailLimit from one source for any names, within
	// FailWindow make further attempts from there wait (429) until the
	// oldest leaves the window. Attempts for one name from one source
	// count from when they start, so those in flight count; good ones are
	// taken back (limit.go).
	FailLimit       int
	SourceFailLimit int
	FailWindow      time.Duration
	// MaxLimitKeys bounds each of the limit's tables (names and sources
	// tracked; 0: DefaultMaxLimitKeys): beyond it the least recently used
	// is forgotten.
	MaxLimitKeys int
	// Now is the clock for the rate limit (nil: time.Now); sessions use the
	// store's clock.
	Now func() time.Time
	// Hash are the parameters of the hash that sign-ins for unknown names
	// are checked against, so they take as long as for known ones (zero:
	// auth.DefaultParams).
	Hash auth.Params
	// MaxHashing bounds the password checks that run at once (each holds
	// the hash's memory, 64 MiB by default): 0 is two per CPU. Up to
	// MaxWaiting more sign-ins wait their turn (0: 64 per running check);
	// beyond that a sign-in gets 503 and Retry-After, so a burst of
	// sign-ins (a shift starting, a flood) cannot exhaust the memory.
	MaxHashing, MaxWaiting int
	// MFAAgents makes a second factor (TOTP) required for agents too, not
	// only for supervisors and admins (mfa.go).
	MFAAgents bool
	// Payments are the secure-pay sessions (nil: the payment endpoints
	// answer 503).
	Payments Payments
	// OnSignOut, if set, is told of each session signed out (its token's
	// hash), once it is deleted: the WebSocket hub closes the session's
	// connections at once (signal.Hub.EndSession).
	OnSignOut func(tokenHash []byte)
	// AllowedOrigins are the web origins (scheme://host[:port], lower
	// case) whose pages may call the API from a browser (cors.go).
	AllowedOrigins []string
	// OnQueuesChanged, if set, is told when an admin changed the queues
	// (the call path's directory reloads them).
	OnQueuesChanged func(ctx context.Context) error
}

// Server is the HTTP API.
type Server struct {
	p       Params
	log     *slog.Logger
	limit   *limiter
	dummy   string // a hash no password matches, for unknown names
	handler http.Handler

	hashing chan struct{} // a slot per password check running
	waiting atomic.Int64  // sign-ins waiting for a slot
	verify  func(password, encoded string) error
}

// New builds the API.
func New(p Params) (*Server, error) {
	if p.Store == nil {
		return nil, errors.New("api: Params.Store is required") //nolint:err113 // a programming error
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.SessionTTL <= 0 {
		p.SessionTTL = DefaultSessionTTL
	}
	if p.FailLimit <= 0 {
		p.FailLimit = DefaultFailLimit
	}
	if p.SourceFailLimit <= 0 {
		p.SourceFailLimit = DefaultSourceFailLimit
	}
	if p.FailWindow <= 0 {
		p.FailWindow = DefaultFailWindow
	}
	if p.MaxLimitKeys <= 0 {
		p.MaxLimitKeys = DefaultMaxLimitKeys
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Hash == (auth.Params{}) {
		p.Hash = auth.DefaultParams
	}
	tok, _, err := auth.NewToken()
	if err != nil {
		return nil, err //nolint:wrapcheck // auth's error says what failed
	}
	dummy, err := p.Hash.Hash(tok)
	if err != nil {
		return nil, err //nolint:wrapcheck // auth's error says what failed
	}
	if p.MaxHashing <= 0 {
		p.MaxHashing = 2 * runtime.GOMAXPROCS(0)
	}
	if p.MaxWaiting <= 0 {
		p.MaxWaiting = 64 * p.MaxHashing
	}
	s := &Server{p: p, log: p.Logger, limit: newLimiter(p.FailLimit, p.SourceFailLimit, p.FailWindow, p.MaxLimitKeys), dummy: dummy,
		hashing: make(chan struct{}, p.MaxHashing), verify: auth.Verify}
	s.handler = s.routes()
	return s, nil
}

// Handler is the API's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.cors)
	// Error texts never repeat what the client sent (the path, the
	// method, a field's name or value): docs/openapi.yaml has the paths.
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: the API's paths are in docs/openapi.yaml")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "this method is not allowed on this endpoint (the Allow header has the ones that are)")
	})
	r.Get("/healthz", s.healthz)
	r.Route("/api/v1", func(r chi.Router) {
		r.Post("/session", s.signIn)
		r.Group(func(r chi.Router) {
			r.Use(s.Authenticate)
			r.Delete("/session", s.signOut)
			r.Get("/me", s.me)
			r.With(RequireRole(store.RoleSupervisor, store.RoleAdmin)).Get("/users", s.users)
			s.userRoutes(r)
			s.queueRoutes(r)
			r.With(RequireRole(store.RoleSupervisor, store.RoleAdmin)).Get("/recordings", s.recordings)
			r.With(RequireRole(store.RoleSupervisor, store.RoleAdmin)).Get("/recordings/{id}", s.recording)
			r.With(RequireRole(store.RoleSupervisor, store.RoleAdmin)).Get("/recordings/{id}/proof", s.proof)
			r.With(RequireRole(store.RoleSupervisor, store.RoleAdmin)).Get("/stats", s.stats)
			r.With(RequireRole(store.RoleAdmin)).Get("/audit", s.audit)
			s.payRoutes(r)
		})
	})
	return r
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.p.Store.Ping(r.Context()); err != nil {
		s.log.Error("health check", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the database does not answer")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type signInRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Code     string `json:"code,omitempty"` // TOTP or recovery code (mfa.go)
}

type sessionResponse struct {
	Token   string    `json:"token,omitempty"`
	Name    string    `json:"name,omitempty"`
	Role    string    `json:"role"`
	Expires time.Time `json:"expires"`
}

const wrongNameOrPassword = "wrong name or password" //nolint:gosec // G101: an error message, not a credential

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	var req signInRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Name == "" || req.Password == "" {
		writeError(w, http.StatusBadRequest, `send both "name" and "password"`)
		return
	}
	if len(req.Name) > store.MaxNameLen || len(req.Password) > auth.MaxPasswordLen {
		writeError(w, http.StatusUnauthorized, wrongNameOrPassword)
		return
	}
	// The attempt counts from here, before the hash: however many come at
	// once, at most the limit's worth reach the password check.
	res, wait := s.limit.reserve(req.Name, sourceOf(r.RemoteAddr), s.p.Now())
	if wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many sign-in attempts from here: try again in %d s", secs))
		return
	}
	ctx := r.Context()
	u, err := s.p.Store.UserByName(ctx, req.Name)
	hash := u.PasswordHash
	switch {
	case errors.Is(err, store.ErrNoUser):
		hash = s.dummy // same work as for a real user: no telling names apart by time
	case err != nil:
		res.release()
		s.log.Error("sign-in", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not check the password; try again")
		return
	}
	// The check waits for a slot: memory-hard hashes must not all run at
	// once.
	if n := s.waiting.Add(1); n > int64(s.p.MaxWaiting) {
		s.waiting.Add(-1)
		res.release()
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the server is busy signing others in: try again in a second")
		return
	}
	select {
	case s.hashing <- struct{}{}:
		s.waiting.Add(-1)
	case <-ctx.Done():
		s.waiting.Add(-1)
		res.release()
		return // the client gave up
	}
	verr := s.verify(req.Password, hash)
	<-s.hashing
	if verr != nil || err != nil {
		if verr != nil && !errors.Is(verr, auth.ErrMismatch) {
			s.log.Error("sign-in: stored password hash unreadable; reset the user", "user", u.Name, "err", verr)
		}
		res.failed()
		s.log.Info("sign-in failed", "name", req.Name, "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, wrongNameOrPassword)
		return
	}
	if !s.secondFactor(w, r, res, u, req.Code) {
		return
	}
	res.succeeded()
	token, th, err := auth.NewToken()
	if err != nil {
		s.log.Error("sign-in", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not start a session; try again")
		return
	}
	se, err := s.p.Store.CreateSession(ctx, u.ID, th, s.p.SessionTTL)
	if err != nil {
		s.log.Error("sign-in", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not start a session; try again")
		return
	}
	s.log.Info("signed in", "user", u.Name, "role", u.Role)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, sessionResponse{Token: token, Role: string(u.Role), Expires: se.Expires})
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	se, _ := SessionFrom(r.Context())
	if err := s.p.Store.DeleteSession(r.Context(), se.TokenHash); err != nil && !errors.Is(err, store.ErrNoSession) {
		s.log.Error("sign-out", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not end the session; try again")
		return
	}
	if s.p.OnSignOut != nil {
		s.p.OnSignOut(se.TokenHash)
	}
	s.log.Info("signed out", "user", se.User.Name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	se, _ := SessionFrom(r.Context())
	writeJSON(w, http.StatusOK, sessionResponse{Name: se.User.Name, Role: string(se.User.Role), Expires: se.Expires})
}

type ctxKey struct{}

// SessionFrom returns the session Authenticate found for the request.
func SessionFrom(ctx context.Context) (store.Session, bool) {
	se, ok := ctx.Value(ctxKey{}).(store.Session)
	return se, ok
}

// Authenticate lets a request through only with "Authorization: Bearer
// TOKEN" of an unexpired session, which handlers then find with
// SessionFrom.
func (s *Server) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hushphone"`)
			writeError(w, http.StatusUnauthorized, "sign in first (POST /api/v1/session), then send Authorization: Bearer TOKEN")
			return
		}
		se, err := s.p.Store.LookupSession(r.Context(), auth.TokenHash(token))
		if errors.Is(err, store.ErrNoSession) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hushphone", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "the session has expired or was signed out: sign in again")
			return
		}
		if err != nil {
			s.log.Error("authenticate", "err", err)
			writeError(w, http.StatusInternalServerError, "the server could not check the session; try again")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, se)))
	})
}

// RequireRole lets a request through only for the given roles; it goes
// after Authenticate.
func RequireRole(roles ...store.Role) func(http.Handler) http.Handler {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	msg := "this needs the " + strings.Join(names, " or ") + " role"
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			se, ok := SessionFrom(r.Context())
			if !ok {
				writeError(w, http.StatusUnauthorized, "sign in first (POST /api/v1/session)")
				return
			}
			for _, role := range roles {
				if se.User.Role == role {
					next.ServeHTTP(w, r)
					return
				}
			}
			writeError(w, http.StatusForbidden, msg)
		})
	}
}

// decode reads one JSON object of at most MaxBody bytes into v, or writes
// the error response and returns false. The error never repeats what the
// client sent (a field's name or value, its Content-Type), nor the text of
// a failed read, which names the connection's addresses; decode.go says
// how.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "send JSON with Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errTrailing
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: at most %d bytes", MaxBody))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "empty request body: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		writeError(w, http.StatusBadRequest, "malformed JSON: the body ends in the middle of the object")
	case errors.As(err, &syntax):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, syntaxProblem(syntax)))
	case errors.As(err, &typ):
		writeError(w, http.StatusBadRequest, "malformed JSON: "+typeProblem(v, typ))
	case errors.Is(err, errTrailing):
		writeError(w, http.StatusBadRequest, "malformed JSON: send one object and nothing after it")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		writeError(w, http.StatusBadRequest, "malformed JSON: unknown field; "+fieldList(v))
	default:
		// A body that could not be read: its text names addresses.
		writeError(w, http.StatusBadRequest, "malformed JSON: the body could not be read as one JSON object")
	}
	return false
}

var errTrailing = errors.New("data after the JSON object")

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
