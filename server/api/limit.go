package api

import (
	"sync"
	"time"
)

// limiter counts failed sign-ins per name in a sliding window.
type limiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	fails  map[string][]time.Time // oldest first; at most limit entries
}

// maxNames bounds the map: beyond it, names whose failures have all left
// the window are swept out.
const maxNames = 4096

func newLimiter(limit int, window time.Duration) *limiter {
	return &limiter{limit: limit, window: window, fails: map[string][]time.Time{}}
}

// wait is how long key must wait before its next attempt (0: go ahead).
func (l *limiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.prune(key, now)
	if len(f) < l.limit {
		return 0
	}
	return f[0].Add(l.window).Sub(now)
}

// fail records a failed attempt for key.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.prune(key, now)
	if len(f) >= l.limit {
		f = f[1:]
	}
	l.fails[key] = append(f, now)
	if len(l.fails) > maxNames {
		for k := range l.fails {
			l.prune(k, now)
		}
	}
}

// reset forgets key's failures (after a good sign-in).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.fails, key)
	l.mu.Unlock()
}

// prune drops key's failures older than the window; l.mu is held.
func (l *limiter) prune(key string, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && !f[i].After(now.Add(-l.window)) {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = f
	return f
}
