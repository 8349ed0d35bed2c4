package rfc4733

import (
	"fmt"
	"slices"
	"testing"
)

// step is one call on a Receiver: a packet, or a tick when tick is set, and
// the edges it must report, Prev first.
type step struct {
	tick bool
	ts   uint32
	p    Payload
	now  int64
	want []Edge
}

func pk(ts uint32, event uint8, dur uint16, end bool, now int64, want ...Edge) step {
	return step{ts: ts, p: Payload{Event: event, End: end, Volume: 10, Duration: dur}, now: now, want: want}
}

func tk(now int64, want ...Edge) step { return step{tick: true, now: now, want: want} }

func st(d byte, ts uint32, dur uint32) Edge {
	return Edge{Kind: Start, Digit: d, Timestamp: ts, Duration: dur}
}

func se(d byte, ts uint32, dur uint32) Edge {
	return Edge{Kind: StartEnd, Digit: d, Timestamp: ts, Duration: dur}
}

func en(d byte, ts uint32, dur uint32) Edge {
	return Edge{Kind: End, Digit: d, Timestamp: ts, Duration: dur}
}

// to is an End without end packet (timeout or preempted).
func to(d byte, ts uint32, dur uint32) Edge {
	return Edge{Kind: End, Digit: d, Timestamp: ts, Duration: dur, TimedOut: true}
}

// edges flattens a Change into its edges in the order they happened.
func edges(c Change) []Edge {
	var out []Edge
	if c.Prev.Kind != None {
		out = append(out, c.Prev)
	}
	if c.Kind != None {
		out = append(out, c.Edge)
	}
	return out
}

func (s step) apply(r *Receiver) Change {
	if s.tick {
		return r.Tick(s.now)
	}
	return r.Packet(s.ts, s.p, s.now)
}

func (s step) String() string {
	if s.tick {
		return fmt.Sprintf("tick(now=%d)", s.now)
	}
	return fmt.Sprintf("packet(ts=%d %+v now=%d)", s.ts, s.p, s.now)
}

func runSteps(t *testing.T, r *Receiver, steps []step) {
	t.Helper()
	for i, s := range steps {
		c := s.apply(r)
		checkChangeShape(t, c)
		if got := edges(c); !slices.Equal(got, s.want) {
			t.Fatalf("step %d %v:\n got  %+v\n want %+v", i, s, got, s.want)
		}
	}
}

// checkChangeShape checks the documented shape of every Change.
func checkChangeShape(t *testing.T, c Change) {
	t.Helper()
	if c.Prev.Kind != None && c.Prev.Kind != End {
		t.Fatalf("Prev.Kind = %v, want none or end", c.Prev.Kind)
	}
	if c.Prev.Kind == End && c.Kind != Start && c.Kind != StartEnd {
		t.Fatalf("Prev is set with Kind %v", c.Kind)
	}
	if c.Kind == None && c.Edge != (Edge{}) || c.Prev.Kind == None && c.Prev != (Edge{}) {
		t.Fatalf("None edge with fields set: %+v", c)
	}
}

