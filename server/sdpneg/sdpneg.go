// Package sdpneg answers a SIP trunk's SDP offer for the caller's audio:
// G.711 (PCMU or PCMA, the offerer's preference first) with RFC 4733
// telephone-events when offered, over plain RTP (RTP/AVP) or SRTP
// (RTP/SAVP) with its keys in a=crypto attributes (SDES, RFC 4568; see
// crypto.go). It also reads the hold direction of a re-INVITE, and where
// the caller wants RTCP: on the RTP port (a=rtcp-mux, RFC 5761, which the
// answer accepts), at a=rtcp's address (RFC 3605), or on the RTP port plus
// one. It does not do DTLS-SRTP, ICE or any codec but G.711. What it
// agrees becomes a callerleg.Params.
package sdpneg

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/hushphone/hushphone/media/g711"
)

// Errors. ErrNotAcceptable means the offer is well formed but asks for
// nothing this server can serve (SIP answers 488); ErrMalformed means it is
// not a usable SDP at all (SIP answers 400).
var (
	ErrMalformed     = errors.New("sdp: malformed offer")
	ErrNotAcceptable = errors.New("sdp: nothing acceptable in the offer")
)

// Direction is a stream's direction, from the offerer's side.
type Direction uint8

// The directions (RFC 3264 section 6.1).
const (
	SendRecv Direction = iota
	SendOnly           // the offerer puts us on hold
	RecvOnly
	Inactive
)

func (d Direction) String() string {
	return [...]string{"sendrecv", "sendonly", "recvonly", "inactive"}[d]
}

// answer is the direction that answers d.
func (d Direction) answer() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return d
}

// Offer is what a caller's offer asks for, once negotiated.
type Offer struct {
	Remote    netip.AddrPort // where the caller wants our RTP (zero port: held with c=0.0.0.0)
	Law       g711.Law       // the codec agreed
	AudioPT   uint8
	EventPT   uint8 // 0 when no telephone-event was offered
	Direction Direction
	PtimeMs   int // the caller's packet time, 20 if it says none
	// RTCPMux is set when the caller offers RTCP on the RTP port
	// (a=rtcp-mux); the answer then accepts it.
	RTCPMux bool
	// RTCP is the caller's a=rtcp address, zero if it gave none (see
	// RTCPAddr).
	RTCP netip.AddrPort
	// Secure is set when the stream is SRTP (RTP/SAVP). Crypto is then the
	// offer's first a=crypto line we can use: the far end's key, for what
	// it sends. LocalCrypto is ours, for what we send, with the same tag
	// and suite: whoever answers fills it in (a fresh key for each call)
	// before Answer writes it into the answer.
	Secure      bool
	Crypto      Crypto
	LocalCrypto Crypto
	// Events are the telephone-events agreed: those the offer's fmtp
	// names (RFC 4733's default 0-15 without one) that this server takes
	// (OurEvents). Zero when EventPT is 0; a hand-made Offer with an
	// EventPT and no Events is taken as DefaultEvents.
	Events Events
}

// Events is a set of RFC 4733 events, bit n for event n.
type Events uint32

// The event sets.
const (
	// DefaultEvents is what a telephone-event stream carries when its
	// fmtp names nothing (RFC 4733 section 7.1.1): the 16 DTMF keys.
	DefaultEvents Events = 1<<16 - 1
	// OurEvents is what this server takes and offers: the 16 DTMF keys
	// and flash (16).
	OurEvents Events = 1<<17 - 1
)

// String is the set as an fmtp value: "0-15", "0-11,16".
func (e Events) String() string {
	var b strings.Builder
	for n := 0; n < 32; {
		if e&(1<<n) == 0 {
			n++
			continue
		}
		end := n
		for end+1 < 32 && e&(1<<(end+1)) != 0 {
			end++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(n))
		if end > n {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(end))
		}
		n = end + 1
	}
	return b.String()
}

// parseEvents reads an fmtp value's events ("0-15,16"), keeping those
// below 32; items that do not parse are skipped (events above 31 are
// never ours, and a peer's odd list must not cost the call).
func parseEvents(v string) Events {
	var e Events
	for _, item := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(item), "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 8)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 8); err != nil || b < a {
				continue
			}
		}
		for n := a; n <= b && n < 32; n++ {
			e |= 1 << n
		}
	}
	return e
}

