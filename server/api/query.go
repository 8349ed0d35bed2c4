package api

// This file reads the query parameters the listings share.

import (
	"net/http"
	"strconv"
	"time"
)

// maxListLimit bounds ?limit= on the JSON listings.
const maxListLimit = 10000

// readLimit reads ?limit= (1 to most) into limit, leaving it as it is
// when absent; it answers 400 itself.
func readLimit(w http.ResponseWriter, r *http.Request, limit *int, most int) bool {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		writeError(w, http.StatusBadRequest, "limit must be a number from 1 to "+strconv.Itoa(most))
		return false
	}
	*limit = n
	return true
}

// readPeriod reads ?from= and ?to= (RFC 3339) into from and to, leaving
// them as they are when absent; it answers 400 itself.
func readPeriod(w http.ResponseWriter, r *http.Request, from, to *time.Time) bool {
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", from}, {"to", to}} {
		if v := r.URL.Query().Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "from and to must be RFC 3339 times, such as 2026-12-07T00:00:00+01:00")
				return false
			}
			*p.t = t
		}
	}
	return true
}
