package app

import (
	"errors"
	"fmt"

	"github.com/hushphone/hushphone/desktop/engine"
)

// The sign-in's refusals about the one-time code, for the agent; both wrap
// ErrInput.
var (
	ErrNeedCode  = fmt.Errorf("%w: enter your password again and the 6-digit code from your authenticator app", ErrInput)
	ErrWrongCode = fmt.Errorf("%w: wrong code: enter your password again and the current code from your authenticator app (each code works once)", ErrInput)
)

// SignIn signs in without a one-time code: SignInWithCode's, for accounts
// without a second factor, and the first try of those with one (the
// refusal then sets State.NeedCode).
func (a *App) SignIn(server, user, password string) error {
	return a.SignInWithCode(server, user, password, "")
}

// friendly words an engine error for the agent.
func friendly(err error) error {
	switch {
	case errors.Is(err, engine.ErrMFARequired):
		return ErrNeedCode
	case errors.Is(err, engine.ErrMFAInvalid):
		return ErrWrongCode
	case errors.Is(err, engine.ErrMFAEnroll):
		return fmt.Errorf("%w: your account needs a second factor (an authenticator app) first: ask an admin to enrol you", ErrNotNow)
	case errors.Is(err, engine.ErrCredentials):
		return fmt.Errorf("%w: wrong name or password", ErrInput)
	case errors.Is(err, engine.ErrTooManyTries):
		return fmt.Errorf("%w: too many tries: wait a minute and try again", ErrNotNow)
	case errors.Is(err, engine.ErrCertificate):
		return fmt.Errorf("%w: the server's certificate is not trusted: check the address, or, if your organisation uses its own CA, give its certificate under Connection settings", ErrNotNow)
	case errors.Is(err, engine.ErrUnreachable):
		return fmt.Errorf("%w: the server cannot be reached: check its address and your network", ErrNotNow)
	}
	return err
}

// needsCode reports whether err says to sign in again with a one-time
// code.
func needsCode(err error) bool {
	for _, e := range []error{engine.ErrMFARequired, engine.ErrMFAInvalid, ErrNeedCode, ErrWrongCode} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
