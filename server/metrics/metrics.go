// Package metrics is what the server exposes on /metrics, in Prometheus'
// text format: calls, the caller legs' packets, loss and jitter, and the
// server's added latency (a caller's audio in, masked audio out). Never a
// digit, a number called from, or anything about a key press but its
// count.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hushphone/hushphone/server/callerleg"
)

// LatencyBuckets are the added latency histogram's upper bounds, in
// seconds. The Masker's look-ahead is 20 ms, the floor, and a healthy
// server adds well under a millisecond to it, so the buckets are fine just
// above 20 ms (p50 and p99 within 0.05 ms there) and coarse beyond, up to
// the 60 ms that is the load target's limit for p99 and past it.
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
	sipConns     *prometheus.CounterVec
	srtpDropped  prometheus.Counter
}

// New returns the server's metrics, with Go's runtime and process ones.
func New() *Metrics {
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
			Buckets: LatencyBuckets,
		}),
		sipConns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hushphone_sip_connections_closed_total", Help: "SIP connections over TCP and TLS the server closed, by why: not_allowed (from outside trunk-allow), too_many, idle.",
		}, []string{"reason"}),
		srtpDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hushphone_srtp_dropped_total", Help: "SRTP and SRTCP packets from trunks dropped: failed authentication, replayed, or not SRTP.",
		}),
	}
	m.reg.MustRegister(m.callsOffered, m.callsEnded, m.callsActive, m.packets, m.lost, m.jitter, m.latency, m.sipConns, m.srtpDropped,
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

// SIPConnClosed counts a SIP connection the trunk closed, by why.
func (m *Metrics) SIPConnClosed(reason string) { m.sipConns.WithLabelValues(reason).Inc() }

// SRTPDropped counts a call's SRTP packets dropped.
func (m *Metrics) SRTPDropped(n uint64) { m.srtpDropped.Add(float64(n)) }
