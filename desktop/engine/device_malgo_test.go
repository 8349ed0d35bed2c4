//go:build cgo

package engine

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gen2brain/malgo"
)

// waitFor polls cond until it holds, failing after 20 s: the null devices
// run in real time, so audio takes real time to flow, but nothing here
// depends on how long it takes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeviceListsNullDevices(t *testing.T) {
	mics, speakers, err := ListDevices(WithNullDevices())
	if err != nil {
		t.Fatal(err)
	}
	if len(mics) != 1 || len(speakers) != 1 || !mics[0].Default || !speakers[0].Default ||
		!strings.Contains(mics[0].Name, "Capture") || !strings.Contains(speakers[0].Name, "Playback") || mics[0].ID == "" {
		t.Fatalf("mics %+v speakers %+v", mics, speakers)
	}
}

// TestDeviceNullBackendFlows opens real malgo devices on the null backend
// (no sound card): the speaker's callback plays what Speaker gets (its
// meter shows the level sent), the microphone's callback feeds Mic, the
// test tone plays, and Close stops it all.
func TestDeviceNullBackendFlows(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []DeviceOption
		rate int
	}{
		{"native rate", nil, 48000},
		{"44.1 kHz, chosen devices", []DeviceOption{WithDeviceRate(44100)}, 44100},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := append([]DeviceOption{WithNullDevices()}, c.opts...)
			if c.rate == 44100 {
				mics, speakers, err := ListDevices(WithNullDevices())
				if err != nil {
					t.Fatal(err)
				}
				opts = append(opts, WithMicrophone(mics[0].ID), WithSpeaker(speakers[0].ID))
			}
			d, err := OpenDevice(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := d.Close(); err != nil {
					t.Error(err)
				}
			}()
			if mic, spk := d.Rates(); mic != c.rate || spk != c.rate {
				t.Fatalf("rates %d and %d, want %d", mic, spk, c.rate)
			}
			if mic, spk := d.Names(); mic == "" || spk == "" {
				t.Errorf("names %q %q", mic, spk)
			}

			// The test tone, outside a call.
			if err := d.PlayTone(440, time.Second); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the tone on the speaker meter", func() bool { return math.Abs(d.SpeakerLevel().Peak+12.04) < 0.2 })

			d.CallStarted("c1")
			// A 1 kHz tone at -6 dBFS to the speaker, kept a frame ahead
			// of the buffer's target.
			spk := toInt16(sine(8000, 1000, 0.5, 8000))
			frame := make([]int16, 160)
			sent := 0
			waitFor(t, "the call's 1 kHz on the speaker meter", func() bool {
				for d.Stats().Speaker.Buffered < 60*time.Millisecond {
					d.Speaker(spk[sent%8000 : sent%8000+160])
					sent += 160
				}
				l := d.SpeakerLevel()
				return math.Abs(l.Peak+6.02) < 0.3 && math.Abs(l.RMS+9.03) < 0.3
			})
			// The microphone (silent on the null backend) reaches Mic.
			waitFor(t, "the microphone's audio in the buffer", func() bool {
				return d.Stats().Mic.Buffered >= 40*time.Millisecond
			})
			d.Mic(frame)
			st := d.Stats()
			if st.Mic.Frames != 1 || st.Mic.Buffered > st.Mic.Max || st.Speaker.Frames != uint64(sent/160) {
				t.Errorf("stats %+v after %d speaker frames", st, sent/160)
			}
			if l := d.MicLevel(); l.Peak != MinDBFS {
				t.Errorf("the null microphone reads %v", l)
			}
			d.CallEnded("c1")
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if err := d.PlayTone(440, time.Second); !errors.Is(err, ErrAudio) {
				t.Errorf("a tone after Close: %v", err)
			}
		})
	}
}

func TestOpenDeviceUnknownID(t *testing.T) {
	for _, o := range []DeviceOption{WithMicrophone("ffff"), WithSpeaker("ffff")} {
		_, err := OpenDevice(WithNullDevices(), o)
		if !errors.Is(err, ErrAudio) || !strings.Contains(err.Error(), `"ffff"`) {
			t.Errorf("%v", err)
		}
	}
}

// TestPickWithNoDevices: a system with no microphone or speaker says so.
func TestPickWithNoDevices(t *testing.T) {
	for _, what := range []string{"microphone", "speaker"} {
		_, _, err := pick(nil, "", what)
		if !errors.Is(err, ErrAudio) || !strings.Contains(err.Error(), "no "+what+" found") {
			t.Errorf("%s: %v", what, err)
		}
	}
	list := make([]malgo.DeviceInfo, 2)
	list[1].IsDefault = 1
	list[1].ID[0] = 7
	info, _, err := pick(list, "07", "microphone")
	if err != nil || info != &list[1] {
		t.Errorf("by ID: %v %v", info, err)
	}
}

// BenchmarkDeviceLatencyNull runs null devices as the engine would, one
// 20 ms frame each way per tick, and reports the buffers' mean fill (the
// latency they add) and their underruns and overruns per frame. Real time:
//
//	go test -run '^$' -bench DeviceLatencyNull -benchtime 500x ./desktop/engine
func BenchmarkDeviceLatencyNull(b *testing.B) {
	d, err := OpenDevice(WithNullDevices())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	d.CallStarted("c")
	frame := make([]int16, 160)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var mic, spk time.Duration
	n := 0
	for b.Loop() {
		d.Mic(frame)
		d.Speaker(frame)
		st := d.Stats()
		mic += st.Mic.Buffered
		spk += st.Speaker.Buffered
		n++
		<-tick.C
	}
	st := d.Stats()
	b.ReportMetric(float64(mic.Milliseconds())/float64(n), "mic-ms")
	b.ReportMetric(float64(spk.Milliseconds())/float64(n), "speaker-ms")
	b.ReportMetric(float64(st.Mic.Underruns+st.Speaker.Underruns)/float64(n), "underruns/frame")
	b.ReportMetric(float64(st.Mic.Overruns+st.Speaker.Overruns)/float64(n), "overruns/frame")
}
