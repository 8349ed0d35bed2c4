package rfc4733

import (
	"bytes"
	"errors"
	"testing"
)

func TestPayloadRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		p    Payload
		wire []byte
	}{
		{"zero", Payload{}, []byte{0, 0, 0, 0}},
		{"digit 5 update", Payload{Event: 5, Volume: 10, Duration: 800}, []byte{5, 10, 0x03, 0x20}},
		{"hash end", Payload{Event: 11, End: true, Volume: 63, Duration: 0xFFFF}, []byte{11, 0xBF, 0xFF, 0xFF}},
		{"non-DTMF flash", Payload{Event: 16, Volume: 0, Duration: 1}, []byte{16, 0, 0, 1}},
		{"event 255", Payload{Event: 255, End: true, Duration: 0x1234}, []byte{255, 0x80, 0x12, 0x34}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(got, tt.wire) {
				t.Fatalf("Marshal = % x, want % x", got, tt.wire)
			}
			buf := make([]byte, 8)
			n, err := tt.p.MarshalTo(buf)
			if err != nil || n != PayloadSize || !bytes.Equal(buf[:n], tt.wire) {
				t.Fatalf("MarshalTo = %d, % x, %v", n, buf[:n], err)
			}
			var back Payload
			if err := back.Unmarshal(tt.wire); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if back != tt.p {
				t.Fatalf("Unmarshal = %+v, want %+v", back, tt.p)
			}
		})
	}
}

func TestUnmarshalReservedBitAndTrailingBytes(t *testing.T) {
	var p Payload
	// R bit set, then a second report that must be ignored.
	if err := p.Unmarshal([]byte{3, 0xC0 | 7, 0x01, 0x40, 9, 0x80, 0, 160}); err != nil {
		t.Fatal(err)
	}
	want := Payload{Event: 3, End: true, Volume: 7, Duration: 320}
	if p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
}

func TestPayloadErrors(t *testing.T) {
	for n := range PayloadSize {
		var p Payload
		if err := p.Unmarshal(make([]byte, n)); !errors.Is(err, ErrShortPayload) {
			t.Errorf("Unmarshal(%d bytes) = %v, want ErrShortPayload", n, err)
		}
		if m, err := (Payload{}).MarshalTo(make([]byte, n)); m != 0 || !errors.Is(err, ErrBufferTooSmall) {
			t.Errorf("MarshalTo(%d bytes) = %d, %v, want ErrBufferTooSmall", n, m, err)
		}
	}
	var p Payload
	if err := p.Unmarshal(nil); !errors.Is(err, ErrShortPayload) {
		t.Errorf("Unmarshal(nil) = %v", err)
	}
	for _, v := range []uint8{64, 100, 255} {
		if _, err := (Payload{Volume: v}).Marshal(); !errors.Is(err, ErrVolume) {
			t.Errorf("Marshal(volume %d) = %v, want ErrVolume", v, err)
		}
		buf := []byte{1, 2, 3, 4}
		if _, err := (Payload{Volume: v}).MarshalTo(buf); !errors.Is(err, ErrVolume) || !bytes.Equal(buf, []byte{1, 2, 3, 4}) {
			t.Errorf("MarshalTo(volume %d) = %v, buffer % x: want ErrVolume and the buffer untouched", v, err, buf)
		}
	}
}

func TestDigits(t *testing.T) {
	const all = "0123456789*#ABCD"
	for code := range 256 {
		d, ok := EventDigit(uint8(code))
		if code < 16 {
			if !ok || d != all[code] {
				t.Errorf("EventDigit(%d) = %q, %v", code, d, ok)
			}
			back, ok := DigitEvent(d)
			if !ok || int(back) != code {
				t.Errorf("DigitEvent(%q) = %d, %v, want %d", d, back, ok, code)
			}
		} else if ok {
			t.Errorf("EventDigit(%d) = %q, true: want not DTMF", code, d)
		}
	}
	for _, lower := range []byte("abcd") {
		code, ok := DigitEvent(lower)
		if !ok || code != lower-'a'+12 {
			t.Errorf("DigitEvent(%q) = %d, %v", lower, code, ok)
		}
	}
	for _, bad := range []byte("eEx /:@\x00\xff") {
		if code, ok := DigitEvent(bad); ok {
			t.Errorf("DigitEvent(%q) = %d, true", bad, code)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{5})
	f.Add([]byte{5, 10, 0x03})
	f.Add([]byte{5, 10, 0x03, 0x20})
	f.Add([]byte{11, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{3, 0xC7, 0x01, 0x40, 9, 0x80, 0, 160})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Payload
		err := p.Unmarshal(b)
		if len(b) < PayloadSize {
			if !errors.Is(err, ErrShortPayload) {
				t.Fatalf("Unmarshal(% x) = %v, want ErrShortPayload", b, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Unmarshal(% x) = %v", b, err)
		}
		if p.Volume > MaxVolume {
			t.Fatalf("volume %d out of range", p.Volume)
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%+v) = %v", p, err)
		}
		want := []byte{b[0], b[1] &^ 0x40, b[2], b[3]} // the R bit is dropped
		if !bytes.Equal(out, want) {
			t.Fatalf("round trip % x -> %+v -> % x, want % x", b[:PayloadSize], p, out, want)
		}
		var q Payload
		if err := q.Unmarshal(out); err != nil || q != p {
			t.Fatalf("second round trip: %+v, %v, want %+v", q, err, p)
		}
	})
}
