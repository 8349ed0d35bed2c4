package api

// This file holds CORS: the web pages of the origins the allowed-origins
// setting names may call the API from a browser. Sign-in is by bearer
// token, never a cookie, so no credentials mode is needed; a page from
// any other origin gets no CORS headers, and its browser keeps the answer
// from it.

import (
	"net/http"
	"slices"
	"strings"
)

const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE"
	corsHeaders = "Authorization, Content-Type, Accept"
	corsExpose  = "Content-Disposition, Retry-After"
)

// cors answers preflights and marks answers for the allowed origins.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		allowed := slices.Contains(s.p.AllowedOrigins, strings.ToLower(origin))
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !allowed {
			if preflight {
				writeError(w, http.StatusForbidden, "pages from this origin may not use the API: add it to the server's allowed-origins setting")
				return
			}
			next.ServeHTTP(w, r) // no CORS headers: the browser keeps the answer from the page
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		if preflight {
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExpose)
		next.ServeHTTP(w, r)
	})
}
