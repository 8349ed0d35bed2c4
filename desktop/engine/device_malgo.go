//go:build cgo

package engine

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// backendNull is miniaudio's null backend (ma_backend_null): malgo's
// BackendNull constant is one too low, as it leaves out ma_backend_custom.
const backendNull = malgo.Backend(14)

// realBackends is every miniaudio backend but custom and null, in
// miniaudio's order (WASAPI ... PulseAudio, ALSA, JACK ...); miniaudio
// skips those not built for this system. Leaving out null means a machine
// without sound fails clearly instead of playing to nothing.
var realBackends = []malgo.Backend{
	malgo.BackendWasapi, malgo.BackendDsound, malgo.BackendWinmm, malgo.BackendCoreaudio,
	malgo.BackendSndio, malgo.BackendAudio4, malgo.BackendOss, malgo.BackendPulseaudio,
	malgo.BackendAlsa, malgo.BackendJack, malgo.BackendAaudio, malgo.BackendOpensl,
	malgo.BackendWebaudio,
}

func initContext(o deviceOptions) (*malgo.AllocatedContext, error) {
	backends := realBackends
	if o.null {
		backends = []malgo.Backend{backendNull}
	}
	ctx, err := malgo.InitContext(backends, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: no sound system could be started (%w): on Linux, PulseAudio, PipeWire or ALSA (libasound2) is needed", ErrAudio, err)
	}
	return ctx, nil
}

func freeContext(ctx *malgo.AllocatedContext) error {
	err := ctx.Uninit()
	ctx.Free()
	if err != nil {
		return fmt.Errorf("%w: closing the sound system: %w", ErrAudio, err)
	}
	return nil
}

func contextDevices(ctx *malgo.AllocatedContext) (mics, speakers []malgo.DeviceInfo, err error) {
	if mics, err = ctx.Devices(malgo.Capture); err != nil {
		return nil, nil, fmt.Errorf("%w: listing microphones: %w", ErrAudio, err)
	}
	if speakers, err = ctx.Devices(malgo.Playback); err != nil {
		return nil, nil, fmt.Errorf("%w: listing speakers: %w", ErrAudio, err)
	}
	return mics, speakers, nil
}

func listDevices(o deviceOptions) (mics, speakers []DeviceInfo, err error) {
	ctx, err := initContext(o)
	if err != nil {
		return nil, nil, err
	}
	defer func() { err = errors.Join(err, freeContext(ctx)) }()
	m, s, err := contextDevices(ctx)
	if err != nil {
		return nil, nil, err
	}
	return infos(m), infos(s), nil
}

func infos(list []malgo.DeviceInfo) []DeviceInfo {
	out := make([]DeviceInfo, len(list))
	for i := range list {
		out[i] = DeviceInfo{ID: list[i].ID.String(), Name: list[i].Name(), Default: list[i].IsDefault != 0}
	}
	return out
}

// pick finds the device with id, or the default ("" id; nil: let the
// system choose).
func pick(list []malgo.DeviceInfo, id, what string) (*malgo.DeviceInfo, string, error) {
	if len(list) == 0 {
		return nil, "", fmt.Errorf("%w: no %s found: plug one in, or check that the system's sound settings show it", ErrAudio, what)
	}
	if id == "" {
		for i := range list {
			if list[i].IsDefault != 0 {
				return nil, list[i].Name(), nil
			}
		}
		return nil, "the system's default " + what, nil
	}
	for i := range list {
		if list[i].ID.String() == id {
			return &list[i], list[i].Name(), nil
		}
	}
	return nil, "", fmt.Errorf("%w: no %s with ID %q (unplugged?): choose one of the %d listed now", ErrAudio, what, id, len(list))
}

