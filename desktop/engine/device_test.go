package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// sine is n samples of a sine of amplitude amp at hz, sampled at rate.
func sine(n int, hz, amp float64, rate int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return x
}

// amplitude is the amplitude of the component at hz in x (Hann window).
func amplitude(x []float32, hz float64, rate int) float64 {
	var re, im, wsum float64
	n := len(x)
	for i, v := range x {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		ph := 2 * math.Pi * hz * float64(i) / float64(rate)
		re += w * float64(v) * math.Cos(ph)
		im -= w * float64(v) * math.Sin(ph)
		wsum += w
	}
	return 2 * math.Hypot(re, im) / wsum
}

func db(a, ref float64) float64 { return 20 * math.Log10(a/ref+1e-20) }

// resample runs x through a fresh resampler from in to out Hz.
func resample(t *testing.T, x []float32, in, out int) []float32 {
	t.Helper()
	r, err := newResampler(in, out)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, 0, r.maxOut(len(x)))
	buf := make([]float32, r.maxOut(160))
	for len(x) > 0 { // in blocks, as a device would
		n := min(len(x), 160)
		y = append(y, buf[:r.process(x[:n], buf)]...)
		x = x[n:]
	}
	return y
}

// settled drops a resampler chain's start-up and end (its delay) and keeps
// half a second.
func settled(y []float32, rate int) []float32 {
	return y[rate/4 : rate/4+rate/2]
}

var deviceRates = []int{48000, 44100, 16000, 32000, 96000}

// TestResamplerRoundTripKeepsTheBand: 8 kHz to the device rate and back
// keeps tones across the telephone band at their level (within 0.5 dB; in
// fact within 0.01 dB) and frequency.
func TestResamplerRoundTripKeepsTheBand(t *testing.T) {
	for _, rate := range deviceRates {
		for _, hz := range []float64{200, 1000, 3000, 3400} {
			t.Run(fmt.Sprintf("%dHz/%gHz", rate, hz), func(t *testing.T) {
				x := sine(8000, hz, 0.5, 8000)
				y := resample(t, resample(t, x, 8000, rate), rate, 8000)
				if len(y) < len(x)-2 || len(y) > len(x)+2 {
					t.Fatalf("%d samples in, %d out", len(x), len(y))
				}
				got := db(amplitude(settled(y, 8000), hz, 8000), 0.5)
				t.Logf("%g Hz through 8 kHz -> %d Hz -> 8 kHz: %+.4f dB", hz, rate, got)
				if math.Abs(got) > 0.5 {
					t.Errorf("%g Hz came back at %+.3f dB, want within 0.5 dB", hz, got)
				}
				// Nothing else: the residue after the tone is far down.
				if other := db(amplitude(settled(y, 8000), hz+500, 8000), 0.5); other > -70 {
					t.Errorf("%g Hz round trip: %.1f dB at %g Hz", hz, other, hz+500)
				}
			})
		}
	}
}

// TestResamplerUpHasNoImages: a 3.9 kHz tone at 8 kHz, up to the device
// rate, comes out at 3.9 kHz with its images (8 kHz +- 3.9 kHz and so on,
// 4.1 kHz the nearest) at least 65 dB below the input.
func TestResamplerUpHasNoImages(t *testing.T) {
	for _, rate := range deviceRates {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			x := sine(8000, 3900, 0.5, 8000)
			y := settled(resample(t, x, 8000, rate), rate)
			tone := db(amplitude(y, 3900, rate), 0.5)
			t.Logf("3.9 kHz up to %d Hz: %.1f dB (the band edge is 3.6 kHz)", rate, tone)
			// 3.9 kHz is in the transition band (3.6 to 4 kHz): it comes
			// through attenuated, about 21 dB down, at its own frequency.
			if tone < -25 || tone > -15 {
				t.Errorf("3.9 kHz at %.1f dB, want about -21 dB", tone)
			}
			worst := -200.0
			for k := 8000.0; k-3900 < float64(rate)/2; k += 8000 {
				for _, img := range []float64{k - 3900, k + 3900} {
					if img < float64(rate)/2 {
						worst = max(worst, db(amplitude(y, img, rate), 0.5))
					}
				}
			}
			t.Logf("3.9 kHz up to %d Hz: worst image %.1f dB", rate, worst)
			if worst > -65 {
				t.Errorf("an image of 3.9 kHz at %.1f dB, want -65 dB or less", worst)
			}
		})
	}
}

