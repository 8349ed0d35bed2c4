package calls

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/hushphone/hushphone/internal/testing/maskscore"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/wav"
	"github.com/hushphone/hushphone/server/agentleg"
	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/signal"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/trunk"
)

func loopback(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }

// testAgent is an agent as the desktop engine will be: a WebSocket to the
// hub and a pion peer connection for the call's audio.
type testAgent struct {
	t  *testing.T
	ws *websocket.Conn
	pc *webrtc.PeerConnection

	mu       sync.Mutex
	heard    []byte // PCMU from the server
	messages []string
}

func (a *testAgent) send(v any) {
	a.t.Helper()
	b, _ := json.Marshal(v)
	if err := a.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		a.t.Fatal(err)
	}
}

func (a *testAgent) newPeer(call string) {
	a.t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		a.t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		a.t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(loopback)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		a.t.Fatal(err)
	}
	a.pc = pc
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "mic", "agent")
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		a.t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			a.mu.Lock()
			a.heard = append(a.heard, p.Payload...)
			a.mu.Unlock()
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			a.send(map[string]string{"type": "candidate", "call": call, "candidate": c.ToJSON().Candidate})
		}
	})
	// The agent's voice: a 440 Hz tone, 20 ms at a time, while connected.
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s != webrtc.PeerConnectionStateConnected {
			return
		}
		go func() {
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 99}}
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			frame := make([]byte, 160)
			for i := 0; ; i++ {
				for j := range frame {
					frame[j] = g711.EncodeULaw(int16(8000 * math.Sin(2*math.Pi*440*float64(i*160+j)/8000)))
				}
				pkt.SequenceNumber, pkt.Timestamp, pkt.Payload = uint16(i), uint32(i*160), frame
				if err := track.WriteRTP(&pkt); err != nil {
					return
				}
				<-tick.C
				if pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
					return
				}
			}
		}()
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		a.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		a.t.Fatal(err)
	}
	// Every candidate is sent before the offer, which holds none: the call
	// connects only if the server keeps candidates that come early.
	<-gathered
	a.send(map[string]string{"type": "sdp", "call": call, "kind": "offer", "sdp": offer.SDP})
}

