package app

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/media/mix"
)

// sound is the engine's Audio: the sound device, with the app's hold
// (nothing in or out) and keypad tones (mixed into what the agent sends).
type sound struct {
	app   *App
	held  atomic.Bool
	muted atomic.Bool

	mu      sync.Mutex
	key     [2]float64 // the keypad tone's frequencies
	keyLeft int        // its samples still to send
	keyN    int
	tone    [mix.FrameSamples]int16 // the tone's next samples, to mix in
}

// keyTone is how long a keypad tone lasts (samples at 8 kHz): 120 ms.
const keyTone = 120 * mix.SampleRate / 1000

// keyPeak is each of the keypad tone's two sines' peak.
const keyPeak = 6000

var keypad = map[byte][2]float64{
	'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477},
	'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477},
	'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477},
	'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477},
}

func (s *sound) press(k byte) {
	s.mu.Lock()
	s.key, s.keyLeft, s.keyN = keypad[k], keyTone, 0
	s.mu.Unlock()
}

func (s *sound) device() *engine.Device {
	s.app.mu.Lock()
	defer s.app.mu.Unlock()
	return s.app.dev
}

func (s *sound) Mic(frame []int16) {
	if d := s.device(); d != nil {
		d.Mic(frame)
	} else {
		clear(frame)
	}
	if s.held.Load() {
		clear(frame)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(frame) > 0 && s.keyLeft > 0 {
		n := min(len(frame), s.keyLeft, len(s.tone))
		for i := range n {
			t := float64(s.keyN+i) / mix.SampleRate
			s.tone[i] = int16(keyPeak * (math.Sin(2*math.Pi*s.key[0]*t) + math.Sin(2*math.Pi*s.key[1]*t)))
		}
		mix.Add(frame[:n], s.tone[:n])
		frame = frame[n:]
		s.keyN += n
		s.keyLeft -= n
	}
}

func (s *sound) Speaker(frame []int16) {
	if s.held.Load() {
		clear(frame) // the agent does not hear the caller on hold
	}
	if d := s.device(); d != nil {
		d.Speaker(frame)
	}
}

func (s *sound) CallStarted(call string) {
	if d := s.device(); d != nil {
		d.CallStarted(call)
	}
}

func (s *sound) CallEnded(call string) {
	s.held.Store(false)
	if d := s.device(); d != nil {
		d.CallEnded(call)
	}
}

func (a *App) deviceOptions() []engine.DeviceOption {
	var opts []engine.DeviceOption
	if a.o.NullDevices {
		opts = append(opts, engine.WithNullDevices())
	}
	return append(opts, engine.WithDeviceLogger(a.log))
}

// openDevice opens the chosen (or default) devices, if none is open.
func (a *App) openDevice() error {
	a.mu.Lock()
	if a.dev != nil {
		a.mu.Unlock()
		return nil
	}
	opts := a.deviceOptions()
	if a.prefs.Mic != "" {
		opts = append(opts, engine.WithMicrophone(a.prefs.Mic))
	}
	if a.prefs.Speaker != "" {
		opts = append(opts, engine.WithSpeaker(a.prefs.Speaker))
	}
	a.mu.Unlock()
	dev, err := engine.OpenDevice(opts...)
	if err != nil && (a.prefs.Mic != "" || a.prefs.Speaker != "") {
		// The chosen devices are gone (unplugged): the defaults.
		dev, err = engine.OpenDevice(a.deviceOptions()...)
	}
	if err != nil {
		return fmt.Errorf("the sound devices: %w", err)
	}
	mic, spk := dev.Names()
	dev.SetMute(a.snd.muted.Load())
	a.mu.Lock()
	a.dev = dev
	a.st.Devices = Devices{Mic: mic, Speaker: spk, MicID: a.prefs.Mic, SpeakerID: a.prefs.Speaker}
	a.mu.Unlock()
	a.changed()
	return nil
}

// Devices lists the microphones and speakers.
func (a *App) Devices() (DeviceList, error) {
	mics, spks, err := engine.ListDevices(a.deviceOptions()...)
	if err != nil {
		return DeviceList{}, fmt.Errorf("%w: the sound devices: %w", ErrNotNow, err)
	}
	conv := func(in []engine.DeviceInfo) []Device {
		out := make([]Device, 0, len(in))
		for _, d := range in {
			out = append(out, Device{ID: d.ID, Name: d.Name, Default: d.Default})
		}
		return out
	}
	return DeviceList{Mics: conv(mics), Speakers: conv(spks)}, nil
}

// SetDevices chooses the microphone and speaker (IDs from Devices; ""
// for the system's default), between calls.
func (a *App) SetDevices(mic, speaker string) error {
	if _, err := a.call(CallActive, CallDialing, CallRinging); err == nil {
		return fmt.Errorf("%w: change the devices between calls", ErrNotNow)
	}
	opts := a.deviceOptions()
	if mic != "" {
		opts = append(opts, engine.WithMicrophone(mic))
	}
	if speaker != "" {
		opts = append(opts, engine.WithSpeaker(speaker))
	}
	dev, err := engine.OpenDevice(opts...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	dev.SetMute(a.snd.muted.Load())
	m, s := dev.Names()
	a.mu.Lock()
	old := a.dev
	a.dev = dev
	a.prefs.Mic, a.prefs.Speaker = mic, speaker
	a.st.Devices = Devices{Mic: m, Speaker: s, MicID: mic, SpeakerID: speaker}
	p := a.prefs
	a.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	a.save("prefs.json", p)
	a.changed()
	return nil
}

// TestTone plays a 440 Hz tone for a second on the speaker.
func (a *App) TestTone() error {
	if err := a.openDevice(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotNow, err)
	}
	a.mu.Lock()
	dev := a.dev
	a.mu.Unlock()
	if err := dev.PlayTone(440, time.Second); err != nil {
		return fmt.Errorf("%w: %w", ErrNotNow, err)
	}
	return nil
}

// startLevels sends the meters ten times a second until the call ends
// (a.mu held).
func (a *App) startLevels() {
	if a.levels != nil || a.dev == nil {
		return
	}
	stop := make(chan struct{})
	a.levels = stop
	dev := a.dev
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			l := Levels{Mic: dev.MicLevel().RMS, Speaker: dev.SpeakerLevel().RMS}
			if a.snd.muted.Load() || a.snd.held.Load() {
				l.Mic = engine.MinDBFS
			}
			a.emitRaw(EventLevels, l)
		}
	}()
}

func (a *App) stopLevelsLocked() {
	if a.levels != nil {
		close(a.levels)
		a.levels = nil
	}
}

func (a *App) stopLevels() {
	a.mu.Lock()
	a.stopLevelsLocked()
	a.mu.Unlock()
}
