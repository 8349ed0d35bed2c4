// Package engine is the agent's side of Hushphone in Go: it signs in to the
// server, keeps the agent's WebSocket (docs/protocol.md), answers calls,
// and carries each call's audio over a pion peer connection (DTLS-SRTP,
// PCMU, or Opus when Config.Codec asks for it) between the server and the
// agent's audio devices. The Wails app
// and the headless hushphone-agent are built on it. WebKitGTK has no
// WebRTC: all media runs here, in Go.
//
// What reaches the agent is the masked caller (key presses are flat tones)
// and "a key was pressed"; digits never do.
//
// Signed in as a supervisor or admin, the same Agent takes no calls: it
// follows every call (Event.Calls) and listens in (Listen, ListenMode),
// hearing the masked caller mixed with the agent's voice; its microphone
// (Audio's Mic) is sent only while it whispers or barges (listen.go).
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/hushphone/hushphone/internal/opus"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
	"github.com/hushphone/hushphone/protocol"
)

// Errors.
var (
	ErrSignIn   = errors.New("engine: sign-in refused")
	ErrProtocol = errors.New("engine: the server broke the protocol")
	ErrAudio    = errors.New("engine: audio not usable")
	ErrConfig   = errors.New("engine: bad configuration")
	// ErrUnreachable: the server did not answer at all (a wrong address,
	// the network, the server not running).
	ErrUnreachable = errors.New("engine: the server cannot be reached")
	// The sign-in refusals the agent can act on; both are ErrSignIn too.
	ErrCredentials  = fmt.Errorf("%w: wrong name or password", ErrSignIn)
	ErrTooManyTries = fmt.Errorf("%w: too many failed sign-ins: wait, then try again", ErrSignIn)
	// The second factor's: the account needs a one-time code and Config.OTP
	// gave none; the code was wrong or used already; the account has no
	// second factor enrolled and must have one.
	ErrMFARequired = fmt.Errorf("%w: this account needs the code from its authenticator app", ErrSignIn)
	ErrMFAInvalid  = fmt.Errorf("%w: wrong code: use the current one from the authenticator app (each works once)", ErrSignIn)
	ErrMFAEnroll   = fmt.Errorf("%w: this account needs a second factor enrolled first (hushphone-server user mfa enroll)", ErrSignIn)
)

// The codecs Config.Codec names.
const (
	CodecPCMU = "pcmu"
	CodecOpus = "opus"
)

// Audio is the agent's audio: a microphone and a speaker, 20 ms (160
// samples at 8 kHz) at a time. Calls to it come from the engine's
// goroutines, one call's worth at a time.
type Audio interface {
	// Mic fills frame with the agent's next 20 ms.
	Mic(frame []int16)
	// Speaker plays 20 ms of what the agent hears; gaps in what the server
	// sent come as silence, so the frames form one continuous time line.
	Speaker(frame []int16)
	// CallStarted and CallEnded bracket each call's audio.
	CallStarted(call string)
	CallEnded(call string)
}

// Event is something for the agent's UI (the Wails app) or log: a message
// from the server, in the fields the UI uses.
type Event struct {
	Type protocol.Type // the message's type: call.offered, key.pressed, ...
	Call string
	From string
	// Outbound: a call the agent placed (Type call.started).
	Outbound bool
	// Status is the agent's presence (Type presence: a protocol.AgentState)
	// or how a call the agent placed is going (Type call.progress: a
	// protocol.ProgressStatus); Reason why a call ended (a
	// protocol.EndReason) or stopped ringing (a protocol.WithdrawReason).
	Status, Reason string
	// Calls is every call, for supervisors (Type calls): the engine keeps
	// the board from the server's paged snapshot and the changes after it
	// (call.changed, call.removed, which come as Type calls events too),
	// and each event carries it whole.
	Calls []protocol.CallSnapshot
	// Code and Message are an error's (Type error).
	Code    protocol.ErrorCode
	Message string
	// Payment is a payment session's status (Type pay.progress).
	Payment *protocol.Payment
	// User and Mode are a supervisor's who whispers or barges on the
	// agent's call (Type supervisor; Mode empty: no longer heard), and
	// Mode the supervisor's own in listen.started.
	User string
	Mode protocol.ListenMode
}

