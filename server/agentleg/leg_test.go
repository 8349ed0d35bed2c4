package agentleg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/hushphone/hushphone/internal/opus"
)

// loopback4 keeps ICE on 127.0.0.1.
func loopback4(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }

// checkGoroutines fails the test if, a moment after it ends, more
// goroutines run than when it started.
func checkGoroutines(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		var now int
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if now = runtime.NumGoroutine(); now <= before {
				return
			}
		}
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after\n%s", before, now, buf[:runtime.Stack(buf, true)])
	})
}

func newServerAPI(t testing.TB) *API {
	t.Helper()
	api, err := NewAPI(Config{Loopback: true, IPFilter: loopback4})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// codecs is what a test agent registers, in its order of preference.
type codecs int

const (
	pcmuOnly codecs = iota
	pcmuThenOpus
	opusThenPCMU
)

// agent is a plain pion peer, as the desktop app's engine is: PCMU,
// default interceptors, loopback only (and Opus too, if asked; its track
// is of the codec it prefers). It sends RTP with payloads of chunk bytes
// and collects the payloads it receives.
type agent struct {
	t     testing.TB
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	chunk int
	pkt   rtp.Packet

	mu        sync.Mutex
	remoteSet bool
	pending   []webrtc.ICECandidateInit
	got       []byte       // every payload byte received, in order
	keepPkts  bool         // set before connecting: keep pkts too
	pkts      []rtp.Packet // every packet received, when keepPkts
	codec     string       // of the track received
	connected chan struct{}
	once      sync.Once
	readers   sync.WaitGroup
}

func newAgent(t testing.TB, chunk int, cs codecs, trickle func(webrtc.ICECandidateInit)) *agent {
	t.Helper()
	me := &webrtc.MediaEngine{}
	o := webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}
	order := map[codecs][]webrtc.RTPCodecParameters{
		pcmuOnly:     {pcmu},
		pcmuThenOpus: {pcmu, o},
		opusThenPCMU: {o, pcmu},
	}[cs]
	for _, c := range order {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(loopback4)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{t: t, pc: pc, chunk: chunk, connected: make(chan struct{})}
	a.track, err = webrtc.NewTrackLocalStaticRTP(order[0].RTPCodecCapability, "mic", "agent")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pc.AddTrack(a.track)
	if err != nil {
		t.Fatal(err)
	}
	a.pkt = rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 65530, Timestamp: 4294967000}}
	a.readers.Add(1)
	go func() { // RTCP for the sent track, as pion's examples do
		defer a.readers.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	if trickle != nil {
		pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c != nil {
				trickle(c.ToJSON())
			}
		})
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			a.once.Do(func() { close(a.connected) })
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			a.mu.Lock()
			a.got = append(a.got, p.Payload...)
			if a.keepPkts {
				a.pkts = append(a.pkts, *p.Clone())
			}
			a.codec = tr.Codec().MimeType
			a.mu.Unlock()
		}
	})
	return a
}

// close closes the peer; its OnTrack reader (pion's goroutine) ends with it.
func (a *agent) close() {
	if err := a.pc.GracefulClose(); err != nil {
		a.t.Error(err)
	}
	a.readers.Wait()
}

func (a *agent) addCandidate(c webrtc.ICECandidateInit) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.remoteSet {
		a.pending = append(a.pending, c)
		return
	}
	if err := a.pc.AddICECandidate(c); err != nil {
		a.t.Error(err)
	}
}

