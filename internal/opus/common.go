// Package opus is a small cgo binding to libopus (found through pkg-config,
// the Debian package libopus-dev): one mono encoder and one mono decoder at
// an 8000 Hz API sample rate, so that 20 ms of G.711 audio (160 samples) goes
// in and out as it is, with no resampling in Go. libopus codes at 8 kHz
// directly (narrowband).
//
// On the wire an Opus RTP stream keeps a 48000 Hz clock whatever the
// sample rate of the API (RFC 7587): a 20 ms frame advances the RTP
// timestamp by RTPFrameTicks (960), not 160.
//
// The encoder uses the VOIP application at DefaultBitrate unless told
// otherwise, with in-band FEC and DTX off (one packet per 20 ms, always)
// and complexity 5 of 10: half the CPU of the default 10 (about 105 µs
// against 185 µs a frame on the 2-core test machine) for no measurable loss
// on narrowband speech and tones (a 1 kHz tone keeps its level within
// 0.1 dB, TestRoundTripTone). Decoding costs about 10 µs a frame.
// The decoder takes any Opus packet (any frame size up to 120 ms, any
// bandwidth or mode); a malformed packet gives an error wrapping
// ErrPacket, never a crash, and a nil or empty packet asks for loss
// concealment.
//
// Encoder and Decoder are not safe for concurrent use: each belongs to one
// stream and one goroutine. Encode and Decode allocate nothing
// (BenchmarkEncode, BenchmarkDecode). Close frees the C state; a cleanup
// frees it too if Close is forgotten.
//
// Without cgo (CGO_ENABLED=0) the package still builds: Available is false
// and NewEncoder and NewDecoder return ErrUnavailable.
package opus

import "errors"

// The stream's shape.
const (
	// SampleRate is the API sample rate: what Encode takes and Decode gives.
	SampleRate = 8000
	// Channels: mono.
	Channels = 1
	// FrameSamples is 20 ms at SampleRate, the only frame Encode takes.
	FrameSamples = SampleRate / 50
	// RTPClockRate is Opus's RTP clock, whatever SampleRate is (RFC 7587).
	RTPClockRate = 48000
	// RTPFrameTicks is one 20 ms frame in RTP timestamp units.
	RTPFrameTicks = RTPClockRate / 50
	// MaxFrameSamples is the longest frame a packet may hold (120 ms) at
	// SampleRate: a Decode buffer this long takes any packet.
	MaxFrameSamples = SampleRate * 120 / 1000
	// MaxPacket is the most bytes one encoded 20 ms frame can take.
	MaxPacket = 1275
	// DefaultBitrate is the encoder's bitrate when NewEncoder is given 0:
	// 24 kbit/s, more than narrowband speech needs.
	DefaultBitrate = 24000
)

// Errors. Each is wrapped with what went wrong; check with errors.Is.
var (
	// ErrPacket: Decode was given bytes that are not an Opus packet.
	ErrPacket = errors.New("opus: invalid packet")
	// ErrBuffer: a buffer is too small or a frame is not FrameSamples long.
	ErrBuffer = errors.New("opus: bad buffer size")
	// ErrConfig: a bitrate libopus does not take.
	ErrConfig = errors.New("opus: bad configuration")
	// ErrClosed: the Encoder or Decoder was closed.
	ErrClosed = errors.New("opus: closed")
	// ErrUnavailable: this build has no libopus (it was built without cgo).
	ErrUnavailable = errors.New("opus: not in this build (built without cgo): build with CGO_ENABLED=1, a C compiler and libopus-dev")
	// ErrLibopus: libopus failed some other way; the wrapped text is its own.
	ErrLibopus = errors.New("opus: libopus")
)