// Config configures an agent.
type Config struct {
	// Server is the server's base URL, e.g. https://hushphone.example.com;
	// plain http only to this machine, e.g. http://127.0.0.1:8080
	// (CheckServer).
	Server   string
	User     string
	Password string
	// OTP, if set, is asked for the one-time code (from an authenticator
	// app, or a recovery code) when the server says the account needs one;
	// without it such a sign-in fails with ErrMFARequired.
	OTP        func(ctx context.Context) (string, error)
	AutoAnswer bool  // answer every call offered
	Audio      Audio // nil: silence in, nothing out
	// OnEvent, if set, receives every event (from the engine's goroutine;
	// must not block).
	OnEvent func(Event)
	// OnMessage, if set, receives every message from the server as it
	// came (tests that check what an agent was sent; debugging).
	OnMessage func([]byte)
	// Loopback allows loopback ICE candidates (the embedded setup, tests).
	Loopback bool
	Logger   *slog.Logger
	// Codec is the audio codec the agent offers the server: CodecPCMU
	// (the default, also for "") offers PCMU alone; CodecOpus offers Opus
	// first and PCMU second (the server takes Opus), transcoding the 8 kHz
	// audio of Audio to and from Opus (internal/opus) in the engine.
	Codec string
	// CA is a private CA's certificates (PEM), trusted for the server's
	// certificate besides the system's roots; empty: the system's roots.
	CA []byte
}

// Agent is one signed-in agent.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	api    *webrtc.API
	base   *url.URL     // the server, as CheckServer gave it
	client *http.Client // TLS with the roots Config.CA makes

	mu    sync.Mutex
	ws    *websocket.Conn
	token string // the session's, once signed in
	calls map[string]*media
	wg    sync.WaitGroup
	board board // a supervisor's view of every call

	heardCodec atomic.Value // string: the codec of the latest server track played (tests)
}

// New checks the configuration.
func New(cfg Config) (*Agent, error) {
	if cfg.Server == "" || cfg.User == "" {
		return nil, fmt.Errorf("%w: a server address and a user name are needed", ErrConfig)
	}
	base, err := CheckServer(cfg.Server)
	if err != nil {
		return nil, err
	}
	roots, err := CertPool(cfg.CA)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Audio == nil {
		cfg.Audio = silence{}
	}
	codecs := []webrtc.RTPCodecParameters{pcmuCodec}
	switch strings.ToLower(cfg.Codec) {
	case "", CodecPCMU:
		cfg.Codec = CodecPCMU
	case CodecOpus:
		if !opus.Available {
			return nil, fmt.Errorf("%w: Codec %q: %w", ErrConfig, cfg.Codec, opus.ErrUnavailable)
		}
		cfg.Codec = CodecOpus
		codecs = []webrtc.RTPCodecParameters{opusCodec, pcmuCodec}
	default:
		return nil, fmt.Errorf("%w: Codec %q: use %q or %q", ErrConfig, cfg.Codec, CodecPCMU, CodecOpus)
	}
	me := &webrtc.MediaEngine{}
	for _, c := range codecs {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if cfg.Loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	return &Agent{
		cfg: cfg, log: cfg.Logger, calls: map[string]*media{}, base: base, client: newClient(roots),
		api: webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)),
	}, nil
}

// The codecs: PCMU 8000 (payload type 0) and Opus as WebRTC has it.
var (
	pcmuCodec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        0,
	}
	opusCodec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: opus.RTPClockRate, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}
)