func (a *agent) setRemote(d webrtc.SessionDescription) {
	a.t.Helper()
	if err := a.pc.SetRemoteDescription(d); err != nil {
		a.t.Fatal(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.remoteSet = true
	for _, c := range a.pending {
		if err := a.pc.AddICECandidate(c); err != nil {
			a.t.Error(err)
		}
	}
	a.pending = nil
}

// setLocal sets d and, without trickle, waits for every candidate.
func (a *agent) setLocal(d webrtc.SessionDescription, trickle bool) string {
	a.t.Helper()
	gathered := webrtc.GatheringCompletePromise(a.pc)
	if err := a.pc.SetLocalDescription(d); err != nil {
		a.t.Fatal(err)
	}
	if trickle {
		return d.SDP
	}
	<-gathered
	return a.pc.LocalDescription().SDP
}

// send sends b as RTP payloads of a.chunk bytes.
func (a *agent) send(b []byte) {
	for len(b) > 0 {
		n := min(a.chunk, len(b))
		a.pkt.Payload = b[:n]
		if err := a.track.WriteRTP(&a.pkt); err != nil {
			a.t.Error(err)
		}
		a.pkt.SequenceNumber++
		a.pkt.Timestamp += uint32(n)
		b = b[n:]
	}
}

func (a *agent) received() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]byte(nil), a.got...)
}

// frame is test frame i: every byte different, none equal to warm.
func frame(i int) []byte {
	f := make([]byte, frameBytes)
	for j := range f {
		f[j] = byte(i*7 + j)
		if f[j] == warm {
			f[j] = 0x01
		}
	}
	return f
}

// warm fills the frames sent until the other side hears something.
const warm = 0xAA

// afterWarmUp drops the leading warm-up bytes.
func afterWarmUp(b []byte) []byte {
	for len(b) > 0 && b[0] == warm {
		b = b[1:]
	}
	return b
}

// collector gathers what OnAgentAudio gives.
type collector struct {
	mu  sync.Mutex
	got []byte
	bad int // frames not 160 bytes
}

func (c *collector) add(f []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(f) != frameBytes {
		c.bad++
	}
	c.got = append(c.got, f...)
}

func (c *collector) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.got...)
}

