package engine

// This file holds the sign-in: the name and password, and the one-time
// code when the account has a second factor (Config.OTP).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hushphone/hushphone/protocol"
)

// signIn signs in, asking Config.OTP for a code only when the server says
// the account needs one; it returns the session's token.
func (a *Agent) signIn(ctx context.Context) (string, error) {
	token, err := a.signInWith(ctx, "")
	if !errors.Is(err, ErrMFARequired) || a.cfg.OTP == nil {
		return token, err
	}
	code, cerr := a.cfg.OTP(ctx)
	if cerr != nil {
		return "", fmt.Errorf("%w: %w", ErrMFARequired, cerr)
	}
	if code == "" {
		return "", err
	}
	return a.signInWith(ctx, code)
}

// signInWith signs in with the name, password and code ("": none).
func (a *Agent) signInWith(ctx context.Context, code string) (string, error) {
	m := map[string]string{"name": a.cfg.User, "password": a.cfg.Password}
	if code != "" {
		m["code"] = code
	}
	body, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("engine: %w", err)
	}
	u := *a.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/session"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("engine: server address %q: %w", a.cfg.Server, err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := a.client.Do(req)
	if err != nil {
		if isCertError(err) {
			return "", fmt.Errorf("%w: %s: %w", ErrCertificate, a.base.Redacted(), err)
		}
		return "", fmt.Errorf("%w: %s (is hushphone-server serve running?): %w", ErrUnreachable, a.cfg.Server, err)
	}
	defer func() { _ = res.Body.Close() }()
	var out struct {
		Token string             `json:"token"`
		Error string             `json:"error"`
		Code  protocol.ErrorCode `json:"code"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK || out.Token == "" {
		refused := ErrSignIn
		switch {
		case out.Code == protocol.CodeMFARequired:
			refused = ErrMFARequired
		case out.Code == protocol.CodeMFAInvalid:
			refused = ErrMFAInvalid
		case out.Code == protocol.CodeMFAEnroll:
			refused = ErrMFAEnroll
		case res.StatusCode == http.StatusUnauthorized:
			refused = ErrCredentials
		case res.StatusCode == http.StatusTooManyRequests:
			refused = ErrTooManyTries
		}
		return "", fmt.Errorf("%w for %s: %d %s", refused, a.cfg.User, res.StatusCode, out.Error)
	}
	return out.Token, nil
}