func TestReceiverSequences(t *testing.T) {
	const top = 0xFFFFFE00 // a timestamp 512 units before wrapping
	tests := []struct {
		name  string
		steps []step
	}{
		{"normal event with three end packets", []step{
			pk(1000, 5, 400, false, 1400, st('5', 1000, 400)),
			pk(1000, 5, 800, false, 1800),
			pk(1000, 5, 1200, false, 2200),
			pk(1000, 5, 1280, true, 2280, en('5', 1000, 1280)),
			pk(1000, 5, 1280, true, 2300),
			pk(1000, 5, 1280, true, 2320),
			tk(100000),
		}},
		{"first packets lost, marker with them", []step{
			pk(1000, 9, 1200, false, 2200, st('9', 1000, 1200)),
			pk(1000, 9, 1600, true, 2600, en('9', 1000, 1600)),
			pk(1000, 9, 1600, true, 2620),
		}},
		{"retransmitted start packet starts once", []step{
			pk(1000, 1, 0, false, 1000, st('1', 1000, 0)),
			pk(1000, 1, 0, false, 1005),
			pk(1000, 1, 0, false, 1010),
			pk(1000, 1, 400, false, 1400),
			pk(1000, 1, 800, true, 1800, en('1', 1000, 800)),
		}},
		{"only end packets arrive: start and end at once", []step{
			pk(1000, 10, 960, true, 1960, se('*', 1000, 960)),
			pk(1000, 10, 960, true, 1980),
			pk(1000, 10, 960, true, 2000),
			tk(50000),
		}},
		{"end packets lost: timeout in Tick", []step{
			pk(1000, 5, 400, false, 1400, st('5', 1000, 400)),
			pk(1000, 5, 800, false, 1800),
			tk(1800 + DefaultTimeout - 1),
			tk(1800+DefaultTimeout, to('5', 1000, 800)),
			tk(1800 + 2*DefaultTimeout),
			pk(1000, 5, 1280, true, 1800+2*DefaultTimeout), // late end packet
			pk(1000, 5, 1600, false, 1800+2*DefaultTimeout),
		}},
		{"end packets lost: timeout noticed by the next packet", []step{
			pk(1000, 5, 400, false, 1400, st('5', 1000, 400)),
			pk(1000, 5, 800, false, 1800),
			pk(1000, 5, 1280, true, 1800+DefaultTimeout, to('5', 1000, 800)),
			pk(1000, 5, 1280, true, 1800+DefaultTimeout+20),
		}},
		{"end packets lost: timed out, then the next key in the same call", []step{
			pk(1000, 5, 400, false, 1400, st('5', 1000, 400)),
			pk(1000, 5, 800, false, 1800),
			pk(9000, 6, 400, false, 9400, to('5', 1000, 800), st('6', 9000, 400)),
			pk(9000, 6, 800, true, 9800, en('6', 9000, 800)),
		}},
		{"end packets lost: the next key ends the old one first", []step{
			pk(1000, 5, 400, false, 1400, st('5', 1000, 400)),
			pk(1000, 5, 800, false, 1800),
			pk(2600, 6, 400, false, 3000, to('5', 1000, 800), st('6', 2600, 400)),
			pk(2600, 6, 800, true, 3400, en('6', 2600, 800)),
			pk(2600, 6, 800, true, 3420),
			tk(100000),
		}},
		{"the next key's first packet is its end packet", []step{
			pk(1000, 5, 400, false, 1400, st('5', 1000, 400)),
			pk(2600, 11, 800, true, 3400, to('5', 1000, 400), se('#', 2600, 800)),
			pk(2600, 11, 800, true, 3420),
		}},
		{"same digit twice, new timestamps: two presses", []step{
			pk(1000, 3, 400, false, 1400, st('3', 1000, 400)),
			pk(1000, 3, 800, true, 1800, en('3', 1000, 800)),
			pk(1000, 3, 800, true, 1820),
			pk(1000, 3, 800, true, 1840),
			pk(2600, 3, 400, false, 3000, st('3', 2600, 400)),
			pk(2600, 3, 800, true, 3400, en('3', 2600, 800)),
			pk(2600, 3, 800, true, 3420),
		}},
		{"same digit twice, first one's end packets lost: two presses", []step{
			pk(1000, 3, 400, false, 1400, st('3', 1000, 400)),
			pk(1000, 3, 800, false, 1800),
			pk(2600, 3, 400, false, 3000, to('3', 1000, 800), st('3', 2600, 400)),
			pk(2600, 3, 800, true, 3400, en('3', 2600, 800)),
		}},
		{"same digit again 0xFFFF later after a short press is a new press", []step{
			pk(1000, 3, 400, false, 1400, st('3', 1000, 400)),
			pk(1000, 3, 800, false, 1800),
			pk(1000+0xFFFF, 3, 400, false, 1400+0xFFFF, to('3', 1000, 800), st('3', 1000+0xFFFF, 400)),
		}},
		{"reordered updates and end packets", []step{
			pk(1000, 4, 800, false, 1800, st('4', 1000, 800)),
			pk(1000, 4, 400, false, 1810), // late
			pk(1000, 4, 1280, true, 2280, en('4', 1000, 1280)),
			pk(1000, 4, 1200, false, 2290), // late update after the end
			pk(1000, 4, 1280, true, 2300),
		}},
		{"late packets of the previous event during the next", []step{
			pk(1000, 1, 400, false, 1400, st('1', 1000, 400)),
			pk(1000, 1, 800, true, 1800, en('1', 1000, 800)),
			pk(2600, 2, 400, false, 3000, st('2', 2600, 400)),
			pk(1000, 1, 800, true, 3010),
			pk(1000, 1, 600, false, 3020),
			pk(2600, 2, 800, true, 3400, en('2', 2600, 800)),
		}},
		{"older timestamp than the current event is ignored", []step{
			pk(5000, 1, 400, false, 5400, st('1', 5000, 400)),
			pk(4000, 2, 400, false, 5410),
			pk(4000, 2, 800, true, 5420),
			pk(5000, 1, 800, true, 5800, en('1', 5000, 800)),
			pk(4000, 2, 400, false, 5810),
		}},
		{"timestamp wrap-around", []step{
			pk(top, 7, 400, false, 1400, st('7', top, 400)),
			pk(top, 7, 800, true, 1800, en('7', top, 800)),
			pk(0x200, 8, 400, false, 2200, st('8', 0x200, 400)), // newer, across the wrap
			pk(top, 7, 800, true, 2210),                         // older, across the wrap
			pk(0x200, 8, 800, true, 2600, en('8', 0x200, 800)),
		}},
		{"non-DTMF events are ignored", []step{
			pk(1000, 16, 400, false, 1400),
			pk(1000, 16, 800, true, 1800),
			pk(2600, 32, 800, true, 3400),
			pk(4000, 0, 400, false, 4400, st('0', 4000, 400)),
			pk(4000, 0, 800, true, 4800, en('0', 4000, 800)),
			pk(6000, 255, 400, false, 6400),
			tk(100000),
		}},
		{"a non-DTMF event ends an open DTMF event", []step{
			pk(1000, 15, 400, false, 1400, st('D', 1000, 400)),
			pk(2600, 16, 400, false, 3000, to('D', 1000, 400)),
			pk(1000, 15, 800, true, 3010), // older than the flash: ignored
			tk(100000),
		}},
		{"a packet naming another event on the same timestamp is ignored", []step{
			pk(1000, 5, 400, false, 1400, st('5', 1000, 400)),
			pk(1000, 6, 800, false, 1800),
			pk(1000, 6, 800, true, 1810),
			pk(1000, 5, 1200, true, 2200, en('5', 1000, 1200)),
		}},
		{"timestamp jump far back is a restarted stream", []step{
			pk(1_000_000, 1, 400, false, 1400, st('1', 1_000_000, 400)),
			pk(1_000_000, 1, 800, true, 1800, en('1', 1_000_000, 800)),
			pk(1_000_000-200_000, 2, 400, false, 2200),        // within 2^18: late
			pk(1000, 2, 400, false, 2600, st('2', 1000, 400)), // 999000 back: restart
			pk(900, 2, 400, false, 2610),                      // late in the new stream
			pk(1000, 2, 800, true, 3000, en('2', 1000, 800)),
		}},
		{"clock going backwards never times out", []step{
			pk(1000, 5, 400, false, 1400, st('5', 1000, 400)),
			tk(-1 << 62),
			tk(1400),
			pk(1000, 5, 800, true, 1800, en('5', 1000, 800)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, NewReceiver(), tt.steps)
		})
	}
}