func waitFor(t testing.TB, what string, d time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

func TestTwoWayAudioOverLoopback(t *testing.T) {
	cases := []struct {
		name         string
		serverOffers bool
		trickle      bool
		agentChunk   int // payload bytes per agent packet
		agentCodecs  codecs
	}{
		{"server offers, trickle", true, true, 160, pcmuOnly},
		{"agent offers, trickle", false, true, 160, pcmuOnly},
		{"server offers, full gathering", true, false, 160, pcmuOnly},
		{"agent offers, full gathering, 80-byte packets", false, false, 80, pcmuOnly},
		{"server offers, trickle, 240-byte packets", true, true, 240, pcmuOnly},
		{"agent offers PCMU then Opus, server picks PCMU", false, true, 160, pcmuThenOpus},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			api := newServerAPI(t)

			var (
				leg    *Leg
				ag     *agent
				heard  collector
				states = make(chan State, 16)
				legUp  = make(chan struct{})
			)
			var agentTrickle func(webrtc.ICECandidateInit)
			params := LegParams{
				OnAgentAudio: heard.add,
				OnState: func(s State) {
					states <- s
					if s == StateConnected {
						close(legUp)
					}
				},
			}
			if tc.trickle {
				agentTrickle = func(c webrtc.ICECandidateInit) {
					if err := leg.AddCandidate(c); err != nil {
						t.Error(err)
					}
				}
				params.OnCandidate = func(c webrtc.ICECandidateInit) { ag.addCandidate(c) }
			}
			ag = newAgent(t, tc.agentChunk, tc.agentCodecs, agentTrickle)
			leg, err := api.NewLeg(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			defer ag.close()
			defer func() {
				if err := leg.Close(); err != nil {
					t.Error(err)
				}
			}()

			if tc.serverOffers {
				offer, err := leg.Offer(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !tc.trickle && !strings.Contains(offer, "a=candidate:") {
					t.Fatalf("offer without trickle holds no candidates:\n%s", offer)
				}
				want := []string{"0", "111"} // PCMU, then Opus
				if !opus.Available {
					want = want[:1]
				}
				if f := audioFormats(t, offer); !slices.Equal(f, want) {
					t.Errorf("the server offers %v, want %v", f, want)
				}
				ag.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer})
				answer, err := ag.pc.CreateAnswer(nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := leg.SetAnswer(ag.setLocal(answer, tc.trickle)); err != nil {
					t.Fatal(err)
				}
			} else {
				offer, err := ag.pc.CreateOffer(nil)
				if err != nil {
					t.Fatal(err)
				}
				answer, err := leg.Answer(ctx, ag.setLocal(offer, tc.trickle))
				if err != nil {
					t.Fatal(err)
				}
				if f := audioFormats(t, answer); len(f) == 0 || f[0] != "0" {
					t.Errorf("the answer does not put PCMU first:\n%s", answer)
				}
				ag.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
			}

			for _, c := range []struct {
				name string
				ch   <-chan struct{}
			}{{"server leg", legUp}, {"agent", ag.connected}} {
				select {
				case <-c.ch:
				case <-ctx.Done():
					t.Fatalf("%s not connected: %v", c.name, ctx.Err())
				}
			}

			// Server to agent: warm up until the agent hears us, then 50 frames.
			warmFrame := bytes.Repeat([]byte{warm}, frameBytes)
			waitFor(t, "the agent to hear the server", 5*time.Second, func() bool {
				if err := leg.WriteFrame(warmFrame); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond)
				return len(ag.received()) > 0
			})
			var want []byte
			for i := range 50 {
				f := frame(i)
				want = append(want, f...)
				if err := leg.WriteFrame(f); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Millisecond)
			}
			waitFor(t, "50 frames at the agent", 5*time.Second, func() bool {
				return len(afterWarmUp(ag.received())) >= len(want)
			})
			if got := afterWarmUp(ag.received()); !bytes.Equal(got, want) {
				t.Fatalf("the agent got %d bytes after warm-up, not the 50 frames in order", len(got))
			}

			// Agent to server.
			waitFor(t, "the server to hear the agent", 5*time.Second, func() bool {
				ag.send(warmFrame)
				time.Sleep(10 * time.Millisecond)
				return len(heard.bytes()) > 0
			})
			time.Sleep(30 * time.Millisecond) // the last warm-up packets
			want = want[:0]
			for i := range 50 {
				f := frame(i + 100)
				want = append(want, f...)
				ag.send(f)
				time.Sleep(time.Millisecond)
			}
			waitFor(t, "50 frames from the agent", 5*time.Second, func() bool {
				return len(afterWarmUp(heard.bytes())) >= len(want)
			})
			got := afterWarmUp(heard.bytes())
			if !bytes.Equal(got, want) {
				t.Fatalf("OnAgentAudio got %d bytes after warm-up, not the agent's 50 frames in order", len(got))
			}
			if heard.bad != 0 {
				t.Errorf("%d frames to OnAgentAudio were not 160 bytes", heard.bad)
			}

			st := leg.Stats()
			if st.PacketsSent < 50 || st.PacketsLost != 0 || st.PacketsLate != 0 ||
				st.FramesReceived < 50 || st.PacketsReceived < uint64(50*frameBytes/tc.agentChunk) {
				t.Errorf("stats: %+v", st)
			}
			if tc.name == "server offers, trickle" { // reports come every second or so
				waitFor(t, "an RTCP receiver report from the agent", 5*time.Second, func() bool {
					return leg.Stats().RemoteReports > 0
				})
				t.Logf("stats: %+v", leg.Stats())
			}

			if err := leg.Close(); err != nil {
				t.Error(err)
			}
			var seen []State
			for len(states) > 0 {
				seen = append(seen, <-states)
			}
			if len(seen) < 2 || seen[len(seen)-1] != StateClosed || !contains(seen, StateConnected) {
				t.Errorf("states: %v; want connected ... closed", seen)
			}
			if err := leg.WriteFrame(frame(0)); !errors.Is(err, ErrClosed) {
				t.Errorf("WriteFrame after Close: %v, want ErrClosed", err)
			}
		})
	}
}