// Run signs in, connects, becomes available and serves calls until ctx is
// done or the server closes the connection. Run again, it reconnects with
// the session it has while the server takes it, and signs in again only
// when not: an account with a second factor is not asked for a new code
// on every dropped connection.
func (a *Agent) Run(ctx context.Context) error {
	u := *a.base
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/ws"
	a.mu.Lock()
	token := a.token
	a.mu.Unlock()
	var ws *websocket.Conn
	var err error
	for {
		fresh := token == ""
		if fresh {
			if token, err = a.signIn(ctx); err != nil {
				return err
			}
			a.mu.Lock()
			a.token = token
			a.mu.Unlock()
		}
		var res *http.Response
		ws, res, err = websocket.Dial(ctx, u.String(), &websocket.DialOptions{
			HTTPClient: a.client, HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
		})
		if res != nil && res.Body != nil {
			_ = res.Body.Close()
		}
		if err != nil && !fresh && res != nil && res.StatusCode == http.StatusUnauthorized {
			token = "" // the session expired or was ended: sign in again
			continue
		}
		break
	}
	if isCertError(err) {
		return fmt.Errorf("%w: %s: %w", ErrCertificate, u.Redacted(), err)
	}
	if err != nil {
		return fmt.Errorf("engine: connect to %s: %w", u.Redacted(), err)
	}
	// The server's messages may be as large as protocol.MaxServerMessage
	// (coder/websocket stops at 32 KiB by default: a supervisor's calls
	// snapshot once passed it and the connection dropped).
	ws.SetReadLimit(protocol.MaxServerMessage)
	a.mu.Lock()
	a.ws = ws
	a.mu.Unlock()
	defer func() {
		a.endAll()
		a.wg.Wait()
		_ = ws.Close(websocket.StatusNormalClosure, "signing off")
	}()
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("engine: connection lost: %w", err)
		}
		if a.cfg.OnMessage != nil {
			a.cfg.OnMessage(b)
		}
		var m protocol.Message
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		if err := a.handle(ctx, m); err != nil {
			a.log.Warn("message not handled", "type", m.Type, "err", err)
		}
	}
}

func (a *Agent) handle(ctx context.Context, m protocol.Message) error {
	if a.cfg.OnEvent != nil && m.Type != protocol.TypePong {
		ev := Event{Type: m.Type, Call: m.Call, From: m.From, Outbound: m.Outbound, Status: m.Status, Reason: m.Reason,
			Code: m.Code, Message: m.Message, Payment: m.Payment, User: m.User, Mode: m.Mode}
		switch m.Type {
		case protocol.TypeCalls, protocol.TypeCallChanged, protocol.TypeCallRemoved:
			view, whole := a.board.apply(m)
			if whole {
				ev.Type, ev.Calls = protocol.TypeCalls, view
				a.cfg.OnEvent(ev)
			}
		default:
			a.cfg.OnEvent(ev)
		}
	}
	switch m.Type {
	case protocol.TypeHello:
		if m.Role == protocol.RoleAgent {
			return a.send(ctx, protocol.Message{Type: protocol.TypePresence, Status: string(protocol.AgentAvailable)})
		}
	case protocol.TypeListenStarted:
		return a.listenStarted(ctx, m)
	case protocol.TypeListenEnded:
		a.endCall(m.Call)
	case protocol.TypeCallOffered:
		if a.cfg.AutoAnswer {
			return a.Answer(ctx, m.Call)
		}
	case protocol.TypeCallStarted:
		// Started again (the server lost its side of the call's media):
		// the old peer connection goes before the new offer, never left
		// running beside it.
		a.endCall(m.Call)
		return a.startMedia(ctx, m.Call, false, false)
	case protocol.TypeSDP:
		if c := a.media(m.Call); c != nil {
			if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
				return fmt.Errorf("engine: %w", err)
			}
		}
	case protocol.TypeCandidate:
		if c := a.media(m.Call); c != nil {
			if err := c.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: m.Candidate}); err != nil {
				return fmt.Errorf("engine: %w", err)
			}
		}
	case protocol.TypeCallEnded:
		a.endCall(m.Call)
	case protocol.TypeError:
		a.log.Warn("server refused a message", "code", m.Code, "message", m.Message)
	}
	return nil
}

// Answer takes a call that rings.
func (a *Agent) Answer(ctx context.Context, call string) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypeAnswer, Call: call})
}

