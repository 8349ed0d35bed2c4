package trunk

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/server/callerleg"
)

// refusals counts the trunk's refusals, as /metrics would.
type refusals struct {
	mu sync.Mutex
	n  map[string]int // "METHOD reason"
}

func (r *refusals) CallOffered()               {}
func (r *refusals) CallEnded(callerleg.Stats)  {}
func (r *refusals) AddedLatency(time.Duration) {}
func (r *refusals) RTPStranger(string)         {}
func (r *refusals) CallCut(string)             {}
func (r *refusals) SIPRefused(method, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[method+" "+reason]++
}

func (r *refusals) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[key]
}

// ringForever rings every call and leaves it waiting, as a queue with no
// agent does; the trunk's Close ends them.
func ringForever(_ *answered, c *Call) { _ = c.Ring() }

// flood sends n INVITEs, each a new call, from one UDP socket bound to
// from, as fast as it can, and returns each call's first response of 180
// or more: its code and its Retry-After.
func flood(t *testing.T, addr string, from netip.Addr, n int) (codes map[int]int, retryAfter []string) {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	to, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	local := conn.LocalAddr().String()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	for i := range n {
		sdp := "v=0\r\no=- " + strconv.Itoa(i) + " 1 IN IP4 " + from.String() + "\r\ns=-\r\nc=IN IP4 " + from.String() + "\r\nt=0 0\r\nm=audio " + strconv.Itoa(port+2) + " RTP/AVP 0\r\n"
		id := "flood-" + strconv.Itoa(i) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		msg := "INVITE sip:hushphone@" + addr + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-" + id + "\r\n" +
			"From: <sip:0123@" + local + ">;tag=" + id + "\r\n" +
			"To: <sip:hushphone@" + addr + ">\r\n" +
			"Call-ID: " + id + "\r\nCSeq: 1 INVITE\r\nContact: <sip:0123@" + local + ">\r\nMax-Forwards: 70\r\n" +
			"Content-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp
		if _, err := conn.WriteToUDP([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
	}
	codes, seen := map[int]int{}, map[string]bool{}
	buf := make([]byte, 4096)
	for len(seen) < n {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("%d of %d INVITEs answered: %v", len(seen), n, err)
		}
		var code int
		if _, err := fmtSscanf(string(buf[:m]), &code); err != nil || code < 180 {
			continue
		}
		id, ra := "", ""
		for _, line := range bytes.Split(buf[:m], []byte("\r\n")) {
			k, v, _ := strings.Cut(string(line), ":")
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "call-id", "i":
				id = strings.TrimSpace(v)
			case "retry-after":
				ra = strings.TrimSpace(v)
			}
		}
		if seen[id] {
			continue // a retransmission, or the 487/480 that ends a rung call
		}
		seen[id] = true
		codes[code]++
		if code == 503 {
			retryAfter = append(retryAfter, ra)
		}
	}
	return codes, retryAfter
}

// TestInviteFloodIsBounded: 100 INVITEs from one source that nobody
// follows up used to make 100 calls, each with its media ports and
// goroutines, there until the caller hung up. Now one source starts at
// most a burst of 2 x DefaultInviteRate at once, the rest get 503 with
// Retry-After, and another source is not held back by the first.
func TestInviteFloodIsBounded(t *testing.T) {
	m := &refusals{}
	addr, got, _ := startTrunkCfg(t, Config{Metrics: m}, ringForever)
	start := time.Now()
	codes, ra := flood(t, addr, netip.MustParseAddr("127.0.0.1"), 100)
	// The bucket refills while the flood is sent: allow for it.
	most := 2*DefaultInviteRate + int(time.Since(start).Seconds()*DefaultInviteRate) + 1
	if codes[180] < 2*DefaultInviteRate || codes[180] > most || codes[180]+codes[503] != 100 {
		t.Fatalf("100 INVITEs from one source: %v; want %d to %d rung, the rest 503", codes, 2*DefaultInviteRate, most)
	}
	for _, v := range ra {
		if v != strconv.Itoa(retryAfter) {
			t.Fatalf("a 503 with Retry-After %q, want %d", v, retryAfter)
		}
	}
	if n := m.count("INVITE rate"); n != codes[503] {
		t.Errorf("%d refusals counted, want %d", n, codes[503])
	}
	// Another trunk address is not held back by the first one's flood.
	if other, _ := flood(t, addr, netip.MustParseAddr("127.0.0.2"), 5); other[180] != 5 {
		t.Fatalf("5 INVITEs from another source after the flood: %v, want 5 rung", other)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.calls) != codes[180]+5 {
		t.Fatalf("%d calls offered, want %d", len(got.calls), codes[180]+5)
	}
}

