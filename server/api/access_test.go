package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/server/store"
)

// TestAccessLog: recordings narrowed by agent and date; a supervisor plays
// one in the page (inline, then a player's range request) and downloads
// it, exports the payments audit, and an admin adds a user: the access log
// holds each once, with who, and only admins read it.
func TestAccessLog(t *testing.T) {
	e := newEnv(t, cheap)
	ctx := context.Background()
	e.oneSecondRecording("call-1.wav")
	old := time.Now().Add(-72 * time.Hour)
	r1, err := e.store.AddRecording(ctx, store.Recording{CallID: "call-1", Agent: "ann", Path: "recordings/call-1.wav", Duration: time.Second, Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddRecordingAgent(ctx, r1.ID, "bo_b"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.AddRecording(ctx, store.Recording{CallID: "call-0", Agent: "ann", Path: "recordings/old.wav", Started: old}); err != nil {
		t.Fatal(err)
	}
	sue := e.signIn("sue")
	list := func(q string) string {
		t.Helper()
		r := e.do("GET", "/api/v1/recordings"+q, sue, "")
		if r.status != http.StatusOK {
			t.Fatalf("list%s: %d %s", q, r.status, r.raw)
		}
		var calls []string
		for _, part := range strings.Split(r.raw, `"call":"`)[1:] {
			calls = append(calls, part[:strings.IndexByte(part, '"')])
		}
		return strings.Join(calls, ",")
	}
	since := "?from=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339))
	for q, want := range map[string]string{"": "call-1,call-0", "?agent=ANN": "call-1,call-0", "?agent=bo_b": "call-1", "?agent=bo": "", since: "call-1", "?agent=bob": ""} {
		if got := list(q); got != want {
			t.Errorf("recordings%s: %q, want %q", q, got, want)
		}
	}

	file := "/api/v1/recordings/" + strconv.FormatInt(r1.ID, 10)
	if status, h, _ := e.get(file+"?play=1", sue, ""); status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Disposition"), "inline") {
		t.Fatalf("play: %d %v", status, h)
	}
	if status, _, _ := e.get(file+"?play=1", sue, "bytes=100-"); status != http.StatusPartialContent {
		t.Fatalf("the player's range request: %d", status)
	}
	// A range request with no play or download before it is logged: no
	// way around the log by skipping the first byte.
	root := e.signIn("root")
	if status, _, _ := e.get(file, root, "bytes=1-"); status != http.StatusPartialContent {
		t.Fatalf("root's range request: %d", status)
	}
	if status, h, _ := e.get(file, sue, ""); status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %v", status, h)
	}
	if status, _, _ := e.get("/api/v1/payments?format=csv&outcome=approved", sue, ""); status != http.StatusOK {
		t.Fatalf("export: %d", status)
	}
	if r := e.do("POST", "/api/v1/users", root, `{"name":"bob","role":"agent","password":"bob-password"}`); r.status != http.StatusCreated {
		t.Fatalf("add bob: %d", r.status)
	}

	if r := e.do("GET", "/api/v1/audit", sue, ""); r.status != http.StatusForbidden {
		t.Errorf("a supervisor reads the access log: %d", r.status)
	}
	entries, err := e.store.ListAccess(ctx, store.AccessFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range entries {
		got = append(got, a.UserName+" "+a.Action+" "+a.Object)
	}
	id := strconv.FormatInt(r1.ID, 10)
	want := []string{"root user.add bob: added as agent", "sue payments.export outcome=approved", "sue recording.download " + id,
		"root recording.download " + id, "sue recording.play " + id}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("access log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	r := e.do("GET", "/api/v1/audit?user=SUE&action=recording.play", root, "")
	if r.status != http.StatusOK || strings.Count(r.raw, `"action":"recording.play"`) != 1 || !strings.Contains(r.raw, `"user":"sue"`) || !strings.Contains(r.raw, `"object":"`+id+`"`) {
		t.Errorf("audit for sue's plays: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/api/v1/audit?from=never", root, ""); r.status != http.StatusBadRequest {
		t.Errorf("a bad from: %d", r.status)
	}
}