func openDevice(o deviceOptions) (_ *Device, err error) {
	ctx, err := initContext(o)
	if err != nil {
		return nil, err
	}
	var devs []*malgo.Device
	defer func() {
		if err != nil {
			for _, dev := range devs {
				dev.Uninit()
			}
			err = errors.Join(err, freeContext(ctx))
		}
	}()
	mics, speakers, err := contextDevices(ctx)
	if err != nil {
		return nil, err
	}
	micInfo, micName, err := pick(mics, o.mic, "microphone")
	if err != nil {
		return nil, err
	}
	spkInfo, spkName, err := pick(speakers, o.speaker, "speaker")
	if err != nil {
		return nil, err
	}
	// The callbacks run on miniaudio's threads from Start on; until the
	// Device is built they do nothing (the speaker's buffer comes silent).
	var dp atomic.Pointer[Device]
	stopped := func(what string) func() {
		return func() {
			if d := dp.Load(); d != nil && !d.closed.Load() {
				d.log.Warn("sound device stopped", "device", what)
			}
		}
	}
	capDev, err := initMalgo(ctx, malgo.Capture, micInfo, micName, o.rate, malgo.DeviceCallbacks{
		Data: func(_, in []byte, frames uint32) {
			if d := dp.Load(); d != nil {
				d.captured(float32s(in, frames))
			}
		},
		Stop: stopped("microphone"),
	})
	if err != nil {
		return nil, err
	}
	devs = append(devs, capDev)
	spkDev, err := initMalgo(ctx, malgo.Playback, spkInfo, spkName, o.rate, malgo.DeviceCallbacks{
		Data: func(out, _ []byte, frames uint32) {
			if d := dp.Load(); d != nil {
				d.render(float32s(out, frames))
			}
		},
		Stop: stopped("speaker"),
	})
	if err != nil {
		return nil, err
	}
	devs = append(devs, spkDev)
	if capDev.CaptureFormat() != malgo.FormatF32 || capDev.CaptureChannels() != 1 || spkDev.PlaybackFormat() != malgo.FormatF32 || spkDev.PlaybackChannels() != 1 {
		return nil, fmt.Errorf("%w: the sound system did not give mono float32 audio", ErrAudio)
	}
	d, err := newDevice(int(capDev.SampleRate()), int(spkDev.SampleRate()), o)
	if err != nil {
		return nil, err
	}
	d.micName, d.spkName = micName, spkName
	d.shutdown = func() error {
		capDev.Uninit() // stops it first, and waits for its callback
		spkDev.Uninit()
		err := freeContext(ctx)
		d.log.Info("sound devices closed")
		return err
	}
	dp.Store(d)
	if err := capDev.Start(); err != nil {
		return nil, fmt.Errorf("%w: starting the microphone (%s): %w", ErrAudio, micName, err)
	}
	if err := spkDev.Start(); err != nil {
		return nil, fmt.Errorf("%w: starting the speaker (%s): %w", ErrAudio, spkName, err)
	}
	d.log.Info("sound devices open", "mic", micName, "mic_hz", d.micRate, "speaker", spkName, "speaker_hz", d.spkRate)
	return d, nil
}

// initMalgo opens one device (info; nil: the default, called name) as mono
// float32 at rate (0: its native rate), in 10 ms periods.
func initMalgo(ctx *malgo.AllocatedContext, kind malgo.DeviceType, info *malgo.DeviceInfo, name string, rate int, cb malgo.DeviceCallbacks) (*malgo.Device, error) {
	cfg := malgo.DefaultDeviceConfig(kind)
	cfg.SampleRate = uint32(rate)
	cfg.PeriodSizeInMilliseconds = 10
	sub, what := &cfg.Capture, "microphone"
	if kind == malgo.Playback {
		sub, what = &cfg.Playback, "speaker"
	}
	sub.Format = malgo.FormatF32
	sub.Channels = 1
	var pin runtime.Pinner
	defer pin.Unpin()
	if info != nil {
		id := new(malgo.DeviceID)
		*id = info.ID
		pin.Pin(id)                       // miniaudio copies it during init
		sub.DeviceID = unsafe.Pointer(id) //nolint:gosec // G103: miniaudio takes the device's ID by pointer, pinned here
	}
	dev, err := malgo.InitDevice(ctx.Context, cfg, cb)
	if err != nil {
		return nil, fmt.Errorf("%w: opening the %s (%s): %w: check that it is plugged in and not in use, or choose another", ErrAudio, what, name, err)
	}
	return dev, nil
}

// float32s views a callback's buffer of frames mono float32 samples.
func float32s(b []byte, frames uint32) []float32 {
	if len(b) < int(frames)*4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), frames) //nolint:gosec // G103: malgo gives the callback's C buffer as bytes; it holds frames float32s (checked above)
}