// TestMaxCalls: past the max-calls setting a new caller gets 503 and
// costs nothing; once a call ends there is room again.
func TestMaxCalls(t *testing.T) {
	m := &refusals{}
	addr, got, _ := startTrunkCfg(t, Config{Metrics: m, MaxCalls: 3, InviteRate: -1}, ringForever)
	codes, ra := flood(t, addr, netip.MustParseAddr("127.0.0.1"), 5)
	if codes[180] != 3 || codes[503] != 2 {
		t.Fatalf("5 INVITEs with max-calls 3: %v, want 3 rung and 2 refused with 503", codes)
	}
	if len(ra) != 2 || ra[0] != strconv.Itoa(retryAfter) {
		t.Fatalf("Retry-After %q", ra)
	}
	if n := m.count("INVITE busy"); n != 2 {
		t.Errorf("%d refusals counted, want 2", n)
	}
	got.mu.Lock()
	first := got.calls[0]
	got.mu.Unlock()
	// Hang up the first (480, whose ACK nobody sends: the call ends at
	// once all the same).
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_ = first.Hangup(ctx)
	cancel()
	select {
	case <-first.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the rejected call did not end")
	}
	if codes, _ := flood(t, addr, netip.MustParseAddr("127.0.0.1"), 1); codes[180] != 1 {
		t.Fatalf("an INVITE after a call ended: %v, want it rung", codes)
	}
}

func TestAdmission(t *testing.T) {
	a := newAdmission(10, 1) // 1 a second, bursts of 2
	src := netip.MustParseAddr("192.0.2.1")
	now := time.Unix(1000, 0)
	for i, want := range []string{"", "", refusedRate} {
		if got := a.admit(src, now); got != want {
			t.Fatalf("call %d at once: %q, want %q", i, got, want)
		}
	}
	if got := a.admit(src, now.Add(time.Second)); got != "" {
		t.Fatalf("a second later: %q, want admitted", got)
	}
	for range 7 {
		if got := a.admit(src, now.Add(time.Hour)); got != "" {
			t.Fatalf("calls 4 to 10: %q, want admitted", got)
		}
		now = now.Add(time.Second)
	}
	if got := a.admit(src, now.Add(time.Hour)); got != refusedFull {
		t.Fatalf("with 10 calls up: %q, want %q", got, refusedFull)
	}
	a.release()
	if got := a.admit(src, now.Add(time.Hour)); got != "" {
		t.Fatalf("once a call is over: %q, want admitted", got)
	}
	a.maxCalls = 1 << 30
	// The table of sources stays bounded: idle ones are forgotten when it
	// fills, and a full table of busy ones refuses newcomers.
	for i := range maxSources + 10 {
		a.admit(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), now.Add(2*time.Hour))
	}
	if n := len(a.sources); n > maxSources {
		t.Fatalf("%d sources kept, at most %d", n, maxSources)
	}
	if got := a.admit(netip.MustParseAddr("198.51.100.1"), now.Add(2*time.Hour)); got != refusedRate {
		t.Fatalf("a new source with the table full of busy ones: %q, want %q", got, refusedRate)
	}
	if got := a.admit(netip.MustParseAddr("198.51.100.1"), now.Add(3*time.Hour)); got != "" {
		t.Fatalf("a new source once the others are idle: %q, want admitted", got)
	}
}
