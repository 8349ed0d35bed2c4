package trunk

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/server/callerleg"
)

// connCounts counts the connections the trunk closed, by why.
type connCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *connCounts) CallOffered()               {}
func (c *connCounts) CallEnded(callerleg.Stats)  {}
func (c *connCounts) AddedLatency(time.Duration) {}
func (c *connCounts) SIPRefused(string, string)  {}
func (c *connCounts) RTPStranger(string)         {}
func (c *connCounts) CallCut(string)             {}

func (c *connCounts) SIPConnClosed(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[reason]++
}

func (c *connCounts) get(reason string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[reason]
}

// dialFrom opens a TCP connection to addr from the address from.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 3 * time.Second}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedWithin reports whether the far end closed c within d (a read
// ends in EOF or a reset rather than the deadline).
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 64))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// TestStrangerAndIdleConnections: against --trunk-allow 127.0.0.1/32, 50
// SIP-over-TCP connections from 127.0.0.2 are closed as soon as they are
// accepted, and counted (before, they stayed open: 150 s and more); idle
// ones from inside the allow list stay open until the idle timeout, and
// are then closed and counted.
func TestStrangerAndIdleConnections(t *testing.T) {
	counts := &connCounts{}
	const idle = 1500 * time.Millisecond
	cfg := Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, IdleTimeout: idle, Metrics: counts}
	addr, _, _ := startTrunkCfg(t, cfg, func(_ *answered, c *Call) { _ = c.Reject(486, "Busy Here") })

	strangers := make([]net.Conn, 50)
	for i := range strangers {
		strangers[i] = dialFrom(t, "127.0.0.2", addr)
	}
	for i, c := range strangers {
		if !closedWithin(c, 200*time.Millisecond) {
			t.Fatalf("connection %d from 127.0.0.2 (outside the allow list) still open", i)
		}
	}
	waitFor(t, "50 connections counted as not allowed", func() bool { return counts.get(ConnNotAllowed) == 50 })

	start := time.Now()
	insiders := make([]net.Conn, 5)
	for i := range insiders {
		insiders[i] = dialFrom(t, "127.0.0.1", addr)
	}
	time.Sleep(100 * time.Millisecond)
	for i, c := range insiders {
		if closedWithin(c, 10*time.Millisecond) {
			t.Fatalf("connection %d from inside the allow list closed before the idle timeout", i)
		}
	}
	for i, c := range insiders {
		if !closedWithin(c, 3*time.Second) {
			t.Fatalf("idle connection %d still open %v after it opened", i, time.Since(start))
		}
	}
	if d := time.Since(start); d < idle {
		t.Fatalf("idle connections closed after %v, before the %v timeout", d, idle)
	}
	waitFor(t, "5 connections counted as idle", func() bool { return counts.get(ConnIdle) == 5 })
	if n := counts.get(ConnNotAllowed); n != 50 {
		t.Fatalf("%d connections counted as not allowed", n)
	}
}
