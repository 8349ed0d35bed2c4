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

// wantLines fails for each of want that text does not hold.
func wantLines(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("no %q in:\n%s", w, text)
		}
	}
}

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
	m.RecordingChecked(false)
	m.RecordingChecked(true)
	m.RecordingChecked(false)
	m.RecordingCheckFailed()
	text := scrape(t, m)
	wantLines(t, text,
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
		"hushphone_recordings_checked_total 3",
		"hushphone_recordings_suspect_total 1",
		"hushphone_recordings_check_failed_total 1",
		"go_goroutines",
	)
}

// TestLatencyBucketsFollowTheLookahead: with a 40 ms look-ahead the fine
// buckets are just above 40 ms, as they are just above 20 ms by default.
func TestLatencyBucketsFollowTheLookahead(t *testing.T) {
	m := New(WithLookahead(40 * time.Millisecond))
	for range 50 {
		m.AddedLatency(40*time.Millisecond + 300*time.Microsecond)
	}
	text := scrape(t, m)
	wantLines(t, text,
		`hushphone_added_latency_seconds_bucket{le="0.04"} 0`,
		`hushphone_added_latency_seconds_bucket{le="0.04005"} 0`,
		`hushphone_added_latency_seconds_bucket{le="0.0402"} 0`,
		`hushphone_added_latency_seconds_bucket{le="0.0405"} 50`,
		`hushphone_added_latency_seconds_bucket{le="0.08"} 50`,
	)
}

// TestRefusals: the trunk's refusals are counted by fixed labels only:
// whatever a request or packet said becomes "other", never a label of its
// own (no digit, no address).
func TestRefusals(t *testing.T) {
	m := New()
	if text := scrape(t, m); !strings.Contains(text, `hushphone_sip_refused_total{method="INFO",reason="source"} 0`) ||
		!strings.Contains(text, `hushphone_rtp_strangers_total{kind="event"} 0`) || !strings.Contains(text, `hushphone_calls_cut_total{reason="no_ack"} 0`) {
		t.Fatalf("the series do not start at 0:\n%s", text)
	}
	m.SIPRefused("INFO", "source")
	m.SIPRefused("INFO", "source")
	m.SIPRefused("BYE", "dialog")
	m.SIPRefused("INVITE", "auth")
	m.SIPRefused("4242424242424242", "192.0.2.7")
	m.RTPStranger("audio")
	m.RTPStranger("event")
	m.RTPStranger("127.0.0.2:4000")
	m.CallCut("rtp_timeout")
	m.CallCut("5")
	text := scrape(t, m)
	wantLines(t, text,
		`hushphone_sip_refused_total{method="INFO",reason="source"} 2`,
		`hushphone_sip_refused_total{method="BYE",reason="dialog"} 1`,
		`hushphone_sip_refused_total{method="INVITE",reason="auth"} 1`,
		`hushphone_sip_refused_total{method="other",reason="other"} 1`,
		`hushphone_rtp_strangers_total{kind="audio"} 1`,
		`hushphone_rtp_strangers_total{kind="event"} 1`,
		`hushphone_rtp_strangers_total{kind="other"} 1`,
		`hushphone_calls_cut_total{reason="rtp_timeout"} 1`,
		`hushphone_calls_cut_total{reason="other"} 1`,
	)
	for _, line := range strings.Split(text, "\n") {
		refusal := strings.HasPrefix(line, "hushphone_sip_refused") || strings.HasPrefix(line, "hushphone_rtp_strangers") || strings.HasPrefix(line, "hushphone_calls_cut")
		if refusal && strings.ContainsAny(strings.SplitN(line, " ", 2)[0], "0123456789") {
			t.Errorf("a digit in a label: %s", line)
		}
	}
}

// The trunk finds these counters by their methods: a change of name there
// must fail here.
var _ interface {
	trunk.ConnMetrics
	SRTPDropped(uint64)
} = (*Metrics)(nil)
