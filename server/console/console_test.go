package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hushphone/hushphone/frontend"
	"github.com/hushphone/hushphone/server/console"
)

const page = `<!doctype html><title>console</title><script type="module" src="./assets/console-abc123.js"></script>`

func built() fstest.MapFS {
	return fstest.MapFS{
		"console.html":              {Data: []byte(page)},
		"index.html":                {Data: []byte("agent app")},
		"assets/console-abc123.js":  {Data: []byte("console.log(1)")},
		"assets/console-abc123.css": {Data: []byte("body{}")},
		"assets/sub/x.js":           {Data: []byte("x")},
	}
}

// next stands for the API: it says it got the request.
var next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTeapot)
	_, _ = io.WriteString(w, `{"error":"api"}`)
})

func do(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestPage(t *testing.T) {
	h := console.New(built(), next)
	if !h.Built() {
		t.Fatal("Built() is false with console.html there")
	}
	for _, path := range []string{"/", "/console.html"} {
		w := do(t, h, http.MethodGet, path, nil)
		if w.Code != http.StatusOK || w.Body.String() != page {
			t.Fatalf("GET %s: %d %q", path, w.Code, w.Body.String())
		}
		hd := w.Header()
		for k, want := range map[string]string{
			"Content-Type":           "text/html; charset=utf-8",
			"Cache-Control":          "no-cache",
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
		} {
			if got := hd.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, want)
			}
		}
		csp := hd.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "connect-src 'self' ws://example.com", "media-src 'self' blob:", "img-src 'self' data:", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "*") {
			t.Errorf("CSP too loose: %q", csp)
		}
		etag := hd.Get("ETag")
		if etag == "" {
			t.Fatalf("GET %s: no ETag", path)
		}
		if w := do(t, h, http.MethodGet, path, map[string]string{"If-None-Match": etag}); w.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", path, w.Code)
		}
	}
	if w := do(t, h, http.MethodHead, "/", nil); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD /: %d, %d bytes", w.Code, w.Body.Len())
	}
}

// A Host header that could end the policy's directive is left out of it.
func TestPolicyHost(t *testing.T) {
	h := console.New(built(), next)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "evil.example; script-src *"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	csp := w.Header().Get("Content-Security-Policy")
	if strings.Contains(csp, "evil") || !strings.Contains(csp, "connect-src 'self';") {
		t.Errorf("CSP %q", csp)
	}
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "[::1]:8443"
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "ws://[::1]:8443") {
		t.Errorf("CSP %q lacks the IPv6 host", csp)
	}
}

func TestAssets(t *testing.T) {
	h := console.New(built(), next)
	w := do(t, h, http.MethodGet, "/assets/console-abc123.js", nil)
	if w.Code != http.StatusOK || w.Body.String() != "console.log(1)" {
		t.Fatalf("asset: %d %q", w.Code, w.Body.String())
	}
	if got := w.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("asset Cache-Control %q", got)
	}
	if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/javascript") {
		t.Errorf("asset Content-Type %q", got)
	}
	if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("asset X-Content-Type-Options %q", got)
	}
	if w := do(t, h, http.MethodGet, "/assets/console-abc123.css", nil); !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") {
		t.Errorf("css Content-Type %q", w.Header().Get("Content-Type"))
	}
	if w := do(t, h, http.MethodGet, "/assets/console-abc123.js", map[string]string{"Range": "bytes=0-6"}); w.Code != http.StatusPartialContent || w.Body.String() != "console" {
		t.Errorf("range: %d %q", w.Code, w.Body.String())
	}
}

// What is not the console's goes to the API: other paths, folders,
// missing files, other methods, the agent app's page.
func TestPassesTheRest(t *testing.T) {
	h := console.New(built(), next)
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/healthz"},
		{http.MethodGet, "/api/v1/me"},
		{http.MethodPost, "/api/v1/session"},
		{http.MethodPost, "/"},
		{http.MethodDelete, "/console.html"},
		{http.MethodGet, "/index.html"},
		{http.MethodGet, "/nowhere"},
		{http.MethodGet, "/assets/"},
		{http.MethodGet, "/assets/sub"},
		{http.MethodGet, "/assets/missing.js"},
		{http.MethodGet, "/assets/../console.html"},
	} {
		w := do(t, h, c.method, c.path, nil)
		if w.Code != http.StatusTeapot {
			t.Errorf("%s %s: %d %q, want the next handler's", c.method, c.path, w.Code, w.Body.String())
		}
	}
}

func TestNotBuilt(t *testing.T) {
	h := console.New(fstest.MapFS{".keep": {Data: nil}}, next)
	if h.Built() {
		t.Fatal("Built() with no console.html")
	}
	w := do(t, h, http.MethodGet, "/", nil)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "make console") ||
		!strings.Contains(w.Body.String(), "npm run build") || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("not built: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	if w := do(t, h, http.MethodGet, "/api/v1/me", nil); w.Code != http.StatusTeapot {
		t.Errorf("the API behind an unbuilt console: %d", w.Code)
	}
}

// The embedded files: the page when `npm run build` ran before this
// build, the how-to otherwise; the page's assets are served either way.
func TestEmbedded(t *testing.T) {
	files, err := frontend.Files()
	if err != nil {
		t.Fatal(err)
	}
	h := console.New(files, next)
	w := do(t, h, http.MethodGet, "/", nil)
	if !h.Built() {
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("unbuilt: %d", w.Code)
		}
		t.Skip("frontend/dist holds no console.html: run make console to test the built page")
	}
	if w.Code != http.StatusOK {
		t.Fatalf("GET /: %d", w.Code)
	}
	body := w.Body.String()
	i := strings.Index(body, "./assets/")
	if i < 0 {
		t.Fatalf("the page names no ./assets/: %q", body)
	}
	j := strings.IndexByte(body[i:], '"')
	asset := body[i+1 : i+j]
	if w := do(t, h, http.MethodGet, asset, nil); w.Code != http.StatusOK || w.Body.Len() == 0 {
		t.Errorf("GET %s: %d", asset, w.Code)
	}
}