func contains(s []State, x State) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

const opusOnly = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=setup:actpass\r\na=rtcp-mux\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n"

// pcmuOffer is a well-formed offer with PCMU.
var pcmuOffer = strings.Replace(opusOnly, "111\r\n", "111 0\r\n", 1) + "a=rtpmap:0 PCMU/8000\r\n"

var g722Only = strings.Replace(opusOnly, "opus/48000/2", "G722/8000", 1)

const videoOnly = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\n"

func TestBadInput(t *testing.T) {
	checkGoroutines(t)
	ctx := context.Background()
	api := newServerAPI(t)
	cases := []struct {
		name string
		do   func(*Leg) error
		want error
	}{
		{"garbage offer", func(l *Leg) error { _, err := l.Answer(ctx, "not sdp"); return err }, ErrSDP},
		{"empty offer", func(l *Leg) error { _, err := l.Answer(ctx, ""); return err }, ErrSDP},
		{"offer with neither PCMU nor Opus", func(l *Leg) error { _, err := l.Answer(ctx, g722Only); return err }, ErrSDP},
		{"video-only offer", func(l *Leg) error { _, err := l.Answer(ctx, videoOnly); return err }, ErrSDP},
		{"answer without an offer", func(l *Leg) error { return l.SetAnswer(pcmuOffer) }, ErrSDP},
		{"an answer where an offer belongs", func(l *Leg) error {
			if _, err := l.Offer(ctx); err != nil {
				return err
			}
			_, err := l.Answer(ctx, pcmuOffer)
			return err
		}, ErrSDP},
		{"garbage answer after an offer", func(l *Leg) error {
			if _, err := l.Offer(ctx); err != nil {
				return err
			}
			return l.SetAnswer("v=0\r\ngarbage")
		}, ErrSDP},
		{"garbage candidate", func(l *Leg) error {
			return l.AddCandidate(webrtc.ICECandidateInit{Candidate: "candidate:garbage"})
		}, ErrCandidate},
		{"candidate with a bad address", func(l *Leg) error {
			return l.AddCandidate(webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 999.1.1.1 5000 typ host"})
		}, ErrCandidate},
		{"short frame", func(l *Leg) error { return l.WriteFrame(make([]byte, 100)) }, ErrFrame},
		{"long frame", func(l *Leg) error { return l.WriteFrame(make([]byte, 161)) }, ErrFrame},
		{"nil frame", func(l *Leg) error { return l.WriteFrame(nil) }, ErrFrame},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leg, err := api.NewLeg(ctx, LegParams{})
			if err != nil {
				t.Fatal(err)
			}
			defer leg.Close()
			if err := tc.do(leg); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			} else {
				t.Logf("%v", err)
			}
		})
	}
}

// TestCandidatesBounded: a peer that trickles candidates without end
// (each one costs pion connectivity checks) is refused past MaxCandidates,
// before the description and after it.
func TestCandidatesBounded(t *testing.T) {
	ctx := context.Background()
	api := newServerAPI(t)
	for _, described := range []bool{false, true} {
		leg, err := api.NewLeg(ctx, LegParams{OnCandidate: func(webrtc.ICECandidateInit) {}})
		if err != nil {
			t.Fatal(err)
		}
		if described {
			if _, err := leg.Answer(ctx, pcmuOffer); err != nil {
				t.Fatal(err)
			}
		}
		for i := range MaxCandidates + 1 {
			c := fmt.Sprintf("candidate:%d 1 udp 2130706431 127.0.0.1 %d typ host", i, 20000+i)
			err := leg.AddCandidate(webrtc.ICECandidateInit{Candidate: c})
			if i < MaxCandidates && i < maxPending && err != nil {
				t.Fatalf("described %v: candidate %d: %v", described, i, err)
			}
			if i == MaxCandidates && !errors.Is(err, ErrCandidate) {
				t.Fatalf("described %v: candidate %d of at most %d: %v, want ErrCandidate", described, i+1, MaxCandidates, err)
			}
		}
		_ = leg.Close()
	}
}