// Decline lets a ringing call go to another agent.
func (a *Agent) Decline(ctx context.Context, call string) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypeDecline, Call: call})
}

// SetPresence sets the agent available or away.
func (a *Agent) SetPresence(ctx context.Context, status protocol.AgentState) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypePresence, Status: string(status)})
}

// Dial places a call to number through the server's outbound trunk: it
// comes back as a call.started event (Outbound) and runs as any call,
// with call.progress events as the far end rings and answers.
func (a *Agent) Dial(ctx context.Context, number string) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypeDial, Number: number})
}

// Hold puts the agent's call on hold (the caller hears the hold tone
// instead of the agent) or takes it off.
func (a *Agent) Hold(ctx context.Context, call string, on bool) error {
	status := protocol.HoldOff
	if on {
		status = protocol.HoldOn
	}
	return a.send(ctx, protocol.Message{Type: protocol.TypeHold, Call: call, Status: string(status)})
}

// Hangup ends the agent's call.
func (a *Agent) Hangup(ctx context.Context, call string) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypeHangup, Call: call})
}

func (a *Agent) send(ctx context.Context, m protocol.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	a.mu.Lock()
	ws := a.ws
	a.mu.Unlock()
	if ws == nil {
		return fmt.Errorf("%w: not connected", ErrProtocol)
	}
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

func (a *Agent) media(call string) *media {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[call]
}

func (a *Agent) endCall(call string) {
	a.mu.Lock()
	c := a.calls[call]
	delete(a.calls, call)
	a.mu.Unlock()
	if c != nil {
		c.close()
		a.cfg.Audio.CallEnded(call)
	}
}

func (a *Agent) endAll() {
	a.mu.Lock()
	ids := make([]string, 0, len(a.calls))
	for id := range a.calls {
		ids = append(ids, id)
	}
	a.mu.Unlock()
	for _, id := range ids {
		a.endCall(id)
	}
}

// media is one call's peer connection.
type media struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	stop  chan struct{}
	// A supervisor's: listen, and whether the microphone is sent (while
	// whispering or barging; silence otherwise).
	listen bool
	heard  atomic.Bool

	mu     sync.Mutex // guards closed and wg.Add against close
	closed bool
	wg     sync.WaitGroup
}

// run runs f as one of the call's goroutines, unless the call is over.
func (c *media) run(f func()) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	defer c.wg.Done()
	f()
}

func (c *media) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.stop)
	}
	c.mu.Unlock()
	_ = c.pc.Close()
	c.wg.Wait()
}

