package api

import (
	"container/list"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// limiter counts sign-in attempts in a sliding window, two ways at once:
// per name and source (the client's address) and per source alone. An
// attempt is counted when it starts, before its password check, so
// attempts in flight count too: however many arrive at once for one name
// from one source, no more than a limit's worth get to the hash (per
// source alone only failures count: see counts.countPending). One that
// turns out good is taken back (and clears its name's failures from that
// source); one turned away before the check (the server busy, the client
// gone) is taken back too.
//
// There is no limit per name alone: a stranger could then lock the real
// user out by failing on purpose. Guessing from many addresses at once is
// what the one-time codes are for (MFA).
//
// Both tables hold at most maxKeys keys: beyond that the key used least
// recently is forgotten, so a flood of names or sources cannot grow the
// memory without bound.
type limiter struct {
	mu     sync.Mutex
	window time.Duration
	name   counts // lower-case name, NUL, source
	source counts
	nextID uint64
}

// counts is one table: a key's attempts within the window, oldest first
// (at most limit of them), its keys in a list, most recently used first.
type counts struct {
	limit, maxKeys int
	// countPending: attempts still being checked count against the limit
	// (per name and source); otherwise only those that failed do (per
	// source, where a shift signing in at once through one office's
	// address must not be held back: there the first burst is bounded by
	// the password checks' queue instead, MaxHashing and MaxWaiting).
	countPending bool
	keys         map[string]*list.Element // of *attempts
	lru          list.List
}

type attempts struct {
	key   string
	tries []try
}

// try is one attempt: when it started, which reservation it is, and
// whether its check is still running.
type try struct {
	at      time.Time
	id      uint64
	pending bool
}

// DefaultMaxLimitKeys bounds each of the limiter's tables.
const DefaultMaxLimitKeys = 16384

// pendingWait is the wait told to an attempt held back only by attempts
// still being checked: they are settled within a second or so, and those
// that turn out good are taken back.
const pendingWait = time.Second

func newLimiter(perName, perSource int, window time.Duration, maxKeys int) *limiter {
	l := &limiter{window: window}
	l.name = counts{limit: perName, maxKeys: maxKeys, countPending: true, keys: map[string]*list.Element{}}
	l.source = counts{limit: perSource, maxKeys: maxKeys, keys: map[string]*list.Element{}}
	return l
}

// reservation is one attempt, counted; release, failed or succeeded says
// how it went (exactly one of them, once).
type reservation struct {
	l            *limiter
	name, source string
	id           uint64
}

// reserve counts an attempt for name from source (a client address, as
// sourceOf makes it), unless either limit is reached: then it returns how
// long to wait before the next attempt can go ahead.
func (l *limiter) reserve(name, source string, now time.Time) (*reservation, time.Duration) {
	nk := strings.ToLower(name) + "\x00" + source
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := max(l.name.wait(nk, now, l.window), l.source.wait(source, now, l.window))
	if wait > 0 {
		return nil, wait
	}
	l.nextID++
	t := try{at: now, id: l.nextID, pending: true}
	l.name.add(nk, t)
	l.source.add(source, t)
	return &reservation{l: l, name: nk, source: source, id: t.id}, 0
}

// release takes the attempt back: it never reached the password check.
func (r *reservation) release() {
	r.l.mu.Lock()
	r.l.name.remove(r.name, r.id)
	r.l.source.remove(r.source, r.id)
	r.l.mu.Unlock()
}

// failed leaves the attempt counted until it leaves the window.
func (r *reservation) failed() {
	r.l.mu.Lock()
	r.l.name.settle(r.name, r.id)
	r.l.source.settle(r.source, r.id)
	r.l.mu.Unlock()
}

// succeeded takes the attempt back and forgets the name's failures from
// this source: the user proved who they are.
func (r *reservation) succeeded() {
	r.l.mu.Lock()
	r.l.name.forget(r.name)
	r.l.source.remove(r.source, r.id)
	r.l.mu.Unlock()
}

// wait is how long key must wait for its next attempt (0: go ahead), its
// attempts older than the window dropped first; l.mu is held.
func (c *counts) wait(key string, now time.Time, window time.Duration) time.Duration {
	c.sweep(now, window)
	e, ok := c.keys[key]
	if !ok {
		return 0
	}
	a := e.Value.(*attempts) //nolint:forcetypeassert // the list holds nothing else
	kept := a.tries[:0]
	settled, pending := 0, 0
	var oldest time.Time
	for _, t := range a.tries {
		switch {
		case t.pending:
			pending++
		case !t.at.After(now.Add(-window)):
			continue // left the window
		default:
			if settled == 0 {
				oldest = t.at
			}
			settled++
		}
		kept = append(kept, t)
	}
	a.tries = kept
	switch {
	case settled >= c.limit:
		return max(oldest.Add(window).Sub(now), time.Nanosecond)
	case c.countPending && settled+pending >= c.limit:
		// The attempts still being checked may yet be taken back: a short
		// wait will do.
		return pendingWait
	}
	return 0
}

// add counts an attempt for key, making room for a new key by forgetting
// the least recently used; l.mu is held and wait said 0.
func (c *counts) add(key string, t try) {
	if e, ok := c.keys[key]; ok {
		a := e.Value.(*attempts) //nolint:forcetypeassert // the list holds nothing else
		a.tries = append(a.tries, t)
		c.lru.MoveToFront(e)
		return
	}
	for len(c.keys) >= c.maxKeys {
		c.drop(c.lru.Back())
	}
	tries := make([]try, 1, c.limit)
	tries[0] = t
	c.keys[key] = c.lru.PushFront(&attempts{key: key, tries: tries})
}

// remove takes back the attempt id; l.mu is held.
func (c *counts) remove(key string, id uint64) {
	e, ok := c.keys[key]
	if !ok {
		return // forgotten meanwhile
	}
	a := e.Value.(*attempts) //nolint:forcetypeassert // the list holds nothing else
	for i, t := range a.tries {
		if t.id == id {
			a.tries = append(a.tries[:i], a.tries[i+1:]...)
			break
		}
	}
	if len(a.tries) == 0 {
		c.drop(e)
	}
}

// settle marks the attempt id as checked; l.mu is held.
func (c *counts) settle(key string, id uint64) {
	e, ok := c.keys[key]
	if !ok {
		return // forgotten meanwhile
	}
	a := e.Value.(*attempts) //nolint:forcetypeassert // the list holds nothing else
	for i := range a.tries {
		if a.tries[i].id == id {
			a.tries[i].pending = false
			return
		}
	}
}

// forget drops key's attempts; l.mu is held.
func (c *counts) forget(key string) {
	if e, ok := c.keys[key]; ok {
		c.drop(e)
	}
}

func (c *counts) drop(e *list.Element) {
	a := e.Value.(*attempts) //nolint:forcetypeassert // the list holds nothing else
	delete(c.keys, a.key)
	c.lru.Remove(e)
}

// sweep drops, from the least recently used end, keys whose every attempt
// has left the window and none still being checked (a key's newest
// attempt is its last use); l.mu is held.
func (c *counts) sweep(now time.Time, window time.Duration) {
	for e := c.lru.Back(); e != nil; e = c.lru.Back() {
		a := e.Value.(*attempts) //nolint:forcetypeassert // the list holds nothing else
		for _, t := range a.tries {
			if t.pending || t.at.After(now.Add(-window)) {
				return
			}
		}
		c.drop(e)
	}
}

// len is how many keys the table holds (tests).
func (c *counts) len() int { return len(c.keys) }

// sourceOf is the source an attempt is counted against: the client's
// address (r.RemoteAddr: the server trusts no proxy, so never
// X-Forwarded-For), an IPv6 one as its /64, which one subscriber usually
// holds whole.
func sourceOf(remoteAddr string) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return remoteAddr // not an address: counted as it is
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
