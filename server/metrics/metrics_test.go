package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/server/callerleg"
	"github.com/hushphone/hushphone/server/trunk"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExposition(t *testing.T) {
	m := New()
	m.CallOffered()
	m.CallOffered()
	for range 50 {
		m.AddedLatency(20*time.Millisecond + 300*time.Microsecond)
	}
	m.CallEnded(callerleg.Stats{Received: 100, Events: 7, Lost: 3, Late: 1, Ignored: 2, Malformed: 4, Jitter: 2 * time.Millisecond})
	m.SIPConnClosed(trunk.ConnNotAllowed)
	m.SIPConnClosed(trunk.ConnNotAllowed)
	m.SIPConnClosed(trunk.ConnIdle)
	m.SRTPDropped(3)
	text := scrape(t, m)
	for _, want := range []string{
		"hushphone_calls_offered_total 2",
		"hushphone_calls_ended_total 1",
		"hushphone_calls_active 1",
		`hushphone_caller_rtp_packets_total{outcome="audio"} 100`,
		`hushphone_caller_rtp_packets_total{outcome="event"} 7`,
		`hushphone_caller_rtp_packets_total{outcome="malformed"} 4`,
		"hushphone_caller_rtp_lost_total 3",
		"hushphone_caller_jitter_seconds_count 1",
		`hushphone_added_latency_seconds_bucket{le="0.021"} 50`,
		`hushphone_added_latency_seconds_bucket{le="0.02"} 0`,
		`hushphone_added_latency_seconds_bucket{le="0.0202"} 0`,
		`hushphone_added_latency_seconds_bucket{le="0.0205"} 50`,
		`hushphone_sip_connections_closed_total{reason="not_allowed"} 2`,
		`hushphone_sip_connections_closed_total{reason="idle"} 1`,
		"hushphone_srtp_dropped_total 3",
		"go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
}

// The trunk finds these counters by their methods: a change of name there
// must fail here.
var _ interface {
	trunk.ConnMetrics
	SRTPDropped(uint64)
} = (*Metrics)(nil)
