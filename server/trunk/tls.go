package trunk

// This file holds SIP over TLS (RFC 3261 26.2, RFC 5630): the TLS
// listener (Config.TLSAddr; what it accepts is conns.go's), the inbound calls' dialogs, kept apart by
// transport so that a call that came over TLS gets a sips: Contact and
// takes its in-dialog requests over TLS only, the BYE that goes back on
// the caller's own connection, and the outbound trunk reached over TLS
// (Config.Outbound as sips:HOST:PORT).

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// tlsHandshakeTimeout bounds a TLS handshake: a peer that connects and
// says nothing is dropped after it.
const tlsHandshakeTimeout = 10 * time.Second

// minTLS is the oldest TLS version spoken, in and out.
const minTLS = tls.VersionTLS12

// serverTLSConfig is conf as the TLS listener uses it: TLS 1.2 at least,
// whatever conf says.
func serverTLSConfig(conf *tls.Config) *tls.Config {
	c := conf.Clone()
	if c.MinVersion < minTLS {
		c.MinVersion = minTLS
	}
	return c
}

// clientTLSConfig is what outbound TLS connections use: TLS 1.2 at least,
// the far end's certificate checked against Config.TLSRoots (the system's
// roots when nil) for the name or address it is dialled by.
func clientTLSConfig(cfg Config) *tls.Config {
	return &tls.Config{MinVersion: minTLS, RootCAs: cfg.TLSRoots}
}

// listenTLS binds Config.TLSAddr (when set) for Serve.
func (t *Trunk) listenTLS(ctx context.Context, lc *net.ListenConfig) error {
	if t.cfg.TLSAddr == "" {
		return nil
	}
	ln, err := lc.Listen(ctx, "tcp", t.cfg.TLSAddr)
	if err != nil {
		return fmt.Errorf("%w: over TLS on %s (the sip-tls setting): %w", ErrSIP, t.cfg.TLSAddr, err)
	}
	t.tls = t.streamListener(ln, serverTLSConfig(t.cfg.TLSConfig))
	return nil
}

// tlsConn is a server-side TLS connection whose handshake, done on its
// first read or write, has tlsHandshakeTimeout.
type tlsConn struct {
	*tls.Conn
	handshake sync.Once
	err       error
}

func (c *tlsConn) shake() error {
	c.handshake.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
		defer cancel()
		c.err = c.HandshakeContext(ctx)
	})
	return c.err
}

func (c *tlsConn) Read(b []byte) (int, error) {
	if err := c.shake(); err != nil {
		return 0, fmt.Errorf("TLS handshake: %w", err)
	}
	return c.Conn.Read(b) //nolint:wrapcheck // a net.Conn's own errors
}

func (c *tlsConn) Write(b []byte) (int, error) {
	if err := c.shake(); err != nil {
		return 0, fmt.Errorf("TLS handshake: %w", err)
	}
	return c.Conn.Write(b) //nolint:wrapcheck // a net.Conn's own errors
}

// isTLS reports whether req came over TLS.
func isTLS(req *sip.Request) bool { return strings.EqualFold(req.Transport(), "TLS") }

// serverDialogs are the inbound calls' dialogs, in caches by transport:
// one for calls that came over UDP or TCP, whose Contact is sip:, and two
// for those that came over TLS, whose Contact is at the TLS address:
// sips: when the INVITE's Request-URI was (RFC 3261 12.1.1 wants it so),
// and sip:...;transport=tls when it was not, for the callers that call
// sip:...;transport=tls and take no sips: URI (baresip 1.0's libre ends
// such a call with ENOSYS). A request for a call over TLS is only ever
// matched when it too comes over TLS, so that nobody reaches such a call
// over a transport that is not encrypted.
type serverDialogs struct {
	plain  *sipgo.DialogServerCache
	tls    *sipgo.DialogServerCache // sips:; nil without Config.TLSAddr
	tlsSIP *sipgo.DialogServerCache // sip:...;transport=tls; nil without Config.TLSAddr
}

