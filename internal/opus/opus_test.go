//go:build cgo

package opus

import (
	"errors"
	"math"
	"testing"
)

// tone is n samples of a sine of freq Hz at amplitude amp, from sample off.
func tone(dst []int16, off int, freq, amp float64) {
	for i := range dst {
		dst[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(off+i)/SampleRate)))
	}
}

func rms(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

// goertzelRMS is the RMS of the component of s at freq Hz.
func goertzelRMS(s []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / SampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range s {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return math.Sqrt(2*p) / float64(len(s))
}

func db(x float64) float64 { return 20 * math.Log10(x) }

// roundTrip encodes and decodes frames of a tone and returns the decoded
// audio.
func roundTrip(t *testing.T, freq, amp float64, frames int) (in, out []int16) {
	t.Helper()
	enc, err := NewEncoder(0)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	in = make([]int16, frames*FrameSamples)
	tone(in, 0, freq, amp)
	out = make([]int16, 0, len(in))
	pkt := make([]byte, MaxPacket)
	pcm := make([]int16, MaxFrameSamples)
	for f := range frames {
		n, err := enc.Encode(pkt, in[f*FrameSamples:(f+1)*FrameSamples])
		if err != nil {
			t.Fatal(err)
		}
		if n < 2 || n > 200 {
			t.Fatalf("frame %d: packet of %d bytes at 24 kbit/s", f, n)
		}
		m, err := dec.Decode(pcm, pkt[:n])
		if err != nil {
			t.Fatal(err)
		}
		if m != FrameSamples {
			t.Fatalf("frame %d: decoded %d samples, want %d", f, m, FrameSamples)
		}
		out = append(out, pcm[:m]...)
	}
	return in, out
}

func TestRoundTripTone(t *testing.T) {
	for _, c := range []struct{ freq, amp float64 }{
		{1000, 8000}, // about -12 dBFS
		{1000, 1000}, // about -30 dBFS
		{440, 16000}, // about -6 dBFS
		{3000, 4000}, // near the top of narrowband
	} {
		in, out := roundTrip(t, c.freq, c.amp, 100)
		// Skip the first 200 ms: the encoder's and decoder's start.
		steady := out[SampleRate/5:]
		want := goertzelRMS(in[SampleRate/5:], c.freq)
		got := goertzelRMS(steady, c.freq)
		total := rms(steady)
		t.Logf("%.0f Hz at %.0f: tone %.2f dB, all %.2f dB relative to the input", c.freq, c.amp, db(got/want), db(total/want))
		if d := db(got / want); math.Abs(d) > 1 {
			t.Errorf("%.0f Hz at %.0f: the tone came out at %.2f dB, want within 1 dB", c.freq, c.amp, d)
		}
		// Little else than the tone: distortion and noise 20 dB below.
		if resid := math.Sqrt(math.Max(total*total-got*got, 0)); db(resid/got) > -20 {
			t.Errorf("%.0f Hz: residual %.1f dB below the tone, want 20 dB", c.freq, -db(resid/got))
		}
	}
}

func TestSilenceStaysQuiet(t *testing.T) {
	_, out := roundTrip(t, 1000, 0, 25)
	if r := rms(out); r > 10 {
		t.Errorf("silence came out at RMS %.1f", r)
	}
}

func TestConcealment(t *testing.T) {
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	pcm := make([]int16, FrameSamples)
	n, err := dec.Decode(pcm, nil)
	if err != nil || n != FrameSamples {
		t.Fatalf("concealing a lost frame: %d, %v", n, err)
	}
	if _, err := dec.Decode(make([]int16, 150), nil); !errors.Is(err, ErrBuffer) {
		t.Errorf("concealing 150 samples: %v, want ErrBuffer", err)
	}
}

func TestErrors(t *testing.T) {
	if _, err := NewEncoder(100); !errors.Is(err, ErrConfig) {
		t.Errorf("bitrate 100: %v", err)
	}
	enc, err := NewEncoder(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Encode(make([]byte, MaxPacket), make([]int16, 100)); !errors.Is(err, ErrBuffer) {
		t.Errorf("100 samples: %v", err)
	}
	if _, err := enc.Encode(nil, make([]int16, FrameSamples)); !errors.Is(err, ErrBuffer) {
		t.Errorf("no packet buffer: %v", err)
	}
	enc.Close()
	enc.Close()
	if _, err := enc.Encode(make([]byte, MaxPacket), make([]int16, FrameSamples)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}

	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	// TOC byte 0xFB: code 3 (arbitrary frames), then a frame count of 0.
	if _, err := dec.Decode(make([]int16, MaxFrameSamples), []byte{0xFB, 0x00}); !errors.Is(err, ErrPacket) {
		t.Errorf("a bad packet: %v, want ErrPacket", err)
	}
	dec.Close()
	dec.Close()
	if _, err := dec.Decode(make([]int16, FrameSamples), []byte{0x08}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// encodePackets is n packets of a 1 kHz tone.
func encodePackets(t testing.TB, n int) [][]byte {
	t.Helper()
	enc, err := NewEncoder(0)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	pcm := make([]int16, FrameSamples)
	var pkts [][]byte
	for f := range n {
		tone(pcm, f*FrameSamples, 1000, 8000)
		buf := make([]byte, MaxPacket)
		k, err := enc.Encode(buf, pcm)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, buf[:k])
	}
	return pkts
}

// FuzzDecode: any bytes give samples or an error, never a crash, and the
// decoder keeps decoding good packets afterwards.
func FuzzDecode(f *testing.F) {
	for _, p := range encodePackets(f, 5) {
		f.Add(p)
	}
	f.Add([]byte{})
	f.Add([]byte{0xFB, 0x00})
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{0x03, 0x00, 0x00})
	good := encodePackets(f, 1)[0]
	f.Fuzz(func(t *testing.T, pkt []byte) {
		dec, err := NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		pcm := make([]int16, MaxFrameSamples)
		n, err := dec.Decode(pcm, pkt)
		if err == nil && (n < 0 || n > len(pcm)) {
			t.Fatalf("decoded %d samples into %d", n, len(pcm))
		}
		if err != nil && len(pkt) > 0 && !errors.Is(err, ErrPacket) && !errors.Is(err, ErrBuffer) {
			t.Fatalf("error %v is neither ErrPacket nor ErrBuffer", err)
		}
		// A short buffer too: a long packet must say ErrBuffer, not overrun.
		small := make([]int16, FrameSamples)
		if n, err := dec.Decode(small, pkt); err == nil && n > len(small) {
			t.Fatalf("decoded %d samples into %d", n, len(small))
		}
		if n, err := dec.Decode(pcm, good); err != nil || n != FrameSamples {
			t.Fatalf("a good packet after a fuzzed one: %d, %v", n, err)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	enc, err := NewEncoder(0)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	pcm := make([]int16, FrameSamples)
	pkt := make([]byte, MaxPacket)
	frames := make([][]int16, 50)
	for i := range frames {
		frames[i] = make([]int16, FrameSamples)
		tone(frames[i], i*FrameSamples, 1000, 8000)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		copy(pcm, frames[i%len(frames)])
		i++
		if _, err := enc.Encode(pkt, pcm); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	pkts := encodePackets(b, 50)
	dec, err := NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	pcm := make([]int16, FrameSamples)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := dec.Decode(pcm, pkts[i%len(pkts)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
