package agentleg

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/hushphone/hushphone/internal/opus"
	"github.com/hushphone/hushphone/media/g711"
)

// audioFormats is the payload types of a description's first audio
// section, in its order.
func audioFormats(t testing.TB, s string) []string {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(s); err != nil {
		t.Fatal(err)
	}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" {
			return m.MediaName.Formats
		}
	}
	return nil
}

// toneAt fills pcm with a tone of freq Hz and amplitude amp at 8 kHz,
// from sample off.
func toneAt(pcm []int16, off int, freq, amp float64) {
	for i := range pcm {
		pcm[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(off+i)/clockRate)))
	}
}

// level is the RMS of the component at freq Hz (Goertzel) and of the whole.
func level(s []int16, freq float64) (tone, all float64) {
	c := 2 * math.Cos(2*math.Pi*freq/clockRate)
	var s1, s2, sum float64
	for _, v := range s {
		x := float64(v)
		sum += x * x
		s0 := x + c*s1 - s2
		s2, s1 = s1, s0
	}
	return math.Sqrt(2*(s1*s1+s2*s2-c*s1*s2)) / float64(len(s)), math.Sqrt(sum / float64(len(s)))
}

// checkTone checks that got carries the 1 kHz tone at the level of want's
// (within 1 dB) with little else (distortion and noise 20 dB down).
func checkTone(t *testing.T, what string, got, want []int16) {
	t.Helper()
	wantTone, _ := level(want, 1000)
	tone, all := level(got, 1000)
	d := 20 * math.Log10(tone/wantTone)
	resid := math.Sqrt(math.Max(all*all-tone*tone, 0))
	snr := 20 * math.Log10(tone/math.Max(resid, 1e-9))
	t.Logf("%s: 1 kHz at %+.2f dB relative to what was sent, the rest %.1f dB below it (%d samples)", what, d, snr, len(got))
	if math.Abs(d) > 1 {
		t.Errorf("%s: the tone came out at %+.2f dB, want within 1 dB", what, d)
	}
	if snr < 20 {
		t.Errorf("%s: the rest is only %.1f dB below the tone, want 20 dB", what, snr)
	}
}

