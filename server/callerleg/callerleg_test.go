package callerleg

import (
	"errors"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mask"
	"github.com/hushphone/hushphone/media/rfc4733"
)

var (
	caller   = netip.MustParseAddrPort("127.0.0.1:40000")
	stranger = netip.MustParseAddrPort("127.0.0.1:40002")
)

// rig is a leg with a real Masker, collecting its output and key events.
type rig struct {
	leg    *Leg
	frames [][]byte
	keys   []dtmf.Event
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{}
	m := mask.New(mask.WithKeyEvents(func(e dtmf.Event) { r.keys = append(r.keys, e) }))
	leg, err := New(Params{Masker: m, Law: g711.ULaw, AudioPT: 0, EventPT: 101, Out: func(f []byte) {
		r.frames = append(r.frames, append([]byte(nil), f...))
	}})
	if err != nil {
		t.Fatal(err)
	}
	r.leg = leg
	return r
}

func packet(t testing.TB, pt uint8, seq uint16, ts uint32, ssrc uint32, payload []byte) []byte {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tone is a key's two frequencies at -10 dBm0 each, mu-law, n samples from
// sample offset off.
func tone(n, off int, lo, hi float64) []byte {
	out := make([]byte, n)
	a := 22860 * math.Pow(10, -10.0/20)
	for i := range out {
		x := float64(off+i) / 8000
		out[i] = g711.EncodeULaw(int16(a*math.Sin(2*math.Pi*lo*x) + a*math.Sin(2*math.Pi*hi*x)))
	}
	return out
}

func silence(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xFF
	}
	return b
}

