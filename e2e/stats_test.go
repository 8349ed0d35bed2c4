package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/server/store"
)

// statsBody is GET /api/v1/stats's answer.
type statsBody struct {
	ThresholdMs int64 `json:"threshold_ms"`
	Queues      []struct {
		Queue           string  `json:"queue"`
		Offered         int     `json:"offered"`
		Answered        int     `json:"answered"`
		Abandoned       int     `json:"abandoned"`
		WithinThreshold int     `json:"within_threshold"`
		ServiceLevel    float64 `json:"service_level"`
		AverageWaitMs   int64   `json:"average_wait_ms"`
		AverageHandleMs int64   `json:"average_handle_ms"`
	} `json:"queues"`
	Agents []struct {
		Agent   string `json:"agent"`
		Handled int    `json:"handled"`
	} `json:"agents"`
}

// TestWallboardFiguresSurviveRestart: real calls over SIP (the test's
// caller, and sipp) to a real agent (the desktop engine, answering on its
// own): one answered and hung up by the caller, one sipp waits on with no
// agent there until the longest wait ends it (abandoned), one still
// talking when the server stops. A supervisor
// reads the day's figures from the call log (GET /api/v1/stats); the
// server is stopped and started again on the same data directory, and the
// figures are the same, the call cut by the stop logged as ended by it.
func TestWallboardFiguresSurviveRestart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv := stacktest.Start(t, stacktest.WithMaxQueueWait(2*time.Second))
	srv.AddAgent(t, "ann", "ann-password")
	srv.AddUser(t, "sue", store.RoleSupervisor, "sue-password")
	code, err := srv.Code(ctx, "sue")
	if err != nil {
		t.Fatal(err)
	}
	sue := restSignIn(t, srv.URL, "sue", "sue-password", code)
	from := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)

	stopAnn := runAgent(ctx, t, srv, "ann")
	t.Cleanup(stopAnn)
	srv.WaitAvailable(t, 1)

	// 1: answered, the caller hangs up after a second of talk.
	first := sipptest.Dial(t, srv.SIPAddr, g711.ULaw, 15*time.Second)
	waitAudio(t, first, "ann")
	time.Sleep(time.Second)
	first.Hangup(t)
	waitState(t, srv, 1)

	// 3 (later): a call still going when the server stops. First 2: ann
	// leaves, and a caller waits with nobody there until the longest wait
	// (2 s here) lets it go.
	stopAnn()
	waitState(t, srv, 0)
	dir := t.TempDir()
	scen := strings.Replace(waiterScenario, "MEDIAPORT", sipptest.FreePort(t), 1)
	if err := os.WriteFile(filepath.Join(dir, "waiter.xml"), []byte(scen), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, sipptest.Sipp(t), "-sf", "waiter.xml", "-s", "hushphone", "-m", "1", "-i", "127.0.0.1",
		"-p", sipptest.FreePort(t), "-timeout", "30s", "-timeout_error", "-nostdin", srv.SIPAddr)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sipp, the caller nobody takes, did not get its busy tone and BYE: %v\n%s", err, out)
	}

	ann2, err := engine.New(engine.Config{Server: srv.URL, User: "ann", Password: "ann-password", AutoAnswer: true, Audio: &ears{}, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	actx2, stopAnn2 := context.WithCancel(ctx)
	ann2Done := make(chan error, 1)
	go func() { ann2Done <- ann2.Run(actx2) }() // it loses its server below: its error is expected (so not runAgent)
	defer func() {
		stopAnn2()
		<-ann2Done
	}()
	srv.WaitAvailable(t, 1)
	third := sipptest.Dial(t, srv.SIPAddr, g711.ULaw, 15*time.Second)
	defer third.Close()
	waitAudio(t, third, "ann")

	read := func(r *rest) statsBody {
		t.Helper()
		var b statsBody
		if code := r.do("GET", "/api/v1/stats?from="+from+"&threshold=20s", nil, &b); code != 200 {
			t.Fatalf("GET /api/v1/stats: %d", code)
		}
		return b
	}
	var before statsBody
	deadline := time.Now().Add(10 * time.Second)
	for {
		before = read(sue)
		if len(before.Queues) == 1 && before.Queues[0].Abandoned == 1 && before.Queues[0].Answered == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(before.Queues) != 1 {
		t.Fatalf("queues %+v, want the default queue alone", before.Queues)
	}
	q := before.Queues[0]
	if q.Queue != "default" || q.Offered != 3 || q.Answered != 2 || q.Abandoned != 1 || q.WithinThreshold != 2 {
		t.Fatalf("figures %+v, want 3 offered in the default queue, 2 answered within 20 s, 1 abandoned", q)
	}
	if q.ServiceLevel < 0.66 || q.ServiceLevel > 0.67 || q.AverageHandleMs < 900 || q.AverageHandleMs > 5000 {
		t.Errorf("service level %.3f (want 2/3), average handle %d ms (want the first call's, about 1 s)", q.ServiceLevel, q.AverageHandleMs)
	}
	if len(before.Agents) != 1 || before.Agents[0].Agent != "ann" || before.Agents[0].Handled != 2 {
		t.Errorf("agents %+v, want ann with 2 calls", before.Agents)
	}

	// The restart: the same data directory, the same sign-in session. A
	// server that stops hangs its calls up: the third is logged as ended
	// then, by the agent's side going (a server that dies instead leaves
	// it open, and the next start logs it as ended by the restart:
	// server/store's TestCallLogFigures, server/calllog's tests).
	srv.Stop()
	srv2 := stacktest.Start(t, stacktest.WithDataDir(srv.DataDir))
	after := read(&rest{t: t, base: srv2.URL, token: sue.token})
	if len(after.Queues) != 1 {
		t.Fatalf("after the restart: %+v", after.Queues)
	}
	a, b := after.Queues[0], before.Queues[0]
	if a.Offered != b.Offered || a.Answered != b.Answered || a.Abandoned != b.Abandoned || a.WithinThreshold != b.WithinThreshold || a.AverageWaitMs != b.AverageWaitMs {
		t.Errorf("after the restart: %+v\nbefore it: %+v", a, b)
	}
	ids := callIDs(t, srv2)
	if len(ids) != 3 {
		t.Fatalf("%d calls in the log, want 3", len(ids))
	}
	for _, id := range ids {
		c, err := srv2.Store.LoggedCallByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s, answered %v, by %q, ended %s", id, c.Direction, !c.Answered.IsZero(), c.Agent, c.Outcome)
		if c.Ended.IsZero() || c.Outcome == "" {
			t.Errorf("call %s not logged as ended after the stop: %+v", id, c)
		}
	}
}

// waitState waits until the server has n agents available.
func waitState(t *testing.T, srv *stacktest.Stack, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Available() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d agents available, want %d", srv.Available(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// callIDs are the calls in the stack's call log.
func callIDs(t *testing.T, srv *stacktest.Stack) []string {
	t.Helper()
	ids, err := srv.Store.LoggedCallIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
