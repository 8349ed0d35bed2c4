package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/hushphone/hushphone/server/store"
)

// TestQueueAdmin: an admin adds a queue with a member, changes the
// members (of it and of the default queue), and removes it; the call
// path's directory is told each time; supervisors only read; bad names,
// numbers, members, duplicates and unknown queues get clear errors.
func TestQueueAdmin(t *testing.T) {
	e := newEnv(t, cheap)
	reloads := 0
	e.srv.p.OnQueuesChanged = func(context.Context) error { reloads++; return nil }
	root, sue := e.signIn("root"), e.signIn("sue")
	if r := e.do("POST", "/api/v1/queues", sue, `{"name":"sales","number":"2000"}`); r.status != http.StatusForbidden {
		t.Errorf("a supervisor adds a queue: %d", r.status)
	}
	if r := e.do("POST", "/api/v1/queues", root, `{"name":"sales","number":"2000","members":["ann"]}`); r.status != http.StatusCreated {
		t.Fatalf("add sales: %d %s", r.status, r.raw)
	}
	for _, bad := range []struct {
		body   string
		status int
	}{
		{`{"name":"default","number":"3000"}`, http.StatusBadRequest},
		{`{"name":"bad name","number":"3000"}`, http.StatusBadRequest},
		{`{"name":"x","number":"4242424242424242"}`, http.StatusBadRequest},
		{`{"name":"x","number":"sip:3000@host"}`, http.StatusBadRequest},
		{`{"name":"SALES","number":"3000"}`, http.StatusConflict},
		{`{"name":"support","number":"2000"}`, http.StatusConflict},
		{`{"name":"support","number":"3000","members":["sue"]}`, http.StatusBadRequest}, // a supervisor, not an agent
		{`{"name":"support","number":"3000","members":["nobody"]}`, http.StatusBadRequest},
	} {
		if r := e.do("POST", "/api/v1/queues", root, bad.body); r.status != bad.status {
			t.Errorf("%s: %d %s, want %d", bad.body, r.status, r.raw, bad.status)
		}
	}
	if r := e.do("PUT", "/api/v1/queues/default/members", root, `{"members":["ann","ANN"]}`); r.status != http.StatusNoContent { // a name twice is one member
		t.Errorf("default's members: %d %s", r.status, r.raw)
	}
	if r := e.do("PUT", "/api/v1/queues/nosuch/members", root, `{"members":[]}`); r.status != http.StatusNotFound {
		t.Errorf("an unknown queue's members: %d", r.status)
	}
	r := e.do("GET", "/api/v1/queues", sue, "")
	if r.status != http.StatusOK || strings.TrimSpace(r.raw) != `[{"name":"default","number":"","members":["ann"]},{"name":"sales","number":"2000","members":["ann"]}]` {
		t.Errorf("the queues: %d %s", r.status, r.raw)
	}
	if r := e.do("DELETE", "/api/v1/queues/sales", root, ""); r.status != http.StatusNoContent {
		t.Errorf("remove sales: %d", r.status)
	}
	if r := e.do("DELETE", "/api/v1/queues/default", root, ""); r.status != http.StatusNotFound {
		t.Errorf("remove default: %d", r.status)
	}
	if reloads != 3 {
		t.Errorf("the directory was told %d times, want 3 (add, default's members, remove)", reloads)
	}
	qs, err := e.store.ListQueues(context.Background())
	if err != nil || len(qs) != 1 || qs[0].Name != store.DefaultQueue {
		t.Errorf("queues left: %+v, %v", qs, err)
	}
	entries, err := e.store.ListAccess(context.Background(), store.AccessFilter{Action: store.AccessQueueChange})
	if err != nil || len(entries) != 3 || !strings.HasPrefix(entries[0].Object, "sales: removed") {
		t.Errorf("access log: %+v, %v", entries, err)
	}
}
