package signal

import (
	"net/http"
)

// acceptErrors is the ResponseWriter websocket.Accept gets: when Accept
// refuses the upgrade, its text (which quotes the request's Connection,
// Upgrade, Sec-WebSocket-Key and Origin headers, its method and Host) is
// replaced with a JSON error in words of our own, like every other error
// of the server. The upgrade itself (101, then Hijack through Unwrap)
// passes through untouched.
type acceptErrors struct {
	http.ResponseWriter
	replaced bool
}

// Unwrap lets websocket.Accept and http.ResponseController reach the
// connection's own writer (Hijack).
func (a *acceptErrors) Unwrap() http.ResponseWriter { return a.ResponseWriter }

func (a *acceptErrors) WriteHeader(status int) {
	if status < http.StatusBadRequest {
		a.ResponseWriter.WriteHeader(status)
		return
	}
	a.replaced = true
	h := a.Header()
	h.Del("Content-Length")
	if status == http.StatusUpgradeRequired {
		h.Set("Upgrade", "websocket")
		h.Set("Connection", "Upgrade")
	}
	writeError(a.ResponseWriter, status, acceptProblem(status))
}

func (a *acceptErrors) Write(b []byte) (int, error) {
	if a.replaced {
		return len(b), nil // Accept's own text: dropped
	}
	return a.ResponseWriter.Write(b) //nolint:wrapcheck // a ResponseWriter's error, as it is
}

// acceptProblem says why Accept refused an upgrade, by its status.
func acceptProblem(status int) string {
	switch status {
	case http.StatusUpgradeRequired:
		return "this address takes WebSocket connections only: send an HTTP/1.1 GET with Connection: Upgrade and Upgrade: websocket"
	case http.StatusMethodNotAllowed:
		return "open the WebSocket with GET"
	case http.StatusBadRequest:
		return "not a valid WebSocket handshake: send Sec-WebSocket-Version: 13 and one Sec-WebSocket-Key of 16 bytes in base64"
	case http.StatusForbidden:
		return "this page's origin may not open the server's WebSocket: open the page from the server itself, or have the server allow its origin"
	default:
		return "the server could not open the WebSocket; try again"
	}
}
