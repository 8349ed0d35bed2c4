package api

import (
	"errors"
	"net/http"

	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/totp"
)

// maxCodeLen bounds the "code" a sign-in may send (a recovery code with
// its dashes is 19 characters).
const maxCodeLen = 64

// mfaRequired reports whether a user of role must have a second factor to
// sign in: supervisors and admins always, agents when Params.MFAAgents.
func (s *Server) mfaRequired(role store.Role) bool {
	return role != store.RoleAgent || s.p.MFAAgents
}

// secondFactor checks the sign-in's code, once its password was right,
// and settles its reservation unless it lets the sign-in through (the
// caller then calls succeeded). It writes the refusal and returns false,
// or returns true: the user has no second factor and needs none, or the
// code was right.
//
// A missing code is not counted as a failure (the client asks for it and
// sends the sign-in again); a wrong one is, against the same limits as a
// wrong password, so codes cannot be guessed faster than passwords.
func (s *Server) secondFactor(w http.ResponseWriter, r *http.Request, res *reservation, u store.User, code string) bool {
	ctx := r.Context()
	m, err := s.p.Store.UserMFA(ctx, u.ID)
	switch {
	case errors.Is(err, store.ErrNoMFA):
		if !s.mfaRequired(u.Role) {
			return true
		}
		res.release()
		s.log.Info("sign-in refused: no second factor enrolled", "user", u.Name, "role", u.Role)
		writeCodedError(w, http.StatusForbidden, protocol.CodeMFAEnroll,
			"this account needs a second factor (an authenticator app) and has none: ask an admin to run 'hushphone-server user mfa enroll --name NAME' and add the code it shows to your authenticator app")
		return false
	case err != nil:
		res.release()
		s.log.Error("sign-in", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not check the password; try again")
		return false
	}
	if code == "" {
		res.release()
		writeCodedError(w, http.StatusUnauthorized, protocol.CodeMFARequired,
			`enter the 6-digit code from your authenticator app (or a recovery code) and sign in again with it as "code"`)
		return false
	}
	if len(code) <= maxCodeLen {
		if totp.IsRecoveryCode(code) {
			err = s.p.Store.UseRecoveryCode(ctx, u.ID, totp.RecoveryHash(code))
			if err == nil {
				s.log.Warn("signed in with a recovery code", "user", u.Name, "left", m.RecoveryCodes-1)
				return true
			}
		} else {
			var step int64
			step, err = totp.Check(m.Secret, code, s.p.Now(), m.LastStep)
			if err == nil {
				// Of two sign-ins with the same code, only one records it.
				err = s.p.Store.UseTOTPStep(ctx, u.ID, step)
			}
			if err == nil {
				return true
			}
		}
		if !errors.Is(err, totp.ErrBadCode) && !errors.Is(err, store.ErrCodeUsed) {
			res.release()
			s.log.Error("sign-in: checking the second factor", "user", u.Name, "err", err)
			writeError(w, http.StatusInternalServerError, "the server could not check the code; try again")
			return false
		}
	}
	res.failed()
	s.log.Info("sign-in failed: wrong code", "user", u.Name, "remote", r.RemoteAddr)
	writeCodedError(w, http.StatusUnauthorized, protocol.CodeMFAInvalid,
		"wrong code: enter the current code from your authenticator app (each is taken once), or an unused recovery code")
	return false
}

// writeCodedError writes an error with a code a client acts on.
func writeCodedError(w http.ResponseWriter, status int, code protocol.ErrorCode, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": string(code)})
}