func newServerDialogs(cli *sipgo.Client, contact sip.ContactHeader, tlsContact *sip.ContactHeader) *serverDialogs {
	d := &serverDialogs{plain: sipgo.NewDialogServerCache(cli, contact)}
	if tlsContact != nil {
		d.tls = sipgo.NewDialogServerCache(cli, *tlsContact)
		d.tlsSIP = sipgo.NewDialogServerCache(cli, *sipOverTLS(tlsContact))
	}
	return d
}

// sipOverTLS is the sip:...;transport=tls form of our sips: Contact.
func sipOverTLS(sips *sip.ContactHeader) *sip.ContactHeader {
	c := sips.Clone()
	c.Address.Scheme = "sip"
	c.Address.UriParams = sip.NewParams()
	c.Address.UriParams.Add("transport", "tls")
	return c
}

// contactFor is our Contact in c's dialog, as its INVITE's 2xx gave it
// (serverDialogs): for the 2xx to a re-INVITE or UPDATE.
func (t *Trunk) contactFor(c *Call) *sip.ContactHeader {
	if c.srv == nil || t.tlsContact == nil || !isTLS(c.srv.InviteRequest) {
		return t.contact.Clone()
	}
	if c.srv.InviteRequest.Recipient.IsEncrypted() {
		return t.tlsContact.Clone()
	}
	return sipOverTLS(t.tlsContact)
}

// match runs fn on the cache req's dialog is in: for a request over TLS,
// the sips: one, else (when that has no such dialog) the sip: one.
func (d *serverDialogs) match(req *sip.Request, fn func(*sipgo.DialogServerCache) error) error {
	if d.tls == nil || !isTLS(req) {
		return fn(d.plain)
	}
	if err := fn(d.tls); !errors.Is(err, sipgo.ErrDialogDoesNotExists) {
		return err
	}
	return fn(d.tlsSIP)
}

// ReadInvite makes the dialog of a new call's INVITE.
func (d *serverDialogs) ReadInvite(req *sip.Request, tx sip.ServerTransaction) (*sipgo.DialogServerSession, error) {
	c := d.plain
	if d.tls != nil && isTLS(req) {
		c = d.tlsSIP
		if req.Recipient.IsEncrypted() {
			c = d.tls
		}
	}
	return c.ReadInvite(req, tx) //nolint:wrapcheck // sipgo's dialog errors, as before
}

// MatchDialogRequest finds the dialog an in-dialog request belongs to.
func (d *serverDialogs) MatchDialogRequest(req *sip.Request) (dlg *sipgo.DialogServerSession, err error) {
	err = d.match(req, func(c *sipgo.DialogServerCache) error {
		dlg, err = c.MatchDialogRequest(req)
		return err //nolint:wrapcheck // sipgo's dialog errors, as before
	})
	return dlg, err //nolint:wrapcheck // sipgo's dialog errors, as before
}

// ReadAck hands an ACK to its dialog.
func (d *serverDialogs) ReadAck(req *sip.Request, tx sip.ServerTransaction) error {
	return d.match(req, func(c *sipgo.DialogServerCache) error { return c.ReadAck(req, tx) })
}

// ReadBye hands a BYE to its dialog.
func (d *serverDialogs) ReadBye(req *sip.Request, tx sip.ServerTransaction) error {
	return d.match(req, func(c *sipgo.DialogServerCache) error { return c.ReadBye(req, tx) })
}

// reachedBy reports whether req may reach c by its transport: a call
// that came over TLS only by requests over TLS (as its dialog's own
// requests, serverDialogs); others by any.
func (c *Call) reachedBy(req *sip.Request) bool {
	return c.srv == nil || !isTLS(c.srv.InviteRequest) || isTLS(req)
}

