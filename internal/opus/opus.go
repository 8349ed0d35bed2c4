//go:build cgo

package opus

/*
#cgo pkg-config: opus
#include <opus.h>

// opus_encoder_ctl is variadic, which cgo cannot call.
static int hp_encoder_setup(OpusEncoder *e, opus_int32 bitrate) {
	int err;
	if ((err = opus_encoder_ctl(e, OPUS_SET_BITRATE(bitrate))) != OPUS_OK) return err;
	if ((err = opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(0))) != OPUS_OK) return err;
	if ((err = opus_encoder_ctl(e, OPUS_SET_DTX(0))) != OPUS_OK) return err;
	if ((err = opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE))) != OPUS_OK) return err;
	if ((err = opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(5))) != OPUS_OK) return err;
	return OPUS_OK;
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// codeError turns a libopus error code into an error wrapping the sentinel
// that fits, with libopus's own message.
func codeError(what string, code C.int) error {
	msg := C.GoString(C.opus_strerror(code))
	var sentinel error
	switch code {
	case C.OPUS_INVALID_PACKET:
		sentinel = ErrPacket
	case C.OPUS_BUFFER_TOO_SMALL:
		sentinel = ErrBuffer
	case C.OPUS_BAD_ARG:
		sentinel = ErrConfig
	default:
		sentinel = ErrLibopus
	}
	return fmt.Errorf("%w: %s: %s (%d)", sentinel, what, msg, int(code))
}

// Available: this build has libopus.
const Available = true

// Encoder encodes 20 ms frames of 8 kHz mono linear PCM to Opus packets.
type Encoder struct {
	p       *C.OpusEncoder
	cleanup runtime.Cleanup
}

// NewEncoder makes a mono VOIP encoder at SampleRate; bitrate is in
// bit/s (500 to 512000), 0 for DefaultBitrate.
func NewEncoder(bitrate int) (*Encoder, error) {
	if bitrate == 0 {
		bitrate = DefaultBitrate
	}
	if bitrate < 500 || bitrate > 512000 {
		return nil, fmt.Errorf("%w: bitrate %d is outside 500 to 512000 bit/s", ErrConfig, bitrate)
	}
	var code C.int
	p := C.opus_encoder_create(SampleRate, Channels, C.OPUS_APPLICATION_VOIP, &code)
	if code != C.OPUS_OK || p == nil {
		return nil, codeError("creating the encoder", code)
	}
	if code = C.hp_encoder_setup(p, C.opus_int32(bitrate)); code != C.OPUS_OK {
		C.opus_encoder_destroy(p)
		return nil, codeError("setting the encoder up", code)
	}
	e := &Encoder{p: p}
	e.cleanup = runtime.AddCleanup(e, func(p *C.OpusEncoder) { C.opus_encoder_destroy(p) }, p)
	return e, nil
}

// Encode encodes one frame of FrameSamples samples into dst and returns
// the packet's length. dst should hold MaxPacket bytes; a shorter one may
// be too small (ErrBuffer).
func (e *Encoder) Encode(dst []byte, pcm []int16) (int, error) {
	if e.p == nil {
		return 0, ErrClosed
	}
	if len(pcm) != FrameSamples {
		return 0, fmt.Errorf("%w: a frame is %d samples, got %d", ErrBuffer, FrameSamples, len(pcm))
	}
	if len(dst) == 0 {
		return 0, fmt.Errorf("%w: no room for the packet", ErrBuffer)
	}
	n := C.opus_encode(e.p,
		(*C.opus_int16)(unsafe.Pointer(&pcm[0])), FrameSamples,
		(*C.uchar)(unsafe.Pointer(&dst[0])), C.opus_int32(min(len(dst), 1<<30)))
	if n < 0 {
		return 0, codeError("encoding", n)
	}
	return int(n), nil
}

// Close frees the encoder; calling it again does nothing.
func (e *Encoder) Close() {
	if e.p == nil {
		return
	}
	e.cleanup.Stop()
	C.opus_encoder_destroy(e.p)
	e.p = nil
}

// Decoder decodes Opus packets to 8 kHz mono linear PCM.
type Decoder struct {
	p       *C.OpusDecoder
	cleanup runtime.Cleanup
}

// NewDecoder makes a mono decoder at SampleRate.
func NewDecoder() (*Decoder, error) {
	var code C.int
	p := C.opus_decoder_create(SampleRate, Channels, &code)
	if code != C.OPUS_OK || p == nil {
		return nil, codeError("creating the decoder", code)
	}
	d := &Decoder{p: p}
	d.cleanup = runtime.AddCleanup(d, func(p *C.OpusDecoder) { C.opus_decoder_destroy(p) }, p)
	return d, nil
}

// Decode decodes one packet into dst and returns the samples per channel
// it wrote. A packet may hold up to 120 ms (MaxFrameSamples); a dst too
// short for it gives ErrBuffer. A nil or empty packet asks libopus to
// conceal a lost one: it writes len(dst) samples, which for Opus must be a
// multiple of 2.5 ms (20 samples), usually FrameSamples. A packet that is
// not Opus gives an error wrapping ErrPacket; the decoder stays usable.
func (d *Decoder) Decode(dst []int16, packet []byte) (int, error) {
	if d.p == nil {
		return 0, ErrClosed
	}
	if len(dst) == 0 {
		return 0, fmt.Errorf("%w: no room for samples", ErrBuffer)
	}
	var data *C.uchar
	if len(packet) > 0 {
		data = (*C.uchar)(unsafe.Pointer(&packet[0]))
	}
	n := C.opus_decode(d.p, data, C.opus_int32(min(len(packet), 1<<30)),
		(*C.opus_int16)(unsafe.Pointer(&dst[0])), C.int(min(len(dst), MaxFrameSamples)), 0)
	if n == C.OPUS_BAD_ARG {
		return 0, fmt.Errorf("%w: concealment needs a multiple of 20 samples, got %d", ErrBuffer, len(dst))
	}
	if n < 0 {
		return 0, codeError("decoding", n)
	}
	return int(n), nil
}

// Close frees the decoder; calling it again does nothing.
func (d *Decoder) Close() {
	if d.p == nil {
		return
	}
	d.cleanup.Stop()
	C.opus_decoder_destroy(d.p)
	d.p = nil
}
