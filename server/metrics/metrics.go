// Package metrics is what the server exposes on /metrics, in Prometheus'
// text format: calls, the caller legs' packets, loss and jitter, the
// server's added latency (a caller's audio in, masked audio out), and what
// the trunk refused: SIP requests from outside a call's dialog, media from
// strangers, calls cut because their peer went silent; and the recordings
// checked after their calls, and those found suspect. Never a digit, a
// number called from, an address, or anything about a key press but its
// count: every label value is one of a fixed few.
package metrics

import (
	"math"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hushphone/hushphone/server/callerleg"
)

// LatencyBuckets are the added latency histogram's upper bounds, in
// seconds, at the default 20 ms look-ahead. The Masker's look-ahead is the
// floor, and a healthy server adds well under a millisecond to it, so the
// buckets are fine just above 20 ms (p50 and p99 within 0.05 ms there) and
// coarse beyond, up to the 60 ms that is the load target's limit for p99
// and past it. With a longer look-ahead (WithLookahead) every bound moves
// up by the difference.
var LatencyBuckets = []float64{
	.020, .02005, .0201, .0202, .0203, .0205, .0207, .021, .0215, .022, .023, .025,
	.0275, .03, .035, .04, .05, .06, .08, .1, .15, .25, .5,
}

// Metrics holds the server's collectors, on their own registry.
type Metrics struct {
	reg *prometheus.Registry

	callsOffered prometheus.Counter
	callsEnded   prometheus.Counter
	callsActive  prometheus.Gauge
	packets      *prometheus.CounterVec
	lost         prometheus.Counter
	jitter       prometheus.Histogram
	latency      prometheus.Histogram
	sipRefused   *prometheus.CounterVec
	rtpStrangers *prometheus.CounterVec
	callsCut     *prometheus.CounterVec
	sipConns     *prometheus.CounterVec
	srtpDropped  prometheus.Counter
	recChecked   prometheus.Counter
	recSuspect   prometheus.Counter
	recFailed    prometheus.Counter
}

// The label values the trunk's counters may carry; anything else is
// counted as "other", so that nothing from the network becomes a label.
var (
	sipMethods = []string{"INVITE", "ACK", "BYE", "CANCEL", "INFO", "OPTIONS", "UPDATE", "other"}
	refusals   = []string{"source", "dialog", "auth", "busy", "rate", "other"}
	mediaKinds = []string{"audio", "event", "rtcp", "other"}
	cuts       = []string{"no_ack", "rtp_timeout", "session_expired", "other"}
)

// known is v if it is one of values, else "other".
func known(v string, values []string) string {
	for _, k := range values {
		if v == k {
			return v
		}
	}
	return "other"
}

// Option configures the metrics.
type Option func(*options)

type options struct{ lookahead time.Duration }

// WithLookahead is the Masker's look-ahead (the mask-lookahead setting;
// default 20 ms), the added latency's floor: the histogram's fine buckets
// are just above it.
func WithLookahead(d time.Duration) Option { return func(o *options) { o.lookahead = d } }

// latencyBuckets is LatencyBuckets moved up from 20 ms to the look-ahead.
func latencyBuckets(lookahead time.Duration) []float64 {
	shift := max(lookahead-20*time.Millisecond, 0).Seconds()
	b := make([]float64, len(LatencyBuckets))
	for i, v := range LatencyBuckets {
		b[i] = math.Round((v+shift)*1e6) / 1e6 // whole microseconds, for tidy labels
	}
	return b
}

