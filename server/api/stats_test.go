package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/server/store"
)

// TestStats: the wallboard's figures for supervisors (not agents, not
// strangers), over the period asked for, with clear errors for a period
// or threshold that cannot be read.
func TestStats(t *testing.T) {
	e := newEnv(t, cheap)
	ctx := context.Background()
	t0 := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Hour) // three days ago
	if err := e.store.CallOffered(ctx, store.LoggedCall{CallID: "c1", Queue: "default", Direction: store.DirectionIn, Offered: t0}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CallAnswered(ctx, "c1", "ann", t0.Add(25*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CallEnded(ctx, "c1", "ann", "agent", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	sue, ann := e.signIn("sue"), e.signIn("ann")
	if r := e.do("GET", "/api/v1/stats", ann, ""); r.status != http.StatusForbidden {
		t.Errorf("agent reads the figures: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/stats", "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous reads the figures: %d", r.status)
	}
	q := "?from=" + url.QueryEscape(t0.Add(-time.Hour).Format(time.RFC3339)) + "&to=" + url.QueryEscape(t0.Add(time.Hour).Format(time.RFC3339))
	r := e.do("GET", "/api/v1/stats"+q, sue, "")
	if r.status != http.StatusOK || !strings.Contains(r.raw, `"queue":"default","offered":1,"answered":1,"abandoned":0,"within_threshold":0,"service_level":0,"average_wait_ms":25000,"average_handle_ms":95000`) ||
		!strings.Contains(r.raw, `"agents":[{"agent":"ann","handled":1}]`) || !strings.Contains(r.raw, `"threshold_ms":20000`) {
		t.Fatalf("figures: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/api/v1/stats"+q+"&threshold=30s", sue, ""); !strings.Contains(r.raw, `"within_threshold":1,"service_level":1`) {
		t.Errorf("with a 30 s threshold: %s", r.raw)
	}
	// Today, by default: the call was on another day. Every queue is
	// there, with no call yet: the default one first, then by name.
	if err := e.store.AddQueue(context.Background(), "sales", "2000"); err != nil {
		t.Fatal(err)
	}
	zero := `,"offered":0,"answered":0,"abandoned":0,"within_threshold":0,"service_level":0,"average_wait_ms":0,"average_handle_ms":0}`
	if r := e.do("GET", "/api/v1/stats", sue, ""); r.status != http.StatusOK || !strings.Contains(r.raw, `"queues":[{"queue":"default"`+zero+`,{"queue":"sales"`+zero+`]`) {
		t.Errorf("today's figures: %d %s", r.status, r.raw)
	}
	for _, bad := range []string{"?from=yesterday", "?to=2026-13-01T00:00:00Z", "?threshold=fast", "?threshold=0s", "?threshold=2h",
		"?from=" + url.QueryEscape(t0.Add(2*time.Hour).Format(time.RFC3339)) + "&to=" + url.QueryEscape(t0.Format(time.RFC3339)), "?from=2020-01-01T00:00:00Z"} {
		r := e.do("GET", "/api/v1/stats"+bad, sue, "")
		if msg, _ := r.body["error"].(string); r.status != http.StatusBadRequest || msg == "" {
			t.Errorf("%s: %d %s, want 400 with an error", bad, r.status, r.raw)
		}
	}
}