// TestResamplerDownDoesNotAlias: tones above 4 kHz at the device rate do
// not fold into the 8 kHz band (at least 65 dB down), and one below
// passes.
func TestResamplerDownDoesNotAlias(t *testing.T) {
	for _, rate := range deviceRates {
		for _, c := range []struct{ hz, alias float64 }{
			{4100, 3900}, {5000, 3000}, {7000, 1000}, {11000, 3000}, {15000, 1000}, {19000, 3000}, {21000, 3000},
		} {
			if c.hz >= float64(rate)/2 {
				continue
			}
			t.Run(fmt.Sprintf("%d/%g", rate, c.hz), func(t *testing.T) {
				y := settled(resample(t, sine(rate, c.hz, 0.5, rate), rate, 8000), 8000)
				got := db(amplitude(y, c.alias, 8000), 0.5)
				if got > -65 {
					t.Errorf("%g Hz at %d Hz folded to %g Hz at %.1f dB, want -65 dB or less", c.hz, rate, c.alias, got)
				}
			})
		}
		y := settled(resample(t, sine(rate, 1000, 0.5, rate), rate, 8000), 8000)
		if got := db(amplitude(y, 1000, 8000), 0.5); math.Abs(got) > 0.1 {
			t.Errorf("1 kHz at %d Hz came down at %.2f dB", rate, got)
		}
	}
}

// TestResamplerDelay: a click comes out where the filter's group delay
// says, and the delay is a few milliseconds.
func TestResamplerDelay(t *testing.T) {
	for _, rate := range deviceRates {
		for _, dir := range [][2]int{{8000, rate}, {rate, 8000}} {
			r, err := newResampler(dir[0], dir[1])
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float32, dir[0]/10)
			x[0] = 1
			y := make([]float32, r.maxOut(len(x)))
			y = y[:r.process(x, y)]
			peak := 0
			for i := range y {
				if math.Abs(float64(y[i])) > math.Abs(float64(y[peak])) {
					peak = i
				}
			}
			ms := r.delay() * 1000 / float64(dir[1])
			t.Logf("%d Hz -> %d Hz: %d coefficients a phase, delay %.2f ms", dir[0], dir[1], r.taps, ms)
			if math.Abs(float64(peak)-r.delay()) > 1 || ms > 8 {
				t.Errorf("%d -> %d Hz: the click peaks at %d, the delay is %.1f samples (%.2f ms)", dir[0], dir[1], peak, r.delay(), ms)
			}
		}
	}
}

func TestResamplerRefusesRates(t *testing.T) {
	for _, c := range [][2]int{{8000, 4000}, {0, 8000}, {8000, 384001}} {
		if _, err := newResampler(c[0], c[1]); !errors.Is(err, ErrAudio) {
			t.Errorf("%d -> %d Hz: %v, want ErrAudio", c[0], c[1], err)
		}
	}
}

// TestSampleRing: fills to the target before playing, gives silence and
// counts an underrun when dry, drops the oldest and counts when full.
func TestSampleRing(t *testing.T) {
	seq := func(from, n int) []int16 {
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(from + i)
		}
		return s
	}
	type step struct {
		write int     // write this many, numbered on from the last written
		read  int     // then read this many
		want  []int16 // what the read gives (nil: do not check)
	}
	cases := []struct {
		name                         string
		steps                        []step
		underruns, overruns, dropped uint64
		buffered                     int
	}{
		{"waits for the target", []step{{write: 3, read: 2, want: []int16{0, 0}}, {write: 1, read: 2, want: []int16{1, 2}}}, 0, 0, 0, 2},
		{"underrun gives what there is, then silence", []step{{write: 4, read: 6, want: []int16{1, 2, 3, 4, 0, 0}}}, 1, 0, 0, 0},
		{"after an underrun it waits for the target again", []step{{write: 4, read: 6}, {write: 3, read: 2, want: []int16{0, 0}}, {write: 1, read: 4, want: []int16{5, 6, 7, 8}}}, 1, 0, 0, 0},
		{"overrun drops the oldest down to the target", []step{{write: 6, read: 0}, {write: 4, read: 4, want: []int16{7, 8, 9, 10}}}, 0, 1, 6, 0},
		{"overrun keeps the oldest that fit the target", []step{{write: 7, read: 0}, {write: 2, read: 4, want: []int16{6, 7, 8, 9}}}, 0, 1, 5, 0},
		{"a write bigger than the ring keeps its end", []step{{write: 2, read: 0}, {write: 11, read: 8, want: []int16{6, 7, 8, 9, 10, 11, 12, 13}}}, 0, 1, 5, 0},
		{"wraps around", []step{{write: 6, read: 5}, {write: 5, read: 6, want: []int16{6, 7, 8, 9, 10, 11}}}, 0, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var q sampleRing
			q.init(4, 8)
			next := 1
			for i, s := range c.steps {
				q.write(seq(next, s.write))
				next += s.write
				got := make([]int16, s.read)
				q.read(got)
				if s.want != nil && !slices.Equal(got, s.want) {
					t.Fatalf("step %d read %v, want %v", i, got, s.want)
				}
			}
			st := q.stats(0)
			if st.Underruns != c.underruns || st.Overruns != c.overruns || st.Dropped != c.dropped || q.n != c.buffered {
				t.Errorf("underruns %d overruns %d dropped %d buffered %d, want %d %d %d %d",
					st.Underruns, st.Overruns, st.Dropped, q.n, c.underruns, c.overruns, c.dropped, c.buffered)
			}
		})
	}
}

