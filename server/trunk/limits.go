package trunk

// This file holds what bounds the work a trunk takes on: the most calls up
// at once (Config.MaxCalls) and how fast one source may start calls
// (Config.InviteRate). A new INVITE past either gets 503 Service
// Unavailable with Retry-After, costs no media port, no goroutine past its
// handler's, and changes nothing.

import (
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// DefaultMaxCalls is the most calls up at once a trunk takes when
// Config.MaxCalls is 0: sized to the machine, 100 per core, at least 50.
// A call costs the server 1 to 6 ms of CPU a second (PCMU to Opus agents,
// docs/measurements.md), so 100 a core leaves room for bursts.
func DefaultMaxCalls() int {
	return max(50, 100*runtime.NumCPU())
}

// DefaultInviteRate is how many new calls a second one source address may
// start when Config.InviteRate is 0; a burst of twice that is let through.
const DefaultInviteRate = 20

// maxSources bounds the rate limiter's table of source addresses. The
// allow list keeps the real number small; spoofed UDP sources inside it
// could still fill it, so a full table refuses new sources rather than
// growing.
const maxSources = 4096

// admission decides whether a new INVITE may become a call.
type admission struct {
	maxCalls int
	rate     float64 // tokens a second per source
	burst    float64

	mu      sync.Mutex
	up      int // places taken: calls admitted and not yet over
	sources map[netip.Addr]*bucket
	logged  time.Time // when a refusal was last logged
}

// logEvery is how often, at most, refusals are logged.
const logEvery = 10 * time.Second

// shouldLog reports whether a refusal at now should be logged.
func (a *admission) shouldLog(now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.logged) < logEvery {
		return false
	}
	a.logged = now
	return true
}

// bucket is one source's token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

func newAdmission(maxCalls, rate int) *admission {
	if maxCalls <= 0 {
		maxCalls = DefaultMaxCalls()
	}
	if rate == 0 {
		rate = DefaultInviteRate
	}
	a := &admission{maxCalls: maxCalls, sources: map[netip.Addr]*bucket{}}
	if rate > 0 {
		a.rate, a.burst = float64(rate), float64(2*rate)
	}
	return a
}

// Refusal reasons, as counted on /metrics (Metrics.SIPRefused).
const (
	refusedFull = "busy" // Config.MaxCalls calls are up
	refusedRate = "rate" // the source starts calls faster than Config.InviteRate
)

// admit takes one of the maxCalls places and a token from src's bucket,
// if there are both; it returns the reason for a refusal, or "" when the
// INVITE may go on (and release must follow, once it is over). Taking the
// place here, not counting calls made later, keeps INVITEs handled side by
// side from all getting in.
func (a *admission) admit(src netip.Addr, now time.Time) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.up >= a.maxCalls {
		return refusedFull
	}
	if a.rate == 0 {
		a.up++
		return ""
	}
	b := a.sources[src]
	if b == nil {
		if len(a.sources) >= maxSources {
			a.prune(now)
			if len(a.sources) >= maxSources {
				return refusedRate
			}
		}
		b = &bucket{tokens: a.burst, last: now}
		a.sources[src] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(a.burst, b.tokens+el*a.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return refusedRate
	}
	b.tokens--
	a.up++
	return ""
}

// release gives back the place of a call admit let in, when it ends (or
// never became a call).
func (a *admission) release() {
	a.mu.Lock()
	a.up--
	a.mu.Unlock()
}

// prune forgets the sources whose buckets have filled up again: they are
// as if never seen. Called with mu held.
func (a *admission) prune(now time.Time) {
	for src, b := range a.sources {
		if b.tokens+now.Sub(b.last).Seconds()*a.rate >= a.burst {
			delete(a.sources, src)
		}
	}
}

// retryAfter is what a refused INVITE's Retry-After says, in seconds.
const retryAfter = 5

// admitted reports whether a new INVITE may become a call (the caller
// must then t.admit.release() once the INVITE's handling is over); if
// not, it has answered 503 with Retry-After, logged and counted the
// refusal.
func (t *Trunk) admitted(req *sip.Request, tx sip.ServerTransaction) bool {
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		t.respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable")
		return false
	}
	why := t.admit.admit(src.Addr().Unmap(), time.Now())
	if why == "" {
		return true
	}
	reason := "Too Many Calls"
	if why == refusedRate {
		reason = "Calls Too Fast"
	}
	// A flood must not flood the log: one line in logEvery says it.
	if now := time.Now(); t.admit.shouldLog(now) {
		if why == refusedRate {
			t.log.Warn("trunk: INVITEs refused: a source starts calls faster than the invite-rate setting", "source", src.Addr())
		} else {
			t.log.Warn("trunk: INVITEs refused: the most calls are up (the max-calls setting)", "calls", t.admit.maxCalls)
		}
	}
	if m := t.cfg.Metrics; m != nil { // counted first: whoever sees the 503 sees it counted
		m.SIPRefused("INVITE", why)
	}
	res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, reason, nil)
	res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(retryAfter)))
	if err := tx.Respond(res); err != nil {
		t.log.Debug("trunk: response not sent", "code", sip.StatusServiceUnavailable, "err", err)
	}
	return false
}