// Profiles are the RTP profiles an offer's audio may use.
type Profiles uint8

// What NegotiateWith accepts.
const (
	AnyProfile Profiles = iota // RTP/AVP or RTP/SAVP, answered in kind
	AVPOnly                    // plain RTP only: RTP/SAVP is not acceptable
	SAVPOnly                   // SRTP only: RTP/AVP is not acceptable
)

// RTCPAddr is where the caller wants RTCP: the RTP address when muxed,
// else a=rtcp's, else the RTP port plus one.
func (o Offer) RTCPAddr() netip.AddrPort {
	switch {
	case o.RTCPMux:
		return o.Remote
	case o.RTCP.IsValid():
		return o.RTCP
	case o.Remote.Port() == 0 || o.Remote.Port() == 65535:
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(o.Remote.Addr(), o.Remote.Port()+1)
}

// Negotiate reads an offer and picks what to use from it, plain RTP or
// SRTP.
func Negotiate(offer []byte) (Offer, error) { return NegotiateWith(offer, AnyProfile) }

// NegotiateWith reads an offer and picks what to use from it: its first
// audio stream that uses one of profiles and a codec (and, for SRTP, an
// a=crypto line) this server has.
func NegotiateWith(offer []byte, profiles Profiles) (Offer, error) {
	if len(bytes.TrimSpace(offer)) == 0 {
		return Offer{}, fmt.Errorf("%w: empty", ErrMalformed)
	}
	var s sdp.SessionDescription
	if err := s.Unmarshal(offer); err != nil {
		return Offer{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var firstErr error
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		o, err := negotiateAudio(&s, m, profiles)
		if err == nil {
			return o, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("%w: no audio stream", ErrNotAcceptable)
	}
	return Offer{}, firstErr
}

func negotiateAudio(s *sdp.SessionDescription, m *sdp.MediaDescription, profiles Profiles) (Offer, error) {
	var o Offer
	switch proto := strings.Join(m.MediaName.Protos, "/"); {
	case proto == "RTP/AVP" && profiles != SAVPOnly:
	case proto == "RTP/SAVP" && profiles != AVPOnly:
		o.Secure = true
	case proto == "RTP/AVP":
		return o, fmt.Errorf("%w: transport RTP/AVP (plain RTP): only SRTP, RTP/SAVP, is taken", ErrNotAcceptable)
	case proto == "RTP/SAVP":
		return o, fmt.Errorf("%w: transport RTP/SAVP (SRTP): only plain RTP, RTP/AVP, is taken", ErrNotAcceptable)
	default:
		return o, fmt.Errorf("%w: transport %s (only RTP/AVP and RTP/SAVP)", ErrNotAcceptable, proto)
	}
	port := m.MediaName.Port.Value
	if port <= 0 || port > 65535 {
		return o, fmt.Errorf("%w: audio port %d", ErrNotAcceptable, port)
	}
	ci := m.ConnectionInformation
	if ci == nil {
		ci = s.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return o, fmt.Errorf("%w: no connection address", ErrMalformed)
	}
	if ci.NetworkType != "IN" || ci.AddressType != "IP4" && ci.AddressType != "IP6" {
		return o, fmt.Errorf("%w: connection %s %s", ErrNotAcceptable, ci.NetworkType, ci.AddressType)
	}
	addr, err := netip.ParseAddr(ci.Address.Address)
	if err != nil {
		return o, fmt.Errorf("%w: connection address %q: %w", ErrNotAcceptable, ci.Address.Address, err)
	}
	o.Remote = netip.AddrPortFrom(addr, uint16(port))

	// Payload types: static 0 and 8, or dynamic ones named by rtpmap.
	names := map[uint8]string{0: "PCMU/8000", 8: "PCMA/8000"}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, name, ok := strings.Cut(a.Value, " ")
		n, err := strconv.ParseUint(pt, 10, 7)
		if !ok || err != nil {
			return o, fmt.Errorf("%w: rtpmap %q", ErrMalformed, a.Value)
		}
		names[uint8(n)] = strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(name), "/1"))
	}
	found := false
	for _, f := range m.MediaName.Formats {
		n, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			return o, fmt.Errorf("%w: payload type %q", ErrMalformed, f)
		}
		pt := uint8(n)
		switch names[pt] {
		case "PCMU/8000":
			if !found {
				o.Law, o.AudioPT, found = g711.ULaw, pt, true
			}
		case "PCMA/8000":
			if !found {
				o.Law, o.AudioPT, found = g711.ALaw, pt, true
			}
		case "TELEPHONE-EVENT/8000":
			if o.EventPT == 0 {
				o.EventPT = pt
			}
		}
	}
	if !found {
		return o, fmt.Errorf("%w: no PCMU or PCMA at 8000 Hz among %v", ErrNotAcceptable, m.MediaName.Formats)
	}
	if o.Secure {
		// The offerer's preference first (RFC 4568 7.1.1); lines we
		// cannot use are passed over.
		for _, a := range m.Attributes {
			if a.Key != "crypto" {
				continue
			}
			if c, err := parseCrypto(a.Value); err == nil {
				o.Crypto = c
				break
			}
		}
		if o.Crypto.IsZero() {
			return o, fmt.Errorf("%w: RTP/SAVP with no a=crypto line this server can use (it takes %s)", ErrNotAcceptable, suiteNames[1:])
		}
	}
	if o.EventPT != 0 {
		// The answer may not name events the offer did not (RFC 3264
		// 6.1): only those both sides take are agreed.
		o.Events = DefaultEvents
		prefix := strconv.Itoa(int(o.EventPT)) + " "
		for _, a := range m.Attributes {
			if a.Key == "fmtp" && strings.HasPrefix(a.Value, prefix) {
				o.Events = parseEvents(strings.TrimPrefix(a.Value, prefix))
			}
		}
		if o.Events &= OurEvents; o.Events == 0 {
			o.EventPT = 0
		}
	}

	o.Direction, o.PtimeMs = SendRecv, 20
	for _, attrs := range [][]sdp.Attribute{s.Attributes, m.Attributes} { // media level wins
		for _, a := range attrs {
			switch a.Key {
			case "sendrecv":
				o.Direction = SendRecv
			case "sendonly":
				o.Direction = SendOnly
			case "recvonly":
				o.Direction = RecvOnly
			case "inactive":
				o.Direction = Inactive
			case "rtcp-mux":
				o.RTCPMux = true
			case "rtcp":
				a, err := parseRTCP(a.Value, addr)
				if err != nil {
					return o, err
				}
				o.RTCP = a
			case "ptime":
				if v, err := strconv.Atoi(strings.TrimSpace(a.Value)); err == nil && v > 0 && v <= 200 {
					o.PtimeMs = v
				}
			}
		}
	}
	if addr.IsUnspecified() { // the old way to put a call on hold
		o.Direction = Inactive
	}
	return o, nil
}