func TestAudioIsMaskedInOrder(t *testing.T) {
	r := newRig(t)
	t0 := time.Unix(1000, 0)
	// 1 s: silence, a 200 ms '5' (770+1336 Hz), silence.
	for i := 0; i < 50; i++ {
		payload := silence(160)
		if i >= 10 && i < 20 {
			payload = tone(160, i*160, 770, 1336)
		}
		if err := r.leg.Packet(caller, packet(t, 0, uint16(1000+i), uint32(i*160), 7, payload), t0.Add(time.Duration(i)*20*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.frames) != 50 {
		t.Fatalf("%d frames out, want 50", len(r.frames))
	}
	var down []byte
	for _, k := range r.keys {
		if k.Phase == dtmf.KeyDown {
			down = append(down, k.Digit)
		}
	}
	if string(down) != "5" {
		t.Fatalf("keys %q, want one 5", down)
	}
	// The key's frames went out masked: none equals what came in.
	for i := 11; i < 21; i++ { // one frame of look-ahead
		if string(r.frames[i]) == string(tone(160, (i-1)*160, 770, 1336)) {
			t.Fatalf("frame %d went out unmasked", i)
		}
	}
	s := r.leg.Stats()
	if s.Received != 50 || s.Lost != 0 || s.Frames != 50 || s.Remote != caller || s.Jitter != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestLatchingIgnoresStrangers(t *testing.T) {
	r := newRig(t)
	now := time.Unix(0, 0)
	if err := r.leg.Packet(caller, packet(t, 0, 1, 0, 7, silence(160)), now); err != nil {
		t.Fatal(err)
	}
	err := r.leg.Packet(stranger, packet(t, 0, 2, 160, 7, tone(160, 0, 697, 1209)), now)
	if !errors.Is(err, ErrStranger) {
		t.Fatalf("stranger's packet: %v", err)
	}
	// A stranger's key press never reaches the Masker.
	err = r.leg.Packet(stranger, packet(t, 101, 3, 160, 7, []byte{1, 0x80, 0, 160}), now)
	if !errors.Is(err, ErrStranger) || len(r.keys) != 0 {
		t.Fatalf("stranger's event: %v, keys %v", err, r.keys)
	}
	if s := r.leg.Stats(); s.Ignored != 2 || s.Received != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestLossAndSilenceKeepTheTimeLine(t *testing.T) {
	r := newRig(t)
	now := time.Unix(0, 0)
	for i := 0; i < 30; i++ {
		if i == 10 || i == 11 || i == 20 { // lost
			continue
		}
		ts := uint32(i * 160)
		if err := r.leg.Packet(caller, packet(t, 0, uint16(65530+i), ts, 7, silence(160)), now); err != nil {
			t.Fatal(err)
		}
	}
	s := r.leg.Stats()
	if s.Lost != 3 || s.Received != 27 {
		t.Fatalf("lost %d received %d, want 3 and 27 (sequence wraps too)", s.Lost, s.Received)
	}
	if s.Frames != 30 {
		t.Fatalf("%d frames, want 30: lost packets become silence", s.Frames)
	}
}

func TestLateAndRepeatedPacketsAreDropped(t *testing.T) {
	r := newRig(t)
	now := time.Unix(0, 0)
	for _, seq := range []uint16{1, 2, 3} {
		if err := r.leg.Packet(caller, packet(t, 0, seq, uint32(seq)*160, 7, silence(160)), now); err != nil {
			t.Fatal(err)
		}
	}
	for _, seq := range []uint16{3, 2} {
		if err := r.leg.Packet(caller, packet(t, 0, seq, uint32(seq)*160, 7, silence(160)), now); !errors.Is(err, ErrLate) {
			t.Fatalf("sequence %d again: %v", seq, err)
		}
	}
	if s := r.leg.Stats(); s.Late != 2 || s.Frames != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestPacketSizes(t *testing.T) {
	for _, ms := range []int{10, 20, 30, 60} {
		r := newRig(t)
		n := ms * 8
		for i := 0; i < 12; i++ {
			if err := r.leg.Packet(caller, packet(t, 0, uint16(i), uint32(i*n), 7, silence(n)), time.Unix(0, 0)); err != nil {
				t.Fatal(err)
			}
		}
		if want := uint64(12 * n / 160); r.leg.Stats().Frames != want {
			t.Fatalf("%d ms packets: %d frames, want %d", ms, r.leg.Stats().Frames, want)
		}
		for _, f := range r.frames {
			if len(f) != 160 {
				t.Fatalf("%d ms packets: a frame of %d bytes", ms, len(f))
			}
		}
	}
}

func TestJitter(t *testing.T) {
	r := newRig(t)
	t0 := time.Unix(0, 0)
	// Packets every 20 ms of media, arriving alternately 10 ms early and
	// late: |D| is 20 ms = 160 units after the first, so J tends to 160.
	for i := 0; i < 400; i++ {
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if i%2 == 1 {
			at = at.Add(10 * time.Millisecond)
		} else {
			at = at.Add(-10 * time.Millisecond)
		}
		if err := r.leg.Packet(caller, packet(t, 0, uint16(i), uint32(i*160), 7, silence(160)), at); err != nil {
			t.Fatal(err)
		}
	}
	if j := r.leg.Stats().Jitter; j < 19*time.Millisecond || j > 20*time.Millisecond {
		t.Fatalf("jitter %v, want about 20 ms", j)
	}
}

func TestTelephoneEventsAreConsumed(t *testing.T) {
	r := newRig(t)
	now := time.Unix(0, 0)
	seq := uint16(0)
	send := func(pt uint8, ts uint32, payload []byte) {
		t.Helper()
		seq++
		if err := r.leg.Packet(caller, packet(t, pt, seq, ts, 7, payload), now); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		send(0, uint32(i*160), silence(160))
	}
	// '#' as events only, 100 ms, three end packets; the audio stops.
	for d := 160; d <= 800; d += 160 {
		ev := rfc4733.Payload{Event: 11, End: d == 800, Volume: 10, Duration: uint16(d)}
		b, _ := ev.Marshal()
		send(101, 1600, b)
		if d == 800 {
			send(101, 1600, b)
			send(101, 1600, b)
		}
	}
	for i := 15; i < 30; i++ {
		send(0, uint32(i*160), silence(160))
	}
	if len(r.keys) != 2 || r.keys[0].Digit != '#' || r.keys[0].Source != dtmf.SourceRFC4733 {
		t.Fatalf("keys %+v, want one RFC 4733 '#'", r.keys)
	}
	s := r.leg.Stats()
	if s.Events != 7 || s.Frames != 30 {
		t.Fatalf("stats %+v: 7 events consumed, 30 frames (the event's 100 ms as masked silence)", s)
	}
	// The listener heard the flat tone where the key was.
	heard := 0
	for _, f := range r.frames {
		for _, c := range f {
			if c != 0xFF {
				heard++
				break
			}
		}
	}
	if heard < 4 {
		t.Fatalf("the flat tone was heard in %d frames, want the event's 5 or so", heard)
	}
}

func TestBadInput(t *testing.T) {
	r := newRig(t)
	now := time.Unix(0, 0)
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"short", []byte{0x80, 0, 0}, ErrMalformed},
		{"version 1", append([]byte{0x40}, make([]byte, 20)...), ErrMalformed},
		{"CSRC beyond the end", []byte{0x8F, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7}, ErrMalformed},
		{"padding beyond the end", []byte{0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 200}, ErrMalformed},
		{"payload type 96", packet(t, 96, 1, 0, 7, silence(160)), ErrPayloadType},
		{"bad event", packet(t, 101, 1, 0, 7, []byte{1, 2}), rfc4733.ErrShortPayload},
	} {
		if err := r.leg.Packet(caller, c.b, now); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := New(Params{}); !errors.Is(err, ErrParams) {
		t.Fatalf("New with nothing: %v", err)
	}
}

func TestNoAllocationsPerPacket(t *testing.T) {
	r := newRig(t)
	r.leg.p.Out = func([]byte) {}
	b := packet(t, 0, 0, 0, 7, silence(160))
	i := 0
	allocs := testing.AllocsPerRun(500, func() {
		i++
		b[2], b[3] = byte(i>>8), byte(i)
		ts := uint32(i * 160)
		b[4], b[5], b[6], b[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		_ = r.leg.Packet(caller, b, time.Unix(0, 0))
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per packet", allocs)
	}
}

// FuzzPacket: any datagram gets an error or is used; nothing panics, and
// only whole frames come out.
func FuzzPacket(f *testing.F) {
	f.Add(packet(f, 0, 1, 0, 7, silence(160)))
	f.Add(packet(f, 101, 1, 0, 7, []byte{1, 0x80, 0, 160}))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newRig(t)
		_ = r.leg.Packet(caller, b, time.Unix(0, 0))
		_ = r.leg.Packet(caller, b, time.Unix(0, 1))
		for _, fr := range r.frames {
			if len(fr) != 160 {
				t.Fatalf("frame of %d bytes", len(fr))
			}
		}
	})
}

// TestPCMUWithoutEvents: with no telephone-event agreed (EventPT 0), PCMU
// (payload type 0) is audio, not events.
func TestPCMUWithoutEvents(t *testing.T) {
	var frames int
	leg, err := New(Params{Masker: mask.New(), Law: g711.ULaw, AudioPT: 0, Out: func([]byte) { frames++ }})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	for i := range 5 {
		if err := leg.Packet(caller, packet(t, 0, uint16(i), uint32(i*160), 1, silence(160)), now); err != nil {
			t.Fatal(err)
		}
	}
	if s := leg.Stats(); s.Received != 5 || s.Events != 0 || frames != 5 {
		t.Fatalf("stats %+v, %d frames: want 5 audio packets and frames", s, frames)
	}
}

// TestLatchingOnlyToTheCaller: with a Source, the leg latches only onto
// the SDP's address or one inside the allow list (a caller behind a NAT),
// whoever sends first, and never re-latches; a stranger's audio and key
// presses reach nothing.
func TestLatchingOnlyToTheCaller(t *testing.T) {
	sdp := netip.MustParseAddrPort("192.0.2.10:4000")
	nat := netip.MustParseAddrPort("198.51.100.7:31000")
	far := netip.MustParseAddrPort("203.0.113.9:5000")
	allow := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	for _, c := range []struct {
		name   string
		src    Source
		first  netip.AddrPort // the stranger-or-caller that sends first
		caller netip.AddrPort // the one latched
	}{
		{"the SDP's address, after a stranger", Source{SDP: sdp, Allow: allow}, far, sdp},
		{"a NAT's address inside the allow list, after a stranger", Source{SDP: sdp, Allow: allow}, far, nat},
		{"a stranger on the SDP's host, another port", Source{SDP: sdp}, netip.AddrPortFrom(sdp.Addr(), 4002), sdp},
		{"latched before the leg (early media)", Source{SDP: sdp, Allow: allow, Latched: nat}, sdp, nat},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &rig{}
			m := mask.New(mask.WithKeyEvents(func(e dtmf.Event) { r.keys = append(r.keys, e) }))
			leg, err := New(Params{Masker: m, Law: g711.ULaw, AudioPT: 0, EventPT: 101, Source: c.src,
				Out: func(f []byte) { r.frames = append(r.frames, append([]byte(nil), f...)) }})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Unix(0, 0)
			// The first sender: a stranger's audio and key press (the
			// key 1, down and ended), all refused.
			if err := leg.Packet(c.first, packet(t, 0, 1, 0, 9, silence(160)), now); !errors.Is(err, ErrStranger) {
				t.Fatalf("first packet from %v: %v, want ErrStranger", c.first, err)
			}
			for i, flags := range []byte{0x0a, 0x8a} {
				if err := leg.Packet(c.first, packet(t, 101, uint16(2+i), 160, 9, []byte{1, flags, 0, 160}), now); !errors.Is(err, ErrStranger) {
					t.Fatalf("stranger's event: %v", err)
				}
			}
			// The caller's packets are taken, and latch.
			for i := range 3 {
				if err := leg.Packet(c.caller, packet(t, 0, uint16(10+i), uint32(i*160), 7, silence(160)), now); err != nil {
					t.Fatalf("caller's packet %d: %v", i, err)
				}
			}
			// No re-latching: an allowed address, or the SDP's, is a
			// stranger once another is latched.
			for _, other := range []netip.AddrPort{sdp, nat, far} {
				if other == c.caller {
					continue
				}
				if err := leg.Packet(other, packet(t, 0, 20, 3200, 7, silence(160)), now); !errors.Is(err, ErrStranger) {
					t.Fatalf("packet from %v after latching to %v: %v", other, c.caller, err)
				}
			}
			s := leg.Stats()
			if s.Remote != c.caller || s.Received != 3 || s.Events != 0 || len(r.keys) != 0 || s.Ignored < 3 {
				t.Fatalf("stats %+v, keys %v: want latched to %v", s, r.keys, c.caller)
			}
		})
	}
}

func TestSourceAccepts(t *testing.T) {
	s := Source{SDP: netip.MustParseAddrPort("192.0.2.10:4000"), Allow: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}
	for addr, want := range map[string]bool{
		"192.0.2.10:4000":          true,
		"[::ffff:192.0.2.10]:4000": true,
		"192.0.2.10:4001":          false,
		"198.51.100.200:1":         true,
		"203.0.113.1:4000":         false,
	} {
		if got := s.Accepts(netip.MustParseAddrPort(addr)); got != want {
			t.Errorf("%s: %v, want %v", addr, got, want)
		}
	}
	if !(Source{}).Accepts(netip.MustParseAddrPort("203.0.113.1:4000")) {
		t.Error("a zero Source refuses")
	}
}
