package rfc4733

import (
	"encoding/binary"
	"testing"
)

// A fuzz record is recordSize bytes:
//
//	op  ts(4)  event  flags  duration(2)  dnow(2)
//
// op bit 0: a tick instead of a packet; bit 1: ts is absolute, else a signed
// 16-bit delta (ts[0:2]) from the previous packet's timestamp, times 256 when
// bit 2 is set, or 0xFFFF plus a signed 8-bit delta (ts[2]) when bit 3 is set
// (a segment boundary); bit 4: the event code is taken whole, else modulo 18
// (mostly DTMF); bit 6: the clock goes back by dnow instead of forward;
// bit 7: Reset before the step. flags: bit 7 is E, the rest the volume.
const recordSize = 11

func encodeSteps(steps []step) []byte {
	var out []byte
	var prev int64
	for _, s := range steps {
		rec := make([]byte, recordSize)
		rec[0] = 2 | 16
		if s.tick {
			rec[0] |= 1
		}
		binary.BigEndian.PutUint32(rec[1:5], s.ts)
		rec[5] = s.p.Event
		rec[6] = s.p.Volume & 0x3f
		if s.p.End {
			rec[6] |= 0x80
		}
		binary.BigEndian.PutUint16(rec[7:9], s.p.Duration)
		d := min(s.now-prev, 0xFFFF)
		if d < 0 {
			rec[0] |= 64
			d = min(-d, 0xFFFF)
			prev -= d
		} else {
			prev += d
		}
		binary.BigEndian.PutUint16(rec[9:11], uint16(d))
		out = append(out, rec...)
	}
	return out
}

func FuzzReceiver(f *testing.F) {
	f.Add([]byte{})
	f.Add(encodeSteps(press(5, 1000, 800, 160, 0)))
	f.Add(encodeSteps(append(press(5, 1000, 800, 160, 0)[:3], press(5, 2600, 800, 160, 1600)...)))
	f.Add(encodeSteps(press(1, 0xFFFF8000, maxSegment+3000, 400, 0)))
	f.Add(encodeSteps([]step{
		pk(1000, 5, 400, false, 1400), tk(9000), pk(1000, 5, 800, true, 9100),
		pk(0xFFFFFF00, 16, 400, false, 9200), pk(0x100, 11, 400, true, 9300),
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReceiver(WithTimeout(uint32(len(data)%5000 + 1)))
		var (
			ts, prevTs   uint32
			now          int64
			open         bool
			openDigit    byte
			openTs       uint32
			starts, ends int
		)
		check := func(e Edge) {
			switch e.Kind {
			case None:
				return
			case Start, StartEnd:
				if open {
					t.Fatalf("%v of %q while %q is open", e.Kind, e.Digit, openDigit)
				}
				if _, ok := DigitEvent(e.Digit); !ok {
					t.Fatalf("%v of non-digit %q", e.Kind, e.Digit)
				}
				starts++
				if e.Kind == StartEnd {
					ends++
				} else {
					open, openDigit, openTs = true, e.Digit, e.Timestamp
				}
			case End:
				if !open {
					t.Fatalf("End of %q with no open press", e.Digit)
				}
				if e.Digit != openDigit || e.Timestamp != openTs {
					t.Fatalf("End of %q@%d, open is %q@%d", e.Digit, e.Timestamp, openDigit, openTs)
				}
				open = false
				ends++
			default:
				t.Fatalf("unknown kind %v", e.Kind)
			}
			if ends > starts {
				t.Fatalf("%d ends, %d starts", ends, starts)
			}
		}
		for ; len(data) >= recordSize; data = data[recordSize:] {
			rec := data[:recordSize]
			op := rec[0]
			if op&128 != 0 {
				r.Reset()
				open = false
			}
			dnow := int64(binary.BigEndian.Uint16(rec[9:11]))
			if op&64 != 0 {
				now -= dnow
			} else {
				now += dnow
			}
			var c Change
			if op&1 != 0 {
				c = r.Tick(now)
			} else {
				switch {
				case op&2 != 0:
					ts = binary.BigEndian.Uint32(rec[1:5])
				case op&8 != 0:
					ts = prevTs + maxSegment + uint32(int32(int8(rec[3])))
				case op&4 != 0:
					ts = prevTs + uint32(int32(int16(binary.BigEndian.Uint16(rec[1:3])))*256)
				default:
					ts = prevTs + uint32(int32(int16(binary.BigEndian.Uint16(rec[1:3]))))
				}
				prevTs = ts
				var p Payload
				if err := p.Unmarshal(rec[5:9]); err != nil {
					t.Fatal(err)
				}
				if op&16 == 0 {
					p.Event %= 18
				}
				c = r.Packet(ts, p, now)
			}
			checkChangeShape(t, c)
			check(c.Prev)
			check(c.Edge)
		}
		// Whatever is open ends by timeout.
		if open {
			c := r.Tick(now + 1<<33)
			if c.Kind != End || !c.TimedOut {
				t.Fatalf("open press not ended by the timeout: %+v", c)
			}
			check(c.Edge)
		}
	})
}