func TestMeter(t *testing.T) {
	cases := []struct {
		name      string
		x         []float32
		peak, rms float64
	}{
		{"silence", make([]float32, 4800), MinDBFS, MinDBFS},
		{"half-scale sine", sine(4800, 1000, 0.5, 48000), -6.02, -9.03},
		{"full-scale square", slices.Repeat([]float32{1, -1}, 2400), 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMeter(48000)
			m.add(c.x)
			l := m.level()
			if math.Abs(l.Peak-c.peak) > 0.05 || math.Abs(l.RMS-c.rms) > 0.05 {
				t.Errorf("peak %.2f RMS %.2f dBFS, want %.2f %.2f", l.Peak, l.RMS, c.peak, c.rms)
			}
		})
	}
	// A reading covers a whole 50 ms window: less gives nothing yet.
	m := newMeter(48000)
	m.add(sine(2000, 1000, 0.5, 48000))
	if l := m.level(); l.Peak != MinDBFS {
		t.Errorf("after 2000 samples of 2400: %v", l)
	}
}

// pcmAmplitude is the amplitude of hz in 8 kHz PCM frames, 1 at full scale.
func pcmAmplitude(frames []int16, hz float64) float64 {
	x := make([]float32, len(frames))
	for i, v := range frames {
		x[i] = float32(v) / 32768
	}
	return amplitude(x, hz, 8000)
}

// TestDeviceCore drives the Device's processing as the device callbacks
// and the engine would, without a sound card: the microphone's 48 kHz
// reaches Mic as 8 kHz at its level, mute silences it, the Speaker's
// frames reach the device at its rate, and dry or full buffers are
// counted.
func TestDeviceCore(t *testing.T) {
	for _, rate := range []int{48000, 44100} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			d, err := newDevice(rate, rate, newDeviceOptions(nil))
			if err != nil {
				t.Fatal(err)
			}
			block := rate / 100 // 10 ms periods
			mic := sine(rate, 1000, 0.25, rate)
			d.captured(mic[:block]) // outside a call: metered, not buffered
			if st := d.Stats().Mic; st.Buffered != 0 {
				t.Fatalf("outside a call the mic buffered %v", st.Buffered)
			}
			d.CallStarted("c1")
			var heard []int16
			var played []float32
			frame := make([]int16, 160)
			out := make([]float32, block)
			spk := sine(8000, 1000, 0.25, 8000)
			for i := range 50 { // 1 s: two device periods per engine frame
				d.captured(mic[2*i*block : (2*i+1)*block])
				d.captured(mic[(2*i+1)*block : (2*i+2)*block])
				d.Mic(frame)
				heard = append(heard, frame...)
				d.Speaker(toInt16(spk[i*160 : (i+1)*160]))
				d.render(out)
				played = append(played, out...)
				d.render(out)
				played = append(played, out...)
			}
			if got := db(pcmAmplitude(heard[4000:8000], 1000), 0.25); math.Abs(got) > 0.5 {
				t.Errorf("the microphone's 1 kHz reached Mic at %+.2f dB", got)
			}
			if got := db(amplitude(played[rate/2:], 1000, rate), 0.25); math.Abs(got) > 0.5 {
				t.Errorf("the Speaker's 1 kHz reached the device at %+.2f dB", got)
			}
			if l := d.MicLevel(); math.Abs(l.Peak+12.04) > 0.1 {
				t.Errorf("mic peak %.2f dBFS, want -12.04", l.Peak)
			}
			if l := d.SpeakerLevel(); math.Abs(l.Peak+12.04) > 0.3 {
				t.Errorf("speaker peak %.2f dBFS, want -12.04", l.Peak)
			}
			st := d.Stats()
			if st.Mic.Underruns != 0 || st.Speaker.Underruns != 0 || st.Mic.Overruns != 0 || st.Speaker.Overruns != 0 {
				t.Errorf("steady flow counted trouble: %+v", st)
			}
			if st.Mic.Frames != 50 || st.Speaker.Frames != 50 {
				t.Errorf("frames %d and %d, want 50", st.Mic.Frames, st.Speaker.Frames)
			}

			d.SetMute(true)
			d.captured(mic[:2*block])
			d.Mic(frame)
			if !d.Muted() || slices.ContainsFunc(frame, func(v int16) bool { return v != 0 }) {
				t.Error("muted, Mic still gave sound")
			}
			if l := d.MicLevel(); l.Peak < -13 {
				t.Errorf("muted, the mic meter reads %.1f dBFS: it should still show the microphone", l.Peak)
			}
			d.SetMute(false)

			// The engine stops pulling: the mic buffer overruns, bounded.
			for range 20 {
				d.captured(mic[:block])
			}
			if st := d.Stats().Mic; st.Overruns == 0 || st.Buffered > st.Max {
				t.Errorf("mic not pulled: %+v", st)
			}
			// The speaker gets nothing: it runs dry, once, then waits.
			for range 20 {
				d.render(out)
			}
			if st := d.Stats().Speaker; st.Underruns != 1 {
				t.Errorf("speaker starved: %d underruns, want 1", st.Underruns)
			}
			if slices.ContainsFunc(out, func(v float32) bool { return v != 0 }) {
				t.Error("a starved speaker played sound")
			}
			// Too much for the speaker (160 ms into 120): the oldest goes,
			// down to the target (40 ms), then 3 more frames come.
			for range 10 {
				d.Speaker(frame)
			}
			if st := d.Stats().Speaker; st.Overruns != 1 || st.Dropped != 800 || st.Buffered != 100*time.Millisecond {
				t.Errorf("speaker flooded: %+v", st)
			}
			d.CallEnded("c1")
			if st := d.Stats(); st.Mic.Buffered != 0 || st.Speaker.Buffered != 0 {
				t.Errorf("after the call: %+v", st)
			}
		})
	}
}