// New returns the server's metrics, with Go's runtime and process ones.
func New(opts ...Option) *Metrics {
	var o options
	for _, f := range opts {
		f(&o)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		callsOffered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hushphone_calls_offered_total", Help: "Inbound calls offered by the SIP trunks.",
		}),
		callsEnded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hushphone_calls_ended_total", Help: "Calls ended, whoever ended them.",
		}),
		callsActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hushphone_calls_active", Help: "Calls in progress.",
		}),
		packets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hushphone_caller_rtp_packets_total", Help: "Caller RTP packets by what became of them.",
		}, []string{"outcome"}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hushphone_caller_rtp_lost_total", Help: "Caller RTP packets expected but never received (RFC 3550).",
		}),
		jitter: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hushphone_caller_jitter_seconds", Help: "Caller interarrival jitter at the end of each call (RFC 3550).",
			Buckets: []float64{.001, .005, .01, .02, .04, .08, .16},
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hushphone_added_latency_seconds",
			Help:    "The server's added latency: a caller packet's arrival to its masked audio going out (the Masker's look-ahead plus processing).",
			Buckets: latencyBuckets(o.lookahead),
		}),
		sipRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hushphone_sip_refused_total",
			Help: "SIP requests refused by the trunk, by method and why: source (403: not from an allowed address nor the call's peer), dialog (481 or 482: not the call's Call-ID and tags), auth (401: digest credentials missing or wrong), busy (503: the max-calls setting's calls are up), rate (503: the source starts calls faster than the invite-rate setting).",
		}, []string{"method", "reason"}),
		rtpStrangers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hushphone_rtp_strangers_total",
			Help: "Packets on a call's media ports from anywhere but the caller, dropped unheard: audio, event (RFC 4733 key presses) or rtcp.",
		}, []string{"kind"}),
		callsCut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hushphone_calls_cut_total",
			Help: "Calls the trunk ended with BYE because the peer went quiet: no_ack (the 200 OK never acknowledged), rtp_timeout (no media for the rtp-timeout setting), session_expired (an RFC 4028 session timer not refreshed).",
		}, []string{"reason"}),
		sipConns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hushphone_sip_connections_closed_total", Help: "SIP connections over TCP and TLS the server closed, by why: not_allowed (from outside trunk-allow), too_many, idle.",
		}, []string{"reason"}),
		srtpDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hushphone_srtp_dropped_total", Help: "SRTP and SRTCP packets from trunks dropped: failed authentication, replayed, or not SRTP.",
		}),
		recChecked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hushphone_recordings_checked_total", Help: "Call recordings checked for key presses by the independent detector after their call ended.",
		}),
		recSuspect: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hushphone_recordings_suspect_total", Help: "Call recordings in which the independent detector found a key press: each may hold card data and must be looked at.",
		}),
		recFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hushphone_recordings_check_failed_total", Help: "Call recordings whose check could not run or whose proof could not be stored (the log says why); they stay pending.",
		}),
	}
	// Every series exists from the start, at 0, so that a rate over it
	// means something before the first refusal.
	for _, method := range sipMethods {
		for _, reason := range refusals {
			m.sipRefused.WithLabelValues(method, reason)
		}
	}
	for _, k := range mediaKinds {
		m.rtpStrangers.WithLabelValues(k)
	}
	for _, c := range cuts {
		m.callsCut.WithLabelValues(c)
	}
	m.reg.MustRegister(m.callsOffered, m.callsEnded, m.callsActive, m.packets, m.lost, m.jitter, m.latency,
		m.sipRefused, m.rtpStrangers, m.callsCut, m.sipConns, m.srtpDropped, m.recChecked, m.recSuspect, m.recFailed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// CallOffered counts an inbound call.
func (m *Metrics) CallOffered() {
	m.callsOffered.Inc()
	m.callsActive.Inc()
}

// CallEnded counts a call's end and adds its caller leg's counters.
func (m *Metrics) CallEnded(s callerleg.Stats) {
	m.callsEnded.Inc()
	m.callsActive.Dec()
	m.packets.WithLabelValues("audio").Add(float64(s.Received))
	m.packets.WithLabelValues("event").Add(float64(s.Events))
	m.packets.WithLabelValues("late").Add(float64(s.Late))
	m.packets.WithLabelValues("stranger").Add(float64(s.Ignored))
	m.packets.WithLabelValues("malformed").Add(float64(s.Malformed))
	if s.Lost > 0 {
		m.lost.Add(float64(s.Lost))
	}
	if s.Received > 0 {
		m.jitter.Observe(s.Jitter.Seconds())
	}
}

// AddedLatency observes one frame's added latency.
func (m *Metrics) AddedLatency(d time.Duration) { m.latency.Observe(d.Seconds()) }

// SIPRefused counts a SIP request the trunk refused: method is the
// request's (INVITE, BYE, INFO, ...), reason why (source, dialog, auth).
func (m *Metrics) SIPRefused(method, reason string) {
	m.sipRefused.WithLabelValues(known(method, sipMethods), known(reason, refusals)).Inc()
}

// RTPStranger counts one packet dropped from a call's media ports because
// it did not come from the caller: kind is audio, event or rtcp.
func (m *Metrics) RTPStranger(kind string) {
	m.rtpStrangers.WithLabelValues(known(kind, mediaKinds)).Inc()
}

// CallCut counts a call ended with BYE because its peer went quiet: reason
// is no_ack, rtp_timeout or session_expired.
func (m *Metrics) CallCut(reason string) {
	m.callsCut.WithLabelValues(known(reason, cuts)).Inc()
}

// SIPConnClosed counts a SIP connection the trunk closed, by why.
func (m *Metrics) SIPConnClosed(reason string) { m.sipConns.WithLabelValues(reason).Inc() }

// SRTPDropped counts a call's SRTP packets dropped.
func (m *Metrics) SRTPDropped(n uint64) { m.srtpDropped.Add(float64(n)) }

// RecordingChecked counts a recording checked after its call, and a
// suspect one (the independent detector found a key press in it).
func (m *Metrics) RecordingChecked(suspect bool) {
	m.recChecked.Inc()
	if suspect {
		m.recSuspect.Inc()
	}
}

// RecordingCheckFailed counts a recording whose check did not run to a
// stored proof.
func (m *Metrics) RecordingCheckFailed() { m.recFailed.Inc() }
