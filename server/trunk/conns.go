package trunk

// This file holds the SIP listeners over TCP and TLS: what they accept
// and for how long. A connection from outside Config.Allow is closed as
// soon as it is accepted (before any TLS handshake: a stranger costs no
// more than an accept) and counted; the connections open at once are
// bounded; and a connection that says nothing for Config.IdleTimeout is
// closed, unless a call that came over it is still up (its BYE, and its
// caller's in-dialog requests, need it).

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

const (
	// maxStreamConns bounds the SIP connections open at once on each of
	// the TCP and TLS listeners (each has a goroutine reading it); beyond
	// it new ones are closed at once.
	maxStreamConns = 1024
	// DefaultIdleTimeout is Config.IdleTimeout's default.
	DefaultIdleTimeout = 2 * time.Minute
)

// Why connections are closed, as counted (ConnMetrics).
const (
	ConnNotAllowed = "not_allowed" // from outside Config.Allow
	ConnTooMany    = "too_many"    // beyond maxStreamConns
	ConnIdle       = "idle"        // nothing read for Config.IdleTimeout
)

// ConnMetrics, if Config.Metrics has it, counts the SIP connections over
// TCP and TLS the trunk closed of its own accord, by why (ConnNotAllowed,
// ConnTooMany, ConnIdle).
type ConnMetrics interface {
	SIPConnClosed(reason string)
}

// errIdle is what an idle connection's last read returns. It wraps
// net.ErrClosed, so that sipgo closes the connection quietly.
var errIdle = fmt.Errorf("trunk: SIP connection idle: %w", net.ErrClosed)

// streamListener is a SIP listener over TCP, or with tlsConf over TLS,
// as sipgo serves it.
type streamListener struct {
	net.Listener
	transport string      // "TCP" or "TLS", for the log
	tlsConf   *tls.Config // nil: plain TCP
	idle      time.Duration
	allowed   func(netip.Addr) bool
	busy      func(remote string) bool // a call that came from remote is up
	closed    func(reason string)      // counts a connection we closed
	log       *slog.Logger
	slots     chan struct{}
}

// streamListener wraps ln for t: over TLS with tlsConf, else over TCP.
func (t *Trunk) streamListener(ln net.Listener, tlsConf *tls.Config) *streamListener {
	l := &streamListener{Listener: ln, transport: "TCP", tlsConf: tlsConf, idle: t.cfg.IdleTimeout,
		allowed: t.allowedAddr, busy: t.hasCallFrom, closed: t.connClosed, log: t.log,
		slots: make(chan struct{}, maxStreamConns)}
	if tlsConf != nil {
		l.transport = "TLS"
	}
	return l
}

func (l *streamListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err //nolint:wrapcheck // sipgo's accept loop ends on the listener's own error
		}
		var src netip.Addr
		if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			src = a.AddrPort().Addr()
		}
		if !l.allowed(src) {
			l.log.Debug("trunk: SIP connection refused: source not allowed", "transport", l.transport, "source", src)
			_ = c.Close()
			l.closed(ConnNotAllowed)
			continue
		}
		select {
		case l.slots <- struct{}{}:
		default:
			l.log.Warn("trunk: SIP connection refused: too many open", "transport", l.transport, "max", maxStreamConns)
			_ = c.Close()
			l.closed(ConnTooMany)
			continue
		}
		ic := &idleConn{Conn: c, l: l}
		if l.tlsConf == nil {
			return ic, nil
		}
		return &tlsConn{Conn: tls.Server(ic, l.tlsConf)}, nil
	}
}

// idleConn is an accepted connection (under TLS, the TCP one beneath it)
// whose reads end it once it has been idle for the listener's timeout
// with no call up from its far end; its slot frees when it closes.
type idleConn struct {
	net.Conn
	l      *streamListener
	closed sync.Once
}

func (c *idleConn) Read(b []byte) (int, error) {
	for {
		if c.l.idle > 0 {
			if err := c.Conn.SetReadDeadline(time.Now().Add(c.l.idle)); err != nil {
				return 0, err //nolint:wrapcheck // a net.Conn's own errors
			}
		}
		n, err := c.Conn.Read(b)
		var ne net.Error
		if n > 0 || c.l.idle <= 0 || !errors.As(err, &ne) || !ne.Timeout() {
			return n, err //nolint:wrapcheck // a net.Conn's own errors
		}
		if c.l.busy(c.RemoteAddr().String()) {
			continue // a call's connection: kept while the call is up
		}
		c.l.log.Debug("trunk: idle SIP connection closed", "transport", c.l.transport, "after", c.l.idle)
		c.l.closed(ConnIdle)
		return 0, errIdle
	}
}

func (c *idleConn) Close() error {
	c.closed.Do(func() { <-c.l.slots })
	return c.Conn.Close() //nolint:wrapcheck // a net.Conn's own errors
}

// allowedAddr reports whether a is inside Config.Allow.
func (t *Trunk) allowedAddr(a netip.Addr) bool {
	for _, p := range t.cfg.Allow {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// hasCallFrom reports whether an inbound call whose INVITE came from
// remote (HOST:PORT, a connection's far end) is up.
func (t *Trunk) hasCallFrom(remote string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.calls {
		if c.srv != nil && c.srv.InviteRequest.Source() == remote {
			return true
		}
	}
	return false
}

// connClosed counts a connection the trunk closed of its own accord.
func (t *Trunk) connClosed(reason string) {
	if m, ok := t.cfg.Metrics.(ConnMetrics); ok {
		m.SIPConnClosed(reason)
	}
}