// TestCallThroughToAnAgent: sipp calls with speech and in-band keys; the
// queue rings the agent, who answers over the WebSocket and sets up WebRTC;
// the agent hears the masked caller (no independent detector finds a key)
// and sees "a key was pressed" without digits; the caller gets the agent's
// voice; the recording holds both, masked, and is indexed.
func TestCallThroughToAnAgent(t *testing.T) {
	sipptest.Sipp(t)                                          // skip early without sipp
	in, tones := sipptest.Excerpt(t, "nominal", 36000, 64000) // 8 s with several key presses
	n := len(in)

	ctx := context.Background()
	data := t.TempDir()
	st, err := store.Open(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ann, err := st.AddUser(ctx, "ann", store.RoleAgent, "$argon2id$unused")
	if err != nil {
		t.Fatal(err)
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSession(ctx, ann.ID, hash, time.Hour); err != nil {
		t.Fatal(err)
	}

	api, err := agentleg.NewAPI(agentleg.Config{Loopback: true, IPFilter: loopback})
	if err != nil {
		t.Fatal(err)
	}
	// The wiring server/node does, by hand: the queue's events reach the
	// calls before the hub; what the calls say goes to the hub.
	var keysMu sync.Mutex
	var keys []dtmf.Event
	var routeSubs []func(route.Event)
	router := route.New(route.WithEvents(func(e route.Event) {
		for _, f := range routeSubs {
			f(e)
		}
	}))
	defer router.Close()
	var hub *signal.Hub
	recorded := make(chan Recorded, 4)
	mgr, err := New(Params{Router: router, WebRTC: api, Store: st, DataDir: data,
		Recorded: func(r Recorded) { recorded <- r },
		Notify: func(e Event) {
			switch e := e.(type) {
			case Description:
				_ = hub.SDP(e.User, e.Call, e.Kind, e.SDP)
			case Candidate:
				_ = hub.Candidate(e.User, e.Call, e.Candidate, e.SDPMid, e.SDPMLineIndex)
			case KeyPressed:
				hub.KeyPressed(e.Call, e.Agent)
			}
		},
		Keys: func(_ string, e dtmf.Event) {
			keysMu.Lock()
			keys = append(keys, e)
			keysMu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	timers := watchTimers(mgr)
	hub, err = signal.New(signal.Params{Sessions: st, Router: router, Media: mgr})
	if err != nil {
		t.Fatal(err)
	}
	routeSubs = []func(route.Event){mgr.RouteEvent, hub.RouteEvent}
	web := httptest.NewServer(hub)
	defer web.Close()
	defer hub.Close()

	sipAddr := sipptest.FreeAddr(t)
	tr, err := trunk.New(trunk.Config{SIPAddr: sipAddr, OnCall: mgr.OnCall})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	tctx, stopTrunk := context.WithCancel(ctx)
	trunkDone := make(chan error, 1)
	go func() { trunkDone <- tr.Serve(tctx) }()
	defer func() {
		stopTrunk()
		<-trunkDone
		_ = mgr.Close()
		checkNothingOutlives(t, timers)
	}()

	// The agent signs on and becomes available.
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(wctx, "ws"+strings.TrimPrefix(web.URL, "http")+"?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	agent := &testAgent{t: t, ws: ws}
	agent.send(map[string]string{"type": "presence", "status": "available"})

	// The caller rings.
	sippDone := make(chan error, 1)
	go func() { sippDone <- sipptest.Calls(wctx, t, sipAddr, in, 1) }()

	// The agent's side of the protocol.
	var callID string
	keyMsgs, endOfCandidates := 0, 0
	ended := false
	for !ended {
		_, b, err := ws.Read(wctx)
		if err != nil {
			t.Fatalf("agent's WebSocket: %v", err)
		}
		agent.mu.Lock()
		agent.messages = append(agent.messages, string(b))
		agent.mu.Unlock()
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		switch m["type"] {
		case "call.offered":
			callID, _ = m["call"].(string)
			if m["from"] != "0123456789" {
				t.Errorf("offered from %v", m["from"])
			}
			agent.send(map[string]string{"type": "answer", "call": callID})
		case "call.started":
			agent.newPeer(callID)
		case "sdp":
			if err := agent.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m["sdp"].(string)}); err != nil {
				t.Fatal(err)
			}
		case "candidate":
			// Each with its media section, then end-of-candidates.
			if m["end"] == true {
				endOfCandidates++
				_ = agent.pc.AddICECandidate(webrtc.ICECandidateInit{})
				break
			}
			if _, ok := m["sdpMid"].(string); !ok || m["sdpMLineIndex"] == nil {
				t.Errorf("a candidate without its media section: %s", b)
			}
			c, _ := m["candidate"].(string)
			_ = agent.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c})
		case "key.pressed":
			keyMsgs++
			if len(m) != 2 || m["call"] != callID {
				t.Errorf("key.pressed says more than that a key was pressed: %s", b)
			}
		case "call.ended":
			ended = true
		case "error":
			t.Errorf("hub: %s", b)
		}
	}
	if err := <-sippDone; err != nil {
		t.Fatal(err)
	}
	_ = agent.pc.Close()
	if endOfCandidates != 1 {
		t.Errorf("%d end-of-candidates messages, want 1 once the server's gathering was over", endOfCandidates)
	}

	var want []byte
	for _, tn := range tones {
		if tn.Expect == maskscore.ExpectDetect {
			want = append(want, tn.Digit[0])
		}
	}
	keysMu.Lock()
	var downs []byte
	for _, k := range keys {
		if k.Phase == dtmf.KeyDown {
			downs = append(downs, k.Digit)
		}
	}
	keysMu.Unlock()
	if string(downs) != string(want) || keyMsgs != len(want) {
		t.Fatalf("payment side got keys %q, agent saw %d key.pressed; want %q", downs, keyMsgs, want)
	}
	// No digit reached the agent in any message.
	agent.mu.Lock()
	for _, msg := range agent.messages {
		if strings.Contains(msg, `"digit"`) {
			t.Errorf("a message to the agent names a digit: %s", msg)
		}
	}
	heard := make([]int16, len(agent.heard))
	g711.DecodeULawTo(heard, agent.heard)
	agent.mu.Unlock()
	if len(heard) < 4*8000 {
		t.Fatalf("the agent heard %d samples, want most of 8 s", len(heard))
	}
	// What the agent heard holds no key any independent detector finds.
	for _, d := range maskscore.Detectors() {
		base, err := d.FindSamples(wctx, maskscore.SpeechOnly(&maskscore.Case{Samples: in, Tones: tones}))
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.FindSamples(wctx, heard)
		if err != nil {
			t.Fatal(err)
		}
		if extra := maskscore.ExtraDigits(base, got); extra != "" {
			t.Errorf("%s finds %d digit(s) in what the agent heard", d.Name, len(extra))
		}
	}

	// The recording: indexed, both sides, the caller masked.
	deadline := time.Now().Add(5 * time.Second)
	var recs []store.Recording
	for time.Now().Before(deadline) {
		recs, _ = st.ListRecordings(ctx, 0)
		if len(recs) == 1 && recs[0].Duration > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(recs) != 1 || recs[0].Agent != "ann" || recs[0].Duration < 7*time.Second {
		t.Fatalf("recordings %+v", recs)
	}
	a, err := wav.ReadFile(filepath.Join(data, recs[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	left, right := make([]int16, a.Frames()), make([]int16, a.Frames())
	for i := range left {
		left[i], right[i] = a.Samples[2*i], a.Samples[2*i+1]
	}
	rep, err := maskscore.Score(in, left[:min(len(left), n)], tones, maskscore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("recording, caller channel: %s", rep)
	for _, p := range rep.Problems(maskscore.DefaultLimits()) {
		t.Errorf("recording: %s", p)
	}
	if r := rms440(right); r < 1000 {
		t.Errorf("recording, agent channel: 440 Hz at rms %.0f, want the agent's voice", r)
	}
	// The finished recording went to the after-call check, with the count
	// of the keys masked.
	select {
	case r := <-recorded:
		if r.ID != recs[0].ID || r.Call != callID || r.Path != filepath.Join(data, recs[0].Path) || r.Duration.Truncate(time.Millisecond) != recs[0].Duration || r.KeysMasked != len(want) {
			t.Errorf("Recorded got %+v; want recording %d of call %s at %s, %v long, %d keys masked",
				r, recs[0].ID, callID, filepath.Join(data, recs[0].Path), recs[0].Duration, len(want))
		}
	default:
		t.Error("the finished recording was not handed on")
	}
	if len(recorded) > 0 {
		t.Errorf("%d more recordings handed on", len(recorded))
	}
	t.Logf("agent heard %.1f s; recording %v; keys %q", float64(len(heard))/8000, recs[0].Duration, downs)
}

// rms440 is the amplitude of the 440 Hz component of s.
func rms440(s []int16) float64 {
	var c, q float64
	for i, v := range s {
		w := 2 * math.Pi * 440 * float64(i) / 8000
		c += float64(v) * math.Cos(w)
		q += float64(v) * math.Sin(w)
	}
	return 2 * math.Hypot(c, q) / float64(max(len(s), 1))
}
