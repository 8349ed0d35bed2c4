package api

// This file holds user administration for admins: what `hushphone-server
// user` does on the command line (add, list, remove, disable and enable,
// enrol and reset a second factor), and a password reset and a role
// change, over the API. Every change is logged with who made it. An admin
// cannot disable, remove or change the role of their own account (another
// admin can): the last admin cannot lock everyone out.

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/totp"
)

// mfaIssuer names the server in authenticator apps (as the command line's
// enrolment does).
const mfaIssuer = "Hushphone"

type userResponse struct {
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	Created  time.Time `json:"created"`
	Disabled bool      `json:"disabled"`
	MFA      bool      `json:"mfa"` // a second factor is enrolled
}

func (s *Server) userRoutes(r chi.Router) {
	admin := r.With(RequireRole(store.RoleAdmin))
	admin.Post("/users", s.addUser)
	admin.Patch("/users/{name}", s.changeUser)
	admin.Delete("/users/{name}", s.removeUser)
	admin.Post("/users/{name}/mfa", s.enrolMFA)
	admin.Delete("/users/{name}/mfa", s.resetMFA)
}

// users lists every user, by name.
func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	users, err := s.p.Store.ListUsers(ctx)
	if err != nil {
		s.log.Error("list users", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not list users; try again")
		return
	}
	out := make([]userResponse, 0, len(users))
	for _, u := range users {
		resp, err := s.userResponse(r, u)
		if err != nil {
			s.log.Error("list users", "err", err)
			writeError(w, http.StatusInternalServerError, "the server could not list users; try again")
			return
		}
		out = append(out, resp)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) userResponse(r *http.Request, u store.User) (userResponse, error) {
	_, err := s.p.Store.UserMFA(r.Context(), u.ID)
	if err != nil && !errors.Is(err, store.ErrNoMFA) {
		return userResponse{}, err //nolint:wrapcheck // logged by the caller
	}
	return userResponse{Name: u.Name, Role: string(u.Role), Created: u.Created, Disabled: u.Disabled, MFA: err == nil}, nil
}

type addUserRequest struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

// addUser adds a user. Supervisors and admins cannot sign in until a
// second factor is enrolled for them (POST /users/{name}/mfa).
func (s *Server) addUser(w http.ResponseWriter, r *http.Request) {
	var req addUserRequest
	if !decode(w, r, &req) {
		return
	}
	// The error never repeats the name: the answer says what a name is.
	if store.CheckName(req.Name) != nil || cardLikeName.MatchString(req.Name) {
		writeError(w, http.StatusBadRequest, nameRule)
		return
	}
	role, err := store.ParseRole(req.Role)
	if err != nil {
		writeError(w, http.StatusBadRequest, `role must be "agent", "supervisor" or "admin"`)
		return
	}
	hash, ok := s.newPassword(w, req.Password)
	if !ok {
		return
	}
	u, err := s.p.Store.AddUser(r.Context(), req.Name, role, hash)
	switch {
	case errors.Is(err, store.ErrUserExists):
		writeError(w, http.StatusConflict, "a user of that name already exists (names are unique regardless of case)")
		return
	case err != nil:
		s.log.Error("add user", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not add the user; try again")
		return
	}
	s.noteChange(r, store.AccessUserAdd, u.Name+": added as "+string(role))
	writeJSON(w, http.StatusCreated, userResponse{Name: u.Name, Role: string(u.Role), Created: u.Created})
}

// newPassword checks and hashes a new password, or answers 400.
func (s *Server) newPassword(w http.ResponseWriter, password string) (string, bool) {
	if err := auth.CheckPassword(password); err != nil {
		writeError(w, http.StatusBadRequest, "the password is not acceptable: "+passwordRule)
		return "", false
	}
	hash, err := s.p.Hash.Hash(password)
	if err != nil {
		s.log.Error("hash a password", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not set the password; try again")
		return "", false
	}
	return hash, true
}

var (
	// passwordRule says what a password must be, without repeating it.
	passwordRule = fmt.Sprintf("use %d to %d characters", auth.MinPasswordLen, auth.MaxPasswordLen)
	// nameRule says what a name must be.
	nameRule = fmt.Sprintf("a name is 1 to %d letters, digits, '.', '_', '-' or '@', starting with a letter or digit, and not 12 digits in a row", store.MaxNameLen)
	// cardLikeName: a name that could be a card number (the payments
	// audit, which records the agent's name, refuses one).
	cardLikeName = regexp.MustCompile(`[0-9]{12,}`)
)

type changeUserRequest struct {
	Role     *string `json:"role,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
	Password *string `json:"password,omitempty"`
}

// changeUser changes a user's role, disables or enables it, or resets its
// password (any of them at once). Each ends the user's sessions but
// enabling.
func (s *Server) changeUser(w http.ResponseWriter, r *http.Request) {
	var req changeUserRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Role == nil && req.Disabled == nil && req.Password == nil {
		writeError(w, http.StatusBadRequest, `send at least one of "role", "disabled" and "password"`)
		return
	}
	u, ok := s.targetUser(w, r)
	if !ok {
		return
	}
	if (req.Role != nil || req.Disabled != nil && *req.Disabled) && s.isSelf(r, u) {
		writeError(w, http.StatusConflict, "you cannot change the role of, or disable, your own account: ask another admin")
		return
	}
	var role store.Role
	if req.Role != nil {
		var err error
		if role, err = store.ParseRole(*req.Role); err != nil {
			writeError(w, http.StatusBadRequest, `role must be "agent", "supervisor" or "admin"`)
			return
		}
	}
	var hash string
	if req.Password != nil {
		if hash, ok = s.newPassword(w, *req.Password); !ok {
			return
		}
	}
	ctx := r.Context()
	if req.Role != nil && role != u.Role {
		if !s.storeDone(w, s.p.Store.SetRole(ctx, u.Name, role), "change the role") {
			return
		}
		s.noteChange(r, store.AccessUserChange, u.Name+": role "+string(u.Role)+" to "+string(role))
		s.reloadQueues(r) // only agents take a queue's calls
	}
	if req.Disabled != nil && *req.Disabled != u.Disabled {
		if !s.storeDone(w, s.p.Store.SetDisabled(ctx, u.Name, *req.Disabled), "disable or enable the user") {
			return
		}
		if *req.Disabled {
			s.noteChange(r, store.AccessUserChange, u.Name+": disabled")
		} else {
			s.noteChange(r, store.AccessUserChange, u.Name+": enabled")
		}
	}
	if req.Password != nil {
		if !s.storeDone(w, s.p.Store.SetPassword(ctx, u.Name, hash), "reset the password") {
			return
		}
		s.noteChange(r, store.AccessUserChange, u.Name+": password reset")
	}
	u, err := s.p.Store.UserByNameForAdmin(ctx, u.Name)
	if err != nil {
		s.storeDone(w, err, "read the user back")
		return
	}
	resp, err := s.userResponse(r, u)
	if !s.storeDone(w, err, "read the user back") {
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// removeUser removes a user (its payments stay in the audit under its id).
func (s *Server) removeUser(w http.ResponseWriter, r *http.Request) {
	u, ok := s.targetUser(w, r)
	if !ok {
		return
	}
	if s.isSelf(r, u) {
		writeError(w, http.StatusConflict, "you cannot remove your own account: ask another admin")
		return
	}
	if !s.storeDone(w, s.p.Store.RemoveUser(r.Context(), u.Name), "remove the user") {
		return
	}
	s.noteChange(r, store.AccessUserRemove, u.Name+": removed")
	s.reloadQueues(r) // its memberships went with it
	w.WriteHeader(http.StatusNoContent)
}

type enrolResponse struct {
	URI           string   `json:"uri"`            // otpauth:// for an authenticator app (or a QR code of it)
	Secret        string   `json:"secret"`         // the same, to type in by hand
	RecoveryCodes []string `json:"recovery_codes"` // each signs in once without the app
}

// enrolMFA enrols a second factor for a user who has none, and answers
// with the secret and the recovery codes, shown this once.
func (s *Server) enrolMFA(w http.ResponseWriter, r *http.Request) {
	u, ok := s.targetUser(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if _, err := s.p.Store.UserMFA(ctx, u.ID); err == nil {
		writeError(w, http.StatusConflict, "that user has a second factor already; to replace it (a lost phone), reset it first (DELETE .../mfa)")
		return
	} else if !errors.Is(err, store.ErrNoMFA) {
		s.storeDone(w, err, "read the second factor")
		return
	}
	secret, err := totp.NewSecret()
	if !s.storeDone(w, err, "make a secret") {
		return
	}
	codes, hashes, err := totp.NewRecoveryCodes()
	if !s.storeDone(w, err, "make recovery codes") {
		return
	}
	if !s.storeDone(w, s.p.Store.SetMFA(ctx, u.ID, secret, hashes), "enrol the second factor") {
		return
	}
	s.noteChange(r, store.AccessUserMFAEnrol, u.Name+": second factor enrolled")
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, enrolResponse{URI: totp.URI(mfaIssuer, u.Name, secret), Secret: secret, RecoveryCodes: codes})
}

// resetMFA removes a user's second factor and recovery codes.
func (s *Server) resetMFA(w http.ResponseWriter, r *http.Request) {
	u, ok := s.targetUser(w, r)
	if !ok {
		return
	}
	err := s.p.Store.ResetMFA(r.Context(), u.ID)
	if errors.Is(err, store.ErrNoMFA) {
		writeError(w, http.StatusNotFound, "that user has no second factor to reset")
		return
	}
	if !s.storeDone(w, err, "reset the second factor") {
		return
	}
	s.noteChange(r, store.AccessUserMFAReset, u.Name+": second factor reset")
	w.WriteHeader(http.StatusNoContent)
}

// targetUser is the user the path names, or a 404 answered.
func (s *Server) targetUser(w http.ResponseWriter, r *http.Request) (store.User, bool) {
	u, err := s.p.Store.UserByNameForAdmin(r.Context(), chi.URLParam(r, "name"))
	if errors.Is(err, store.ErrNoUser) {
		writeError(w, http.StatusNotFound, "no such user (GET /api/v1/users lists them)")
		return store.User{}, false
	}
	if !s.storeDone(w, err, "read the user") {
		return store.User{}, false
	}
	return u, true
}

// isSelf reports whether u is the signed-in user.
func (s *Server) isSelf(r *http.Request, u store.User) bool {
	se, ok := SessionFrom(r.Context())
	return ok && se.User.ID == u.ID
}

// storeDone answers 500 and logs for a failed step; it reports err == nil.
func (s *Server) storeDone(w http.ResponseWriter, err error, doing string) bool {
	if err == nil {
		return true
	}
	s.log.Error("user admin: "+doing, "err", err)
	writeError(w, http.StatusInternalServerError, "the server could not "+doing+"; try again")
	return false
}

// reloadQueues tells the call path's queues that members may have changed.
func (s *Server) reloadQueues(r *http.Request) {
	if s.p.OnQueuesChanged != nil {
		if err := s.p.OnQueuesChanged(r.Context()); err != nil {
			s.log.Error("reload the queues", "err", err)
		}
	}
}
