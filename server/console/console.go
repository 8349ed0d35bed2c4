// Package console serves the supervisor and admin console, the web page
// Vite builds from frontend/ (console.html and its assets in
// frontend/dist, which package frontend embeds), on the API's listener:
//
//	GET /, GET /console.html  the page (Cache-Control: no-cache, with an ETag)
//	GET /assets/...           its scripts and styles, named by their hash:
//	                          cached for a year, immutable
//
// Every other path, and every method but GET and HEAD on those, goes to
// the next handler (the API, which answers JSON). The page is same-origin
// with the API and the WebSocket, so its Content-Security-Policy allows
// nothing from elsewhere. Without a built page (dist holds only .keep), /
// says how to build it.
package console

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Page is the page's file in the built files; Assets their folder.
const (
	Page   = "console.html"
	Assets = "assets"
)

// NotBuilt is what / answers (503, plain text) when the page was not built.
const NotBuilt = `The Hushphone console is not built into this server.

Build it, then build or run the server again (the page is embedded in the binary):

    make console

or by hand:

    cd frontend && npm ci && npm run build

The API (/api/v1/...) and /healthz work without it.
`

// Handler serves the console, and passes the rest to the next handler.
type Handler struct {
	dist  fs.FS
	next  http.Handler
	page  []byte // nil: not built
	etag  string
	built time.Time
}

// New serves the console from dist (the Vite build's output: console.html
// and assets/), passing every other request to next.
func New(dist fs.FS, next http.Handler) *Handler {
	h := &Handler{dist: dist, next: next, built: time.Now()}
	if b, err := fs.ReadFile(dist, Page); err == nil && len(b) > 0 {
		sum := sha256.Sum256(b)
		h.page, h.etag = b, `"`+hex.EncodeToString(sum[:16])+`"`
	}
	return h
}

// Built says whether the page is there to serve.
func (h *Handler) Built() bool { return h.page != nil }

// plainHost is a Host header safe to name in the policy: a name or an
// address and a port, nothing that could end the directive.
var plainHost = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)

// policy is the page's Content-Security-Policy: its own scripts, styles
// and API only; audio from the server and from blobs (a recording fetched
// with the token); no frames, plugins or inline code.
func policy(r *http.Request) string {
	connect := "'self'"
	// 'self' covers the page's own WebSocket in today's browsers (CSP 3);
	// older ones need it named.
	if plainHost.MatchString(r.Host) {
		if r.TLS != nil {
			connect += " wss://" + r.Host
		} else {
			connect += " ws://" + r.Host
		}
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; connect-src " + connect +
		"; media-src 'self' blob:; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	ours := p == "/" || p == "/"+Page || strings.HasPrefix(p, "/"+Assets+"/")
	if !ours || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		h.next.ServeHTTP(w, r)
		return
	}
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(p, "/"+Assets+"/") {
		h.asset(w, r, strings.TrimPrefix(p, "/"))
		return
	}
	hd.Set("Content-Security-Policy", policy(r))
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if h.page == nil {
		hd.Set("Content-Type", "text/plain; charset=utf-8")
		hd.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(NotBuilt))
		}
		return
	}
	// no-cache: the browser asks each time (the ETag makes it a 304), so
	// a new server's page, naming new assets, is seen at once.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", h.etag)
	hd.Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, Page, time.Time{}, bytes.NewReader(h.page))
}

// asset serves a built file: only regular files under assets/, never a
// folder's listing.
func (h *Handler) asset(w http.ResponseWriter, r *http.Request, name string) {
	if !fs.ValidPath(name) {
		h.next.ServeHTTP(w, r)
		return
	}
	st, err := fs.Stat(h.dist, name)
	if err != nil || !st.Mode().IsRegular() {
		h.next.ServeHTTP(w, r)
		return
	}
	// The names carry their content's hash: a changed file is a new name.
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	f, err := h.dist.Open(name)
	if err != nil {
		h.next.ServeHTTP(w, r)
		return
	}
	defer func() { _ = f.Close() }()
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		b, err := fs.ReadFile(h.dist, name)
		if err != nil {
			h.next.ServeHTTP(w, r)
			return
		}
		http.ServeContent(w, r, name, h.built, bytes.NewReader(b))
		return
	}
	http.ServeContent(w, r, name, h.built, rs)
}
