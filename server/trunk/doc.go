// Package trunk is the SIP trunk side of the server (emiago/sipgo): it takes
// INVITEs from the configured trunks over UDP and TCP, answers their SDP,
// and runs each call's caller leg (server/callerleg): RTP from the caller
// goes through the call's Masker before anything else sees it, and SIP INFO
// key presses go to the same Masker. OPTIONS keep-alives are answered.
//
// With a Ringback configured, a call waiting for an agent gets early media:
// Ring sends 183 Session Progress with our SDP answer and plays the
// ringback tone from the call's RTP port, on the same RTP stream (SSRC,
// sequence) that carries the agent's voice after Answer; the 200 OK carries
// the same SDP. Caller audio that arrives before Answer is dropped unheard
// (only its source address is kept, to send the tone back to).
//
// RTCP runs beside each call's RTP: on the port above it (the pair is bound
// even and odd), or muxed on it when the offer has a=rtcp-mux. About every
// RTCPInterval (randomised, RFC 3550 6.3.1) the call sends a sender report
// while it sends audio (else a receiver report) with the reception report
// of the caller's stream and our CNAME, and a BYE when it ends; it reads
// the caller's reports (round trip in Stats().RTT), counts junk and notes a
// BYE. It does not adapt anything to what RTCP says.
//
// Trunks are known by their source address (Config.Allow); with
// Config.Auth they must also prove a credential with SIP digest (RFC 3261,
// RFC 8760: MD5 or SHA-256, qop=auth, nonces that expire after 5 minutes).
// An answer whose nonce count is not above the last one accepted for its
// nonce and cnonce is refused, so a captured INVITE cannot be replayed.
// Passwords are never logged.
//
// Outbound calls (Trunk.Dial) go to one configured trunk (Config.Outbound)
// from the SIP port, offering PCMU, PCMA and telephone-event, answering a
// 401/407 with Config.OutboundAuth; once answered the *Call is like an
// answered inbound one (the far end's audio through its Masker, Send,
// Hangup, Done). Early media from the far end is not played to anyone, and
// there is no outbound proxy, DNS SRV or registration.
//
// A call is its dialog's alone: a request inside it (re-INVITE, UPDATE,
// INFO, BYE, ACK, OPTIONS with a To-tag) is taken only with the call's
// Call-ID and both tags, from the call's peer or an allowed address, and,
// with Config.Auth, the INVITE's credential (403, 481 or 401 otherwise,
// counted on Metrics). The caller's media is taken only from the address
// its SDP names or, behind a NAT, the first allowed source (latched once);
// strangers' packets are dropped and counted. A call ends on its own, with
// BYE, when its 200 OK is never acknowledged, after Config.RTPTimeout of
// silence, or when a session timer the caller asked for (RFC 4028) runs
// out.
//
// What a call does once offered (ring an agent, answer, reject) is the
// OnCall handler's business; the trunk only carries it out.
//
// The package's files, by job:
//
//   - server.go: the SIP server (New, Listen, Serve and its shutdown, the
//     allow list, the INVITE, re-INVITE, ACK, BYE and OPTIONS handlers);
//   - config.go: its Config, and the Metrics it reports;
//   - call.go: the Call, inbound or outbound, and its state machine;
//   - dial.go: outbound calls (Dial);
//   - dialog.go: what keeps a call's requests its own (tags, peer,
//     credentials), requests outside calls, Allow and Supported;
//   - timers.go: the RTP timeout and RFC 4028 session timers;
//   - info.go: key presses sent as SIP INFO;
//   - ringback.go: the ringback tones and their playing;
//   - rtp.go: the call's media seam (Stream: every RTP and RTCP packet of a
//     call goes through one, so that SRTP can take plain RTP's place), its
//     RTP stream to the caller and the caller's RTP;
//   - rtcp.go: the call's RTCP reports, sent and read;
//   - auth.go: SIP digest, for trunks calling in and for the outbound trunk;
//   - siplog.go: sipgo's logs, with raw SIP kept out.
//
// Package rtpstream binds calls' media ports and carries their packets: the
// only code here that touches a media socket.
//
// Every goroutine the trunk starts (sipgo's listeners, each call's media,
// RTCP, ringback and watch (timers.go), Dial's waits, Hangup's unacknowledged 480) is owned:
// Serve's end stops each and waits for it.
package trunk