// press is a conforming sender's packets for one key press of total
// duration, starting at RTP timestamp ts0 and receiver time now0, with an
// update every interval units and the end packet sent three times. Events
// longer than 0xFFFF are split into segments (RFC 4733 section 2.5.1.3):
// the last packet of a segment has duration 0xFFFF and the next segment's
// timestamp is 0xFFFF later.
func press(code uint8, ts0 uint32, total, interval uint32, now0 int64) []step {
	var out []step
	seg := ts0
	var segStart uint32 // elapsed time at which seg starts
	for elapsed := interval; ; elapsed += interval {
		if elapsed > total {
			elapsed = total
		}
		for elapsed-segStart > maxSegment {
			out = append(out, pk(seg, code, maxSegment, false, now0+int64(segStart)+maxSegment))
			seg += maxSegment
			segStart += maxSegment
		}
		dur := uint16(elapsed - segStart)
		now := now0 + int64(elapsed)
		if elapsed == total {
			for i := range 3 {
				out = append(out, pk(seg, code, dur, true, now+int64(i)*20))
			}
			return out
		}
		out = append(out, pk(seg, code, dur, false, now))
	}
}

func TestReceiverLongEvent(t *testing.T) {
	const total = 3*maxSegment + 12345 // 25 s at 8000 Hz: four segments
	for _, ts0 := range []uint32{1000, 0xFFFF0000, 0xFFFFFFFF - 2*maxSegment} {
		for _, interval := range []uint32{160, 400} {
			t.Run(fmt.Sprintf("ts0=%#x interval=%d", ts0, interval), func(t *testing.T) {
				steps := press(2, ts0, total, interval, 0)
				steps[0].want = []Edge{st('2', ts0, interval)}
				for i := range steps {
					if steps[i].p.End {
						steps[i].want = []Edge{en('2', ts0, total)}
						break
					}
				}
				runSteps(t, NewReceiver(), steps)
			})
		}
	}
}