func toInt16(x []float32) []int16 {
	p := make([]int16, len(x))
	for i, v := range x {
		p[i] = toPCM(v)
	}
	return p
}

// TestDeviceTone: the test tone plays at -12 dBFS at its frequency for its
// length, outside calls too, and odd requests are refused.
func TestDeviceTone(t *testing.T) {
	d, err := newDevice(48000, 48000, newDeviceOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.PlayTone(440, time.Second); err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 48000+480)
	d.render(out)
	if got := db(amplitude(out[:48000], 440, 48000), 0.25); math.Abs(got) > 0.2 {
		t.Errorf("the tone at %.2f dB from -12 dBFS", got)
	}
	if l := d.SpeakerLevel(); math.Abs(l.Peak+12.04) > 0.1 {
		t.Errorf("speaker meter %.2f dBFS during the tone", l.Peak)
	}
	if slices.ContainsFunc(out[48000:], func(v float32) bool { return v != 0 }) {
		t.Error("the tone went on past its second")
	}
	for _, c := range []struct {
		hz  float64
		dur time.Duration
	}{{0, time.Second}, {24000, time.Second}, {math.NaN(), time.Second}, {440, 0}, {440, time.Hour}} {
		if err := d.PlayTone(c.hz, c.dur); !errors.Is(err, ErrAudio) {
			t.Errorf("PlayTone(%g, %v): %v, want ErrAudio", c.hz, c.dur, err)
		}
	}
}

// TestDeviceCallbacksDoNotAllocate: the device callbacks and the engine's
// frames allocate nothing.
func TestDeviceCallbacksDoNotAllocate(t *testing.T) {
	d, err := newDevice(44100, 48000, newDeviceOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	d.CallStarted("c")
	if err := d.PlayTone(440, time.Minute); err != nil {
		t.Fatal(err)
	}
	in := sine(441, 1000, 0.3, 44100)
	out := make([]float32, 480)
	frame := make([]int16, 160)
	allocs := testing.AllocsPerRun(200, func() {
		d.captured(in)
		d.captured(in)
		d.Mic(frame)
		d.Speaker(frame)
		d.render(out)
		d.render(out)
		_ = d.MicLevel()
		_ = d.SpeakerLevel()
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per 20 ms", allocs)
	}
}

func TestOpenDeviceRefusesOptions(t *testing.T) {
	for _, opts := range [][]DeviceOption{
		{WithBuffer(10*time.Millisecond, 100*time.Millisecond)},
		{WithBuffer(40*time.Millisecond, 50*time.Millisecond)},
		{WithDeviceRate(4000)},
	} {
		if _, err := OpenDevice(append(opts, WithNullDevices())...); !errors.Is(err, ErrAudio) {
			t.Errorf("%v", err)
		}
	}
}

func BenchmarkDeviceFrame(b *testing.B) {
	d, err := newDevice(48000, 48000, newDeviceOptions(nil))
	if err != nil {
		b.Fatal(err)
	}
	d.CallStarted("c")
	in := sine(480, 1000, 0.3, 48000)
	out := make([]float32, 480)
	frame := make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() { // 20 ms of a call: two device periods each way
		d.captured(in)
		d.captured(in)
		d.Mic(frame)
		d.Speaker(frame)
		d.render(out)
		d.render(out)
	}
}