func TestAfterClose(t *testing.T) {
	checkGoroutines(t)
	ctx := context.Background()
	api := newServerAPI(t)
	leg, err := api.NewLeg(ctx, LegParams{OnCandidate: func(webrtc.ICECandidateInit) {}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leg.Offer(ctx); err != nil { // gathering runs while we close
		t.Fatal(err)
	}
	if err := leg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := leg.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	cases := []struct {
		name string
		do   func() error
	}{
		{"Offer", func() error { _, err := leg.Offer(ctx); return err }},
		{"Answer", func() error { _, err := leg.Answer(ctx, opusOnly); return err }},
		{"SetAnswer", func() error { return leg.SetAnswer(opusOnly) }},
		{"AddCandidate", func() error { return leg.AddCandidate(webrtc.ICECandidateInit{}) }},
		{"WriteFrame", func() error { return leg.WriteFrame(make([]byte, frameBytes)) }},
	}
	for _, tc := range cases {
		if err := tc.do(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", tc.name, err)
		}
	}
}

func TestCloseWhileGathering(t *testing.T) {
	checkGoroutines(t)
	api := newServerAPI(t)
	leg, err := api.NewLeg(context.Background(), LegParams{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, err := leg.Offer(ctx); err == nil {
		t.Log("gathering finished before the deadline was seen")
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Offer with an expired context: %v", err)
	}
	if err := leg.Close(); err != nil {
		t.Error(err)
	}
}

func TestNewAPIConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"loopback", Config{Loopback: true}, true},
		{"port range", Config{PortMin: 20000, PortMax: 20100}, true},
		{"public IP", Config{PublicIP: "203.0.113.7"}, true},
		{"public IPv6", Config{PublicIP: "2001:db8::7"}, true},
		{"reversed ports", Config{PortMin: 20100, PortMax: 20000}, false},
		{"only PortMin", Config{PortMin: 20000}, false},
		{"bad public IP", Config{PublicIP: "my.host"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAPI(tc.cfg)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
}

// A public address replaces the host candidates' addresses in what the
// agent is told.
func TestPublicIPInCandidates(t *testing.T) {
	checkGoroutines(t)
	api, err := NewAPI(Config{PublicIP: "203.0.113.7", Loopback: true, IPFilter: loopback4, PortMin: 42000, PortMax: 42100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	leg, err := api.NewLeg(ctx, LegParams{})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	offer, err := leg.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(offer, " 203.0.113.7 ") || strings.Contains(offer, " 127.0.0.1 ") {
		t.Errorf("offer's candidates do not carry only the public address:\n%s", offer)
	}
	for _, line := range strings.Split(offer, "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			f := strings.Fields(line)
			if len(f) > 5 && (f[5] < "42000" || f[5] > "42100") {
				t.Errorf("candidate port outside 42000-42100: %s", line)
			}
		}
	}
}

func FuzzCheckAudio(f *testing.F) {
	f.Add(opusOnly)
	f.Add(videoOnly)
	f.Add(pcmuOffer)
	f.Add("")
	f.Fuzz(func(_ *testing.T, s string) {
		_, _ = checkAudio(s)
	})
}

// pair is a server leg offering to a test agent, connected, with the
// server's audio heard by the agent and the agent's by heard.
type pair struct {
	leg   *Leg
	ag    *agent
	heard *collector
}

func connectPair(tb testing.TB) *pair {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := &pair{heard: &collector{}}
	up := make(chan struct{})
	var once sync.Once
	leg, err := newServerAPI(tb).NewLeg(ctx, LegParams{
		OnAgentAudio: p.heard.add,
		OnState: func(s State) {
			if s == StateConnected {
				once.Do(func() { close(up) })
			}
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	p.leg = leg
	p.ag = newAgent(tb, frameBytes, pcmuOnly, nil)
	tb.Cleanup(func() {
		if err := leg.Close(); err != nil {
			tb.Error(err)
		}
		p.ag.close()
	})
	offer, err := leg.Offer(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	p.ag.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer})
	answer, err := p.ag.pc.CreateAnswer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := leg.SetAnswer(p.ag.setLocal(answer, false)); err != nil {
		tb.Fatal(err)
	}
	for _, ch := range []chan struct{}{up, p.ag.connected} {
		select {
		case <-ch:
		case <-ctx.Done():
			tb.Fatal("not connected in 10 s")
		}
	}
	return p
}

// Lost packets from the agent become PCMU silence on the time line and are
// counted; late ones are dropped and counted.
func TestAgentLossAndLateness(t *testing.T) {
	checkGoroutines(t)
	p := connectPair(t)
	warmFrame := bytes.Repeat([]byte{warm}, frameBytes)
	waitFor(t, "the server to hear the agent", 5*time.Second, func() bool {
		p.ag.send(warmFrame)
		time.Sleep(10 * time.Millisecond)
		return len(p.heard.bytes()) > 0
	})
	time.Sleep(30 * time.Millisecond)
	before := p.leg.Stats()

	a, b := frame(1), frame(2)
	p.ag.send(a)
	// Two packets lost: their sequence numbers and 40 ms skipped.
	p.ag.pkt.SequenceNumber += 2
	p.ag.pkt.Timestamp += 2 * frameBytes
	p.ag.send(b)
	// One of the lost two comes late (a repeat would not get through
	// SRTP's replay check): dropped, not played.
	next, nextTS := p.ag.pkt.SequenceNumber, p.ag.pkt.Timestamp
	p.ag.pkt.SequenceNumber -= 3
	p.ag.pkt.Timestamp -= 3 * frameBytes
	p.ag.send(frame(3))
	p.ag.pkt.SequenceNumber, p.ag.pkt.Timestamp = next, nextTS
	c := frame(4)
	p.ag.send(c)

	want := append(append(append(append([]byte(nil), a...), bytes.Repeat([]byte{pcmuSilence}, 2*frameBytes)...), b...), c...)
	waitFor(t, "the frames after the loss", 5*time.Second, func() bool {
		return len(afterWarmUp(p.heard.bytes())) >= len(want)
	})
	if got := afterWarmUp(p.heard.bytes()); !bytes.Equal(got, want) {
		t.Fatalf("heard %d bytes, want a, 320 bytes of silence, b, c (%d bytes)", len(got), len(want))
	}
	st := p.leg.Stats()
	if lost, late := st.PacketsLost-before.PacketsLost, st.PacketsLate-before.PacketsLate; lost != 2 || late != 1 {
		t.Errorf("lost %d late %d, want 2 and 1 (stats %+v)", lost, late, st)
	}
}

// WriteFrame on a connected leg: what one frame to the agent costs.
func BenchmarkWriteFrame(b *testing.B) {
	p := connectPair(b)
	f := frame(0)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := p.leg.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}

// Whatever the agent sends as a candidate gets an error or is kept, never
// a crash.
func FuzzAddCandidate(f *testing.F) {
	api, err := NewAPI(Config{Loopback: true, IPFilter: loopback4})
	if err != nil {
		f.Fatal(err)
	}
	leg, err := api.NewLeg(context.Background(), LegParams{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = leg.Close() })
	f.Add("candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host")
	f.Add("candidate:garbage")
	f.Add("candidate:1 1 tcp 1 ::1 9 typ host tcptype active")
	f.Add("")
	f.Fuzz(func(_ *testing.T, s string) {
		leg.sigMu.Lock()
		leg.trickled = 0 // each input as if first, not past MaxCandidates
		leg.sigMu.Unlock()
		_ = leg.AddCandidate(webrtc.ICECandidateInit{Candidate: s})
	})
}