func TestReceiverLongEventEdges(t *testing.T) {
	t.Run("end packet opens the last segment", func(t *testing.T) {
		const total = maxSegment + 40
		steps := press(12, 1000, total, 400, 0)
		last := steps[len(steps)-3]
		if last.ts != 1000+maxSegment || last.p.Duration != 40 || steps[len(steps)-4].ts != 1000 {
			t.Fatalf("the sender model did not put the end packet first in segment 2: %v", steps[len(steps)-5:])
		}
		steps[0].want = []Edge{st('A', 1000, 400)}
		steps[len(steps)-3].want = []Edge{en('A', 1000, total)}
		runSteps(t, NewReceiver(), steps)
	})
	t.Run("same key 0xFFFF after a long press that ended is a new press", func(t *testing.T) {
		const total = 0xF000
		steps := press(12, 1000, total, 400, 0)
		steps[0].want = []Edge{st('A', 1000, 400)}
		steps[len(steps)-3].want = []Edge{en('A', 1000, total)}
		steps = append(steps, pk(1000+maxSegment, 12, 400, false, maxSegment+400, st('A', 1000+maxSegment, 400)))
		runSteps(t, NewReceiver(), steps)
	})
	t.Run("same key 0xFFFF after a 6 s press whose end packets were lost is a new press", func(t *testing.T) {
		const total = 6 * 8000
		steps := press(12, 1000, total, 400, 0)
		steps = steps[:len(steps)-3] // lose the end packets
		steps[0].want = []Edge{st('A', 1000, 400)}
		last := steps[len(steps)-1]
		steps = append(steps,
			pk(1000+maxSegment, 12, 400, false, maxSegment+400,
				to('A', 1000, uint32(last.p.Duration)), st('A', 1000+maxSegment, 400)))
		runSteps(t, NewReceiver(), steps)
	})
	t.Run("known trade-off: same key 0xFFFF after a 7.5 s press whose end packets were lost is absorbed", func(t *testing.T) {
		const total = 60000
		steps := press(12, 1000, total, 400, 0)
		steps = steps[:len(steps)-3] // lose the end packets
		steps[0].want = []Edge{st('A', 1000, 400)}
		last := steps[len(steps)-1]
		steps = append(steps,
			tk(last.now+DefaultTimeout, to('A', 1000, uint32(last.p.Duration))),
			pk(1000+maxSegment, 12, 400, false, maxSegment+400),
			pk(1000+maxSegment, 12, 800, true, maxSegment+800))
		runSteps(t, NewReceiver(), steps)
	})
}