// tlsContact is our Contact for dialogs over TLS: sips: at the TLS
// address. Without Config.TLSAddr there is none.
func tlsContact(cfg Config) (*sip.ContactHeader, error) {
	if cfg.TLSAddr == "" {
		return nil, nil //nolint:nilnil // no TLS, no Contact for it
	}
	host, port, err := sip.ParseAddr(cfg.TLSAddr)
	if err != nil || port <= 0 {
		return nil, fmt.Errorf("%w: the sip-tls setting %q is not HOST:PORT", ErrConfig, cfg.TLSAddr)
	}
	return &sip.ContactHeader{Address: sip.Uri{Scheme: "sips", User: "hushphone", Host: host, Port: port}}, nil
}

// dialogOf is the dialog a call ends through. An inbound call over TLS
// sends its BYE back over the caller's own connection (RFC 5923's
// connection reuse, and RFC 5626's for callers behind NAT): a caller over
// TLS seldom takes TLS connections itself, having no certificate to
// offer, so its Contact is only a name for it. Others keep sipgo's: the
// BYE goes to the Contact.
func dialogOf(dlg *sipgo.DialogServerSession) dialog {
	if !isTLS(dlg.InviteRequest) {
		return dlg
	}
	return tlsDialog{dlg}
}

type tlsDialog struct{ *sipgo.DialogServerSession }

// Bye ends the call: a BYE to the caller's Contact, sent on the
// connection its INVITE came on (a Record-Route's proxy, if any, still
// takes it first).
func (d tlsDialog) Bye(ctx context.Context) error {
	inv := d.InviteRequest
	bye := sip.NewRequest(sip.BYE, inv.Contact().Address)
	bye.SetTransport(inv.Transport())
	bye.SetDestination(inv.Source())
	return d.WriteBye(ctx, bye) //nolint:wrapcheck // Hangup wraps it
}

// errOutboundTLS: an outbound trunk over TLS needs the TLS listener.
var errOutboundTLS = errors.New("an outbound trunk over TLS (trunk-out sips:HOST:PORT) needs the sip-tls setting, where its requests reach us")

// outboundClient is the SIP client outbound calls go out from, and our
// Contact in them: over UDP from the SIP port, so that the far end's
// answers and requests come back where we serve; over TLS from a new
// connection, with the TLS address as our Via and Contact.
func outboundClient(ua *sipgo.UserAgent, cfg Config, overTLS bool, contact sip.ContactHeader) (*sipgo.Client, sip.ContactHeader, error) {
	if !overTLS {
		cli, err := sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(cfg.SIPAddr), sipgo.WithClientAddr(cfg.SIPAddr))
		if err != nil {
			return nil, contact, fmt.Errorf("%w: %w", ErrSIP, err)
		}
		return cli, contact, nil
	}
	tc, err := tlsContact(cfg)
	if err != nil {
		return nil, contact, err
	}
	if tc == nil {
		return nil, contact, fmt.Errorf("%w: %w", ErrConfig, errOutboundTLS)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientAddr(cfg.TLSAddr))
	if err != nil {
		return nil, contact, fmt.Errorf("%w: %w", ErrSIP, err)
	}
	return cli, *tc, nil
}

// outboundInvite is the INVITE of an outbound call to number with our
// SDP offer: to sip:, or over TLS to sips: and sent over TLS (the scheme
// alone does not say so to sipgo, and transport=tls in the URI is
// deprecated, RFC 5630 3.1.2).
func (t *Trunk) outboundInvite(number string, offer []byte, from *sip.FromHeader) *sip.Request {
	u := sip.Uri{User: number, Host: t.outHost, Port: t.outPort}
	if t.outTLS {
		u.Scheme = "sips"
	}
	req := sip.NewRequest(sip.INVITE, u)
	req.SetBody(offer)
	if t.outTLS {
		req.SetTransport("TLS")
	}
	req.AppendHeader(from)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	return req
}
