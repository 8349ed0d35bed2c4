package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/server/store"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (127.0.0.2 is another source than 127.0.0.1 for the server).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
}

// post signs in through c and returns the status, Retry-After and body.
func post(t *testing.T, c *http.Client, url, body string) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/api/v1/session", strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, "", nil
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return 0, "", nil
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, res.Header.Get("Retry-After"), m
}

// slowAPI is the API with ann (agent, "ann-password") whose password check
// takes 100 ms, as a real argon2id hash does under load: long enough for
// 40 parallel attempts to all be in flight before the first is judged.
func slowAPI(t *testing.T, p Params) (*Server, string) {
	t.Helper()
	st := annOnly(t)
	p.Store, p.Hash = st, cheap
	s, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	verify := s.verify
	s.verify = func(pw, enc string) error {
		time.Sleep(100 * time.Millisecond)
		return verify(pw, enc)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// TestSignInLimitRace: 40 wrong passwords for one name, all at once from
// one address, get at most the limit's worth of 401s (attempts count
// before the hash, not after it); the rest get 429 with Retry-After. The
// real user, signing in from another address meanwhile, gets in: a
// stranger cannot lock them out.
func TestSignInLimitRace(t *testing.T) {
	_, url := slowAPI(t, Params{MaxHashing: 64, MaxWaiting: 64})
	stranger, owner := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	const n = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	noRetryAfter := 0
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, ra, _ := post(t, stranger, url, `{"name":"ann","password":"guess-`+strconv.Itoa(i)+`"}`)
			mu.Lock()
			codes[code]++
			if code == http.StatusTooManyRequests {
				if s, err := strconv.Atoi(ra); err != nil || s < 1 {
					noRetryAfter++
				}
			}
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	t.Logf("40 parallel wrong passwords for ann from 127.0.0.1: %v", codes)
	if codes[http.StatusUnauthorized] > DefaultFailLimit || codes[http.StatusUnauthorized]+codes[http.StatusTooManyRequests] != n {
		t.Errorf("40 parallel guesses: %v; want at most %d 401s and the rest 429", codes, DefaultFailLimit)
	}
	if noRetryAfter > 0 {
		t.Errorf("%d of the 429s had no Retry-After", noRetryAfter)
	}
	// The stranger is held back; ann, from elsewhere, is not.
	if code, _, _ := post(t, stranger, url, `{"name":"ann","password":"ann-password"}`); code != http.StatusTooManyRequests {
		t.Errorf("the right password from the guessing address: %d, want 429 until the window passes", code)
	}
	if code, _, body := post(t, owner, url, `{"name":"ann","password":"ann-password"}`); code != http.StatusOK {
		t.Errorf("ann from 127.0.0.2: %d %v, want 200", code, body)
	}
}

// TestSignInLimitPerSource: one address guessing many names is held back
// after SourceFailLimit attempts, whatever the names; another address is
// not.
func TestSignInLimitPerSource(t *testing.T) {
	_, url := slowAPI(t, Params{SourceFailLimit: 8})
	stranger, owner := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	for i := range 8 {
		if code, _, _ := post(t, stranger, url, `{"name":"user`+strconv.Itoa(i)+`","password":"guess-guess"}`); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, code)
		}
	}
	code, ra, body := post(t, stranger, url, `{"name":"ann","password":"ann-password"}`)
	if code != http.StatusTooManyRequests || ra == "" {
		t.Errorf("after 8 names guessed from one address: %d Retry-After %q %v, want 429", code, ra, body)
	}
	if msg, _ := body["error"].(string); strings.Contains(msg, "127.0.0") {
		t.Errorf("the 429 echoes the address: %q", msg)
	}
	if code, _, _ := post(t, owner, url, `{"name":"ann","password":"ann-password"}`); code != http.StatusOK {
		t.Errorf("ann from 127.0.0.2: %d, want 200", code)
	}
}

// TestLimiterBounded: a flood of sources and names never grows the
// limiter's tables beyond its cap, and entries whose attempts have left
// the window are swept out.
func TestLimiterBounded(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := newLimiter(5, 30, time.Minute, 100)
	for i := range 10_000 {
		src := "10.0." + strconv.Itoa(i/256%256) + "." + strconv.Itoa(i%256)
		r, wait := l.reserve("user"+strconv.Itoa(i), src, now)
		if wait > 0 {
			t.Fatalf("attempt %d held back %v", i, wait)
		}
		r.failed()
	}
	if n, m := l.name.len(), l.source.len(); n > 100 || m > 100 {
		t.Errorf("tables hold %d and %d keys, want at most 100", n, m)
	}
	// A minute later every entry has left the window.
	if _, wait := l.reserve("ann", "10.9.9.9", now.Add(2*time.Minute)); wait > 0 {
		t.Fatal(wait)
	}
	if n, m := l.name.len(), l.source.len(); n != 1 || m != 1 {
		t.Errorf("after the window: %d and %d keys, want 1 each", n, m)
	}
}

// TestLimiterPending: attempts still being checked count; one held back
// only by them is told to retry in a second, not a whole window; good
// ones are taken back, and released ones never counted.
func TestLimiterPending(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := newLimiter(2, 30, time.Minute, 100)
	a, _ := l.reserve("ann", "10.0.0.1", now)
	b, _ := l.reserve("ANN", "10.0.0.1", now)
	if _, wait := l.reserve("ann", "10.0.0.1", now); wait != pendingWait {
		t.Errorf("two in flight: wait %v, want %v", wait, pendingWait)
	}
	a.release()
	c, wait := l.reserve("ann", "10.0.0.1", now)
	if wait != 0 {
		t.Fatalf("after a release: wait %v", wait)
	}
	b.failed()
	c.failed()
	if _, wait := l.reserve("ann", "10.0.0.1", now.Add(10*time.Second)); wait != 50*time.Second {
		t.Errorf("two failures: wait %v, want 50s", wait)
	}
	if _, wait := l.reserve("ann", "10.0.0.2", now); wait != 0 {
		t.Errorf("another address: wait %v, want 0", wait)
	}
	d, _ := l.reserve("sue", "10.0.0.1", now)
	d.succeeded()
	if n := l.source.len(); n != 2 {
		t.Errorf("sources %d, want 2", n)
	}
}

// TestSignInShiftFromOneAddress: a shift of 40 agents signing in at once
// through one address (an office's) all get in: per address, only
// failures count, not sign-ins being checked.
func TestSignInShiftFromOneAddress(t *testing.T) {
	s, url := slowAPI(t, Params{MaxHashing: 64, MaxWaiting: 64, SourceFailLimit: 10})
	ctx := context.Background()
	const n = 40
	for i := range n {
		h, _ := cheap.Hash("agent-password")
		if _, err := s.p.Store.AddUser(ctx, "agent"+strconv.Itoa(i), store.RoleAgent, h); err != nil {
			t.Fatal(err)
		}
	}
	office := clientFrom("127.0.0.1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, _ := post(t, office, url, `{"name":"agent`+strconv.Itoa(i)+`","password":"agent-password"}`)
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[http.StatusOK] != n {
		t.Errorf("40 agents at once from one address: %v, want all 200", codes)
	}
}