func TestReceiverLongEventWithLoss(t *testing.T) {
	const total = 2*maxSegment + 4000
	var ts0 uint32 = 0xFFFF8000 // segments wrap the timestamp
	steps := press(7, ts0, total, 160, 0)
	seg2 := ts0 + maxSegment

	t.Run("packets lost around each segment boundary and every 5th", func(t *testing.T) {
		r := NewReceiver()
		var got []Edge
		for i, s := range steps {
			if i%5 == 3 || s.p.Duration > maxSegment-1000 || (s.ts != ts0 && s.p.Duration < 1000) {
				continue
			}
			got = append(got, edges(s.apply(r))...)
		}
		want := []Edge{st('7', ts0, 160), en('7', ts0, total)}
		if !slices.Equal(got, want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})

	t.Run("outage longer than the timeout at a segment boundary: still one press", func(t *testing.T) {
		r := NewReceiver()
		var got []Edge
		for _, s := range steps {
			// Drop the last 1 s of the first segment and the first 1 s of
			// the second, ticking the clock through the gap.
			if s.ts == ts0 && s.p.Duration > maxSegment-8000 ||
				s.ts == seg2 && s.p.Duration < 8000 {
				got = append(got, edges(r.Tick(s.now))...)
				continue
			}
			got = append(got, edges(s.apply(r))...)
		}
		if len(got) != 2 || got[0].Kind != Start || got[1].Kind != End || !got[1].TimedOut {
			t.Fatalf("got %+v, want one Start and one timed-out End", got)
		}
	})

	t.Run("late packet of an earlier segment is ignored", func(t *testing.T) {
		r := NewReceiver()
		var got []Edge
		for i, s := range steps {
			got = append(got, edges(s.apply(r))...)
			if s.ts == seg2 && i%50 == 0 {
				late := pk(ts0, 7, 5000, false, s.now)
				got = append(got, edges(late.apply(r))...)
			}
		}
		want := []Edge{st('7', ts0, 160), en('7', ts0, total)}
		if !slices.Equal(got, want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})
}

func TestReceiverTimeoutOption(t *testing.T) {
	r := NewReceiver(WithTimeout(800))
	runSteps(t, r, []step{
		pk(1000, 5, 400, false, 1400, st('5', 1000, 400)),
		tk(2199),
		tk(2200, to('5', 1000, 400)),
	})
	r = NewReceiver(WithTimeout(0))
	if r.timeout != DefaultTimeout {
		t.Fatalf("WithTimeout(0): timeout %d, want the default", r.timeout)
	}
}

func TestReceiverReset(t *testing.T) {
	r := NewReceiver(WithTimeout(800))
	runSteps(t, r, []step{
		pk(1000, 5, 400, false, 1400, st('5', 1000, 400)),
	})
	r.Reset()
	if r.timeout != 800 {
		t.Fatalf("Reset lost the timeout option")
	}
	runSteps(t, r, []step{
		tk(100000), // nothing open any more
		pk(500, 6, 400, false, 100400, st('6', 500, 400)), // older than before Reset: a new stream
		tk(101200, to('6', 500, 400)),
	})
}

func TestReceiverAllocs(t *testing.T) {
	steps := press(5, 1000, 3*maxSegment, 160, 0)
	r := NewReceiver()
	allocs := testing.AllocsPerRun(10, func() {
		r.Reset()
		for _, s := range steps {
			_ = s.apply(r)
		}
		_ = r.Tick(1 << 40)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}

func TestChangeKindString(t *testing.T) {
	for k, want := range map[ChangeKind]string{None: "none", Start: "start", End: "end", StartEnd: "start-end", 9: "unknown"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), want)
		}
	}
}

// BenchmarkReceiverPacket feeds realistic key presses (100 ms, an update
// every 20 ms, three end packets) one packet per iteration.
func BenchmarkReceiverPacket(b *testing.B) {
	var steps []step
	ts := uint32(0xFFFF0000)
	for i := range 16 {
		steps = append(steps, press(uint8(i), ts, 800, 160, int64(ts))...)
		ts += 1600
	}
	r := NewReceiver()
	var n int
	b.ReportAllocs()
	j := 0
	for b.Loop() {
		if j == len(steps) {
			j = 0
			r.Reset()
		}
		s := &steps[j]
		j++
		if c := r.Packet(s.ts, s.p, s.now); c.Kind != None {
			n++
		}
	}
	if n == 0 {
		b.Fatal("no key presses")
	}
}

// BenchmarkUnmarshal parses one payload per iteration.
func BenchmarkUnmarshal(b *testing.B) {
	wire := []byte{5, 0x8a, 0x03, 0x20}
	var p Payload
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Unmarshal(wire); err != nil {
			b.Fatal(err)
		}
	}
}