// An agent offering Opus first gets Opus both ways: the masked caller's
// PCMU goes to it as Opus (960-tick steps) and its Opus comes back to
// OnAgentAudio as 160-byte PCMU frames, a 1 kHz tone keeping its level
// and frequency through PCMU, Opus and back; lost packets are silence.
func TestOpusAgent(t *testing.T) {
	if !opus.Available {
		t.Skip("built without cgo: no Opus")
	}
	checkGoroutines(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var heard collector
	up := make(chan struct{})
	leg, err := newServerAPI(t).NewLeg(ctx, LegParams{
		OnAgentAudio: heard.add,
		OnState: func(s State) {
			if s == StateConnected {
				close(up)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ag := newAgent(t, frameBytes, opusThenPCMU, nil)
	ag.keepPkts = true
	defer ag.close()
	defer func() {
		if err := leg.Close(); err != nil {
			t.Error(err)
		}
	}()
	offer, err := ag.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := leg.Answer(ctx, ag.setLocal(offer, false))
	if err != nil {
		t.Fatal(err)
	}
	if f := audioFormats(t, answer); len(f) == 0 || f[0] != "111" || !strings.Contains(answer, "opus/48000/2") {
		t.Fatalf("the answer does not put Opus first (%v):\n%s", f, answer)
	}
	ag.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
	for _, ch := range []chan struct{}{up, ag.connected} {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatal("not connected in 15 s")
		}
	}

	// Server to agent: a 1 kHz tone at about -12 dBFS, as PCMU frames.
	const amp = 8000
	var pcm [frameBytes]int16
	var ulaw [frameBytes]byte
	sent := 0
	writeTone := func() {
		toneAt(pcm[:], sent*frameBytes, 1000, amp)
		g711.EncodeULawTo(ulaw[:], pcm[:])
		if err := leg.WriteFrame(ulaw[:]); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	waitFor(t, "the agent to hear the server", 5*time.Second, func() bool {
		writeTone()
		time.Sleep(5 * time.Millisecond)
		ag.mu.Lock()
		defer ag.mu.Unlock()
		return len(ag.pkts) > 0
	})
	for range 100 {
		writeTone()
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "100 Opus packets at the agent", 5*time.Second, func() bool {
		ag.mu.Lock()
		defer ag.mu.Unlock()
		return len(ag.pkts) >= 100
	})
	ag.mu.Lock()
	pkts, codec := append(ag.pkts[:0:0], ag.pkts...), ag.codec
	ag.mu.Unlock()
	if !strings.EqualFold(codec, webrtc.MimeTypeOpus) {
		t.Fatalf("the agent received %s, want Opus", codec)
	}
	dec, err := opus.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var toAgent []int16
	buf := make([]int16, opus.MaxFrameSamples)
	for i, p := range pkts {
		if p.PayloadType != 111 {
			t.Fatalf("packet %d: payload type %d, want 111", i, p.PayloadType)
		}
		if i > 0 && (p.Timestamp-pkts[i-1].Timestamp != opus.RTPFrameTicks || p.SequenceNumber != pkts[i-1].SequenceNumber+1) {
			t.Fatalf("packet %d: timestamp step %d, sequence step %d; want 960 and 1", i,
				p.Timestamp-pkts[i-1].Timestamp, p.SequenceNumber-pkts[i-1].SequenceNumber)
		}
		n, err := dec.Decode(buf, p.Payload)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if n != frameBytes {
			t.Fatalf("packet %d: %d samples, want 160", i, n)
		}
		toAgent = append(toAgent, buf[:n]...)
	}
	// The reference is what was sent, through PCMU (its own quantisation).
	var ref [8000]int16
	toneAt(ref[:], 0, 1000, amp)
	var refU [8000]byte
	g711.EncodeULawTo(refU[:], ref[:])
	g711.DecodeULawTo(ref[:], refU[:])
	checkTone(t, "server to agent, PCMU to Opus", toAgent[len(toAgent)-80*frameBytes:], ref[:])

	// Agent to server: the same tone, Opus-encoded by the agent.
	enc, err := opus.NewEncoder(0)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	pktBuf := make([]byte, opus.MaxPacket)
	agentSent := 0
	agentSend := func() {
		toneAt(pcm[:], agentSent*frameBytes, 1000, amp)
		n, err := enc.Encode(pktBuf, pcm[:])
		if err != nil {
			t.Fatal(err)
		}
		ag.pkt.Payload = pktBuf[:n]
		if err := ag.track.WriteRTP(&ag.pkt); err != nil {
			t.Error(err)
		}
		ag.pkt.SequenceNumber++
		ag.pkt.Timestamp += opus.RTPFrameTicks
		agentSent++
	}
	waitFor(t, "the server to hear the agent", 5*time.Second, func() bool {
		agentSend()
		time.Sleep(5 * time.Millisecond)
		return len(heard.bytes()) > 0
	})
	time.Sleep(30 * time.Millisecond)
	before := len(heard.bytes())
	for range 100 {
		agentSend()
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "100 frames from the agent", 5*time.Second, func() bool {
		return len(heard.bytes()) >= before+100*frameBytes
	})
	got := heard.bytes()
	if heard.bad != 0 || len(got)%frameBytes != 0 {
		t.Fatalf("%d frames to OnAgentAudio were not 160 bytes (%d bytes in all)", heard.bad, len(got))
	}
	fromAgent := make([]int16, 80*frameBytes)
	g711.DecodeULawTo(fromAgent, got[len(got)-len(fromAgent):])
	var plain [8000]int16
	toneAt(plain[:], 0, 1000, amp)
	checkTone(t, "agent to server, Opus to PCMU", fromAgent, plain[:])

	// Two packets lost: 40 ms of PCMU silence in their place.
	st0 := leg.Stats()
	n0 := len(heard.bytes())
	agentSend()
	ag.pkt.SequenceNumber += 2
	ag.pkt.Timestamp += 2 * opus.RTPFrameTicks
	agentSend()
	waitFor(t, "the frames after the loss", 5*time.Second, func() bool {
		return len(heard.bytes()) >= n0+4*frameBytes
	})
	after := heard.bytes()[n0:]
	silent := 0
	for _, b := range after[frameBytes : 3*frameBytes] {
		if b == pcmuSilence {
			silent++
		}
	}
	if silent != 2*frameBytes || len(after) != 4*frameBytes {
		t.Errorf("after a loss of two: %d bytes, %d of the middle 320 silence; want 640 and 320", len(after), silent)
	}
	if st := leg.Stats(); st.PacketsLost-st0.PacketsLost != 2 {
		t.Errorf("lost %d, want 2 (%+v)", st.PacketsLost-st0.PacketsLost, st)
	}
}

// WriteFrame on a connected Opus leg: PCMU decode, Opus encode, send.
func BenchmarkWriteFrameOpus(b *testing.B) {
	if !opus.Available {
		b.Skip("built without cgo: no Opus")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	up := make(chan struct{})
	leg, err := newServerAPI(b).NewLeg(ctx, LegParams{OnState: func(s State) {
		if s == StateConnected {
			close(up)
		}
	}})
	if err != nil {
		b.Fatal(err)
	}
	ag := newAgent(b, frameBytes, opusThenPCMU, nil)
	b.Cleanup(func() {
		_ = leg.Close()
		ag.close()
	})
	offer, err := ag.pc.CreateOffer(nil)
	if err != nil {
		b.Fatal(err)
	}
	answer, err := leg.Answer(ctx, ag.setLocal(offer, false))
	if err != nil {
		b.Fatal(err)
	}
	ag.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
	select {
	case <-up:
	case <-ctx.Done():
		b.Fatal("not connected")
	}
	var pcm [frameBytes]int16
	frames := make([][]byte, 50)
	for i := range frames {
		toneAt(pcm[:], i*frameBytes, 1000, 8000)
		frames[i] = make([]byte, frameBytes)
		g711.EncodeULawTo(frames[i], pcm[:])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := leg.WriteFrame(frames[i%len(frames)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// The answer puts first whichever of PCMU and Opus the offer lists first,
// whatever payload type and fmtp the agent gives Opus (Chrome's, Firefox's,
// none).
func TestAnswerFollowsTheOffersOrder(t *testing.T) {
	if !opus.Available {
		t.Skip("built without cgo: no Opus")
	}
	checkGoroutines(t)
	for _, c := range []struct {
		fmtp      string
		opusFirst bool
		want      string
	}{
		{"minptime=10;useinbandfec=1", true, "109"},
		{"maxplaybackrate=48000;stereo=1;useinbandfec=1", true, "109"},
		{"", true, "109"},
		{"minptime=10;useinbandfec=1", false, "0"},
	} {
		me := &webrtc.MediaEngine{}
		o := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: c.fmtp}, PayloadType: 109}
		order := []webrtc.RTPCodecParameters{o, pcmu}
		if !c.opusFirst {
			order = []webrtc.RTPCodecParameters{pcmu, o}
		}
		for _, codec := range order {
			if err := me.RegisterCodec(codec, webrtc.RTPCodecTypeAudio); err != nil {
				t.Fatal(err)
			}
		}
		pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		leg, err := newServerAPI(t).NewLeg(context.Background(), LegParams{OnCandidate: func(webrtc.ICECandidateInit) {}})
		if err != nil {
			t.Fatal(err)
		}
		answer, err := leg.Answer(context.Background(), offer.SDP)
		if err != nil {
			t.Fatal(err)
		}
		if f := audioFormats(t, answer); len(f) == 0 || f[0] != c.want {
			t.Errorf("fmtp %q, Opus first %v: the answer lists %v, want %s first", c.fmtp, c.opusFirst, f, c.want)
		}
		if err := leg.Close(); err != nil {
			t.Error(err)
		}
		if err := pc.Close(); err != nil {
			t.Error(err)
		}
	}
}