// startMedia offers the server a peer connection for the call: both ways,
// for the agent on it and for a supervisor listening in (who sends
// silence until whispering or barging, so a mode change needs no new
// offer).
func (a *Agent) startMedia(ctx context.Context, call string, listen bool, heard bool) error {
	if err := a.mediaRoom(); err != nil {
		return err
	}
	pc, err := a.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	capability := pcmuCodec.RTPCodecCapability
	if a.cfg.Codec == CodecOpus {
		capability = opusCodec.RTPCodecCapability
	}
	track, err := webrtc.NewTrackLocalStaticRTP(capability, "voice", "agent")
	if err == nil {
		_, err = pc.AddTrack(track)
	}
	if err != nil {
		_ = pc.Close()
		return fmt.Errorf("engine: %w", err)
	}
	c := &media{pc: pc, track: track, stop: make(chan struct{}), listen: listen}
	c.heard.Store(heard)
	a.mu.Lock()
	a.calls[call] = c
	a.mu.Unlock()
	a.cfg.Audio.CallStarted(call)

	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		c.run(func() { a.play(tr) })
	})
	pc.OnICECandidate(func(ci *webrtc.ICECandidate) {
		if ci != nil {
			_ = a.send(context.WithoutCancel(ctx), protocol.Message{Type: protocol.TypeCandidate, Call: call, Candidate: ci.ToJSON().Candidate})
		}
	})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected && track != nil {
			once.Do(func() { go c.run(func() { a.speak(c) }) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return a.send(ctx, protocol.Message{Type: protocol.TypeSDP, Call: call, Kind: protocol.KindOffer, SDP: offer.SDP})
}

// play gives the server's audio to the speaker, 20 ms at a time, lost or
// missing packets as silence so the time line stays whole. PCMU is decoded
// as it comes; Opus is decoded at 8 kHz.
func (a *Agent) play(tr *webrtc.TrackRemote) {
	a.heardCodec.Store(tr.Codec().MimeType)
	var (
		pcm    [mix.FrameSamples]int16
		silent [mix.FrameSamples]int16
		pend   [mix.FrameSamples]byte
		lin    [mix.FrameSamples]int16
		n      int
		next   uint32
		ticks  = uint32(1) // RTP ticks per 8 kHz sample
		dec    *opus.Decoder
		opcm   []int16
	)
	if strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeOpus) {
		var err error
		if dec, err = opus.NewDecoder(); err != nil {
			a.log.Error("engine: no Opus decoder; the call is silent", "err", err)
			return
		}
		defer dec.Close()
		ticks = opus.RTPClockRate / 8000
		opcm = make([]int16, opus.MaxFrameSamples)
	}
	// speaker plays samples in whole frames.
	var sn int
	speaker := func(s []int16) {
		for len(s) > 0 {
			k := copy(pcm[sn:], s)
			sn += k
			s = s[k:]
			if sn == len(pcm) {
				a.cfg.Audio.Speaker(pcm[:])
				sn = 0
			}
		}
	}
	started := false
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if started {
			if gap := int32(p.Timestamp-next) / int32(ticks); gap > 0 && gap <= 8000 {
				for ; gap >= mix.FrameSamples; gap -= mix.FrameSamples {
					speaker(silent[:])
				}
			} else if gap < 0 {
				continue // late
			}
		}
		if dec != nil {
			k, err := dec.Decode(opcm, p.Payload)
			if err != nil {
				continue // not Opus: its time becomes silence
			}
			started = true
			next = p.Timestamp + uint32(k)*ticks
			speaker(opcm[:k])
			continue
		}
		started = true
		next = p.Timestamp + uint32(len(p.Payload))
		for _, b := range p.Payload {
			pend[n] = b
			n++
			if n == len(pend) {
				g711.DecodeULawTo(lin[:], pend[:])
				speaker(lin[:])
				n = 0
			}
		}
	}
}

// speak sends the microphone, 20 ms at a time, until the call ends: as
// PCMU, or Opus-encoded when the track is Opus.
func (a *Agent) speak(c *media) {
	var (
		pcm     [mix.FrameSamples]int16
		payload [opus.MaxPacket]byte
		enc     *opus.Encoder
		ticks   = uint32(mix.FrameSamples)
	)
	if strings.EqualFold(c.track.Codec().MimeType, webrtc.MimeTypeOpus) {
		var err error
		if enc, err = opus.NewEncoder(0); err != nil {
			a.log.Error("engine: no Opus encoder; the agent is not heard", "err", err)
			return
		}
		defer enc.Close()
		ticks = opus.RTPFrameTicks
	}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 0x5EED}}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		if c.listen && !c.heard.Load() {
			clear(pcm[:]) // a supervisor only listening: nothing of theirs goes out
		} else {
			a.cfg.Audio.Mic(pcm[:])
		}
		n := len(pcm)
		if enc != nil {
			var err error
			if n, err = enc.Encode(payload[:], pcm[:]); err != nil {
				a.log.Error("engine: Opus encoding", "err", err)
				return
			}
		} else {
			g711.EncodeULawTo(payload[:n], pcm[:])
		}
		pkt.SequenceNumber, pkt.Timestamp, pkt.Payload = uint16(i), uint32(i)*ticks, payload[:n]
		if err := c.track.WriteRTP(&pkt); err != nil {
			return
		}
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
	}
}

// silence is the audio of an agent with no devices.
type silence struct{}

func (silence) Mic(f []int16) {
	for i := range f {
		f[i] = 0
	}
}
func (silence) Speaker([]int16)    {}
func (silence) CallStarted(string) {}
func (silence) CallEnded(string)   {}