// parseRTCP reads an a=rtcp value: "PORT" or "PORT IN IP4 ADDR" (RFC
// 3605); rtpAddr is the stream's address, for the first form.
func parseRTCP(v string, rtpAddr netip.Addr) (netip.AddrPort, error) {
	f := strings.Fields(v)
	if len(f) != 1 && len(f) != 4 {
		return netip.AddrPort{}, fmt.Errorf("%w: a=rtcp:%s", ErrMalformed, v)
	}
	port, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: a=rtcp port %q", ErrMalformed, f[0])
	}
	addr := rtpAddr
	if len(f) == 4 {
		if f[1] != "IN" || f[2] != "IP4" && f[2] != "IP6" {
			return netip.AddrPort{}, fmt.Errorf("%w: a=rtcp:%s", ErrMalformed, v)
		}
		if addr, err = netip.ParseAddr(f[3]); err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w: a=rtcp address %q: %w", ErrMalformed, f[3], err)
		}
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// Answer writes the SDP answer to an offer o, for our RTP at local: RTCP
// muxed on it when the offer asked, else on local's port plus one; for
// SRTP, RTP/SAVP with o.LocalCrypto, our key. session and version are the
// o= line's session id and version (bump the version on every new answer
// in a dialog).
func Answer(o Offer, local netip.AddrPort, session, version uint64) []byte {
	ipv := "IP4"
	if local.Addr().Is6() && !local.Addr().Is4In6() {
		ipv = "IP6"
	}
	addr := local.Addr().Unmap().String()
	codec := "PCMU/8000"
	if o.Law == g711.ALaw {
		codec = "PCMA/8000"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=hushphone %d %d IN %s %s\r\ns=Hushphone\r\nc=IN %s %s\r\nt=0 0\r\n", session, version, ipv, addr, ipv, addr)
	proto := "RTP/AVP"
	if o.Secure {
		proto = "RTP/SAVP"
	}
	fmt.Fprintf(&b, "m=audio %d %s %d", local.Port(), proto, o.AudioPT)
	if o.EventPT != 0 {
		fmt.Fprintf(&b, " %d", o.EventPT)
	}
	fmt.Fprintf(&b, "\r\na=rtpmap:%d %s\r\n", o.AudioPT, codec)
	if o.EventPT != 0 {
		events := o.Events & OurEvents
		if events == 0 {
			events = DefaultEvents
		}
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d %s\r\n", o.EventPT, o.EventPT, events)
	}
	if o.RTCPMux {
		b.WriteString("a=rtcp-mux\r\n")
	} else {
		fmt.Fprintf(&b, "a=rtcp:%d\r\n", local.Port()+1)
	}
	if o.Secure {
		b.WriteString("a=crypto:" + o.LocalCrypto.attribute() + "\r\n")
	}
	fmt.Fprintf(&b, "a=ptime:20\r\na=%s\r\n", o.Direction.answer())
	return []byte(b.String())
}

// OfferEventPT is the telephone-event payload type our offers use.
const OfferEventPT = 101

// MakeOffer writes our SDP offer for an outbound call, with our RTP at
// local and RTCP on the port above: PCMU, then PCMA, and telephone-event;
// over plain RTP, or, given our keys in crypto, over SRTP (RTP/SAVP, an
// a=crypto line for each).
func MakeOffer(local netip.AddrPort, session, version uint64, crypto ...Crypto) []byte {
	ipv := "IP4"
	if local.Addr().Is6() && !local.Addr().Is4In6() {
		ipv = "IP6"
	}
	addr := local.Addr().Unmap().String()
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=hushphone %d %d IN %s %s\r\ns=Hushphone\r\nc=IN %s %s\r\nt=0 0\r\n", session, version, ipv, addr, ipv, addr)
	proto := "RTP/AVP"
	if len(crypto) > 0 {
		proto = "RTP/SAVP"
	}
	fmt.Fprintf(&b, "m=audio %d %s 0 8 %d\r\n", local.Port(), proto, OfferEventPT)
	fmt.Fprintf(&b, "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:%d telephone-event/8000\r\na=fmtp:%d %s\r\n", OfferEventPT, OfferEventPT, OurEvents)
	for _, c := range crypto {
		b.WriteString("a=crypto:" + c.attribute() + "\r\n")
	}
	fmt.Fprintf(&b, "a=rtcp:%d\r\na=ptime:20\r\na=sendrecv\r\n", local.Port()+1)
	return []byte(b.String())
}

// ReadAnswer reads the answer to MakeOffer's offer: what the far end
// agreed, which must be among what we offered. offered are the keys the
// offer held: none for plain RTP, whose answer must be RTP/AVP; for SRTP
// the answer must be RTP/SAVP, its a=crypto line naming one of offered by
// tag and suite, and LocalCrypto is then that one of ours.
func ReadAnswer(answer []byte, offered ...Crypto) (Offer, error) {
	profiles := AVPOnly
	if len(offered) > 0 {
		profiles = SAVPOnly
	}
	o, err := NegotiateWith(answer, profiles)
	if err != nil {
		return Offer{}, err
	}
	if o.Secure {
		for _, c := range offered {
			if c.Tag == o.Crypto.Tag && c.Suite == o.Crypto.Suite {
				o.LocalCrypto = c
			}
		}
		if o.LocalCrypto.IsZero() {
			return Offer{}, fmt.Errorf("%w: the answer's a=crypto (tag %d, %s) was not offered", ErrNotAcceptable, o.Crypto.Tag, o.Crypto.Suite)
		}
	}
	if o.AudioPT != 0 && o.AudioPT != 8 {
		return Offer{}, fmt.Errorf("%w: the answer's audio payload type %d was not offered", ErrNotAcceptable, o.AudioPT)
	}
	if o.EventPT != 0 && o.EventPT != OfferEventPT {
		return Offer{}, fmt.Errorf("%w: the answer's telephone-event payload type %d was not offered", ErrNotAcceptable, o.EventPT)
	}
	// An answer cannot turn on rtcp-mux that was not offered.
	o.RTCPMux = false
	return o, nil
}
