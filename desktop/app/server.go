package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hushphone/hushphone/desktop/engine"
)

// SetCA sets the private CA the server's certificate is checked against,
// besides the system's roots: path is a PEM file holding the CA's
// certificate, read at every sign-in; "" goes back to the system's roots
// alone. It is remembered.
func (a *App) SetCA(path string) error {
	path = strings.TrimSpace(path)
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return fmt.Errorf("%w: the private CA file: %w", ErrInput, err)
		}
		path = abs
		if _, err := readCA(path); err != nil {
			return err
		}
	}
	a.mu.Lock()
	a.prefs.CA = path
	p := a.prefs
	a.mu.Unlock()
	a.save("prefs.json", p)
	return nil
}

// readCA reads a private CA's certificate (PEM) from path; "" is none.
func readCA(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: the private CA file cannot be read: %w", ErrInput, err)
	}
	if _, err := engine.CertPool(b); err != nil {
		return nil, fmt.Errorf("%w: the private CA file %s holds no PEM certificate", ErrInput, filepath.Base(path))
	}
	return b, nil
}

// checkServer checks the server address the agent typed (engine.CheckServer:
// https, or http to this machine only) and returns its host.
func checkServer(server string) (string, error) {
	u, err := engine.CheckServer(server)
	switch {
	case errors.Is(err, engine.ErrInsecure):
		return "", fmt.Errorf("%w: the server address must start with https:// (plain http:// is only for a server on this machine): names and passwords are never sent in clear", ErrInput)
	case err != nil:
		return "", fmt.Errorf("%w: the server address is like https://hushphone.example.com or http://127.0.0.1:8080", ErrInput)
	}
	return u.Hostname(), nil
}
