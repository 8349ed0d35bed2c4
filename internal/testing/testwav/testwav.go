// Package testwav writes and reads WAV files byte by byte for the server's
// tests, independently of media/wav, so that a test controls exactly what is
// on disk (including broken files) and checks exactly what was written.
package testwav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// WAVE format tags.
const (
	TagPCM   = 1
	TagALaw  = 6
	TagMuLaw = 7
)

// Header is the fmt chunk of a WAV file, as it is on disk.
type Header struct {
	Tag        uint16 // TagPCM, TagALaw or TagMuLaw (or anything, to test rejection)
	Channels   int
	SampleRate int
	Bits       int // bits per sample: 16 for PCM, 8 for G.711
}

// Errors returned by Parse.
var (
	ErrNotWAV = errors.New("testwav: not a RIFF/WAVE file")
	ErrChunk  = errors.New("testwav: bad chunk")
)

// Encode returns a whole WAV file holding samples (interleaved linear 16-bit)
// in h's format. For TagALaw and TagMuLaw the samples are G.711-encoded; for
// TagPCM with Bits 8 they are written as unsigned 8-bit PCM.
func Encode(h Header, samples []int16) []byte {
	data := EncodeSamples(h, samples)
	blockAlign := h.Channels * h.Bits / 8
	b := make([]byte, 0, 44+len(data)+1)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+len(data)+len(data)%2))
	b = append(b, "WAVE"...)
	b = append(b, "fmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, h.Tag)
	b = binary.LittleEndian.AppendUint16(b, uint16(h.Channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(h.SampleRate))
	b = binary.LittleEndian.AppendUint32(b, uint32(h.SampleRate*blockAlign))
	b = binary.LittleEndian.AppendUint16(b, uint16(blockAlign))
	b = binary.LittleEndian.AppendUint16(b, uint16(h.Bits))
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// EncodeSamples encodes interleaved linear samples as h's data chunk bytes.
func EncodeSamples(h Header, samples []int16) []byte {
	var data []byte
	switch {
	case h.Tag == TagMuLaw:
		data = make([]byte, len(samples))
		for i, s := range samples {
			data[i] = LinearToMuLaw(s)
		}
	case h.Tag == TagALaw:
		data = make([]byte, len(samples))
		for i, s := range samples {
			data[i] = LinearToALaw(s)
		}
	case h.Bits == 8:
		data = make([]byte, len(samples))
		for i, s := range samples {
			data[i] = byte((int(s) >> 8) + 128)
		}
	default:
		data = make([]byte, 0, 2*len(samples))
		for _, s := range samples {
			data = binary.LittleEndian.AppendUint16(data, uint16(s))
		}
	}
	return data
}

// Parse reads a WAV file written by Encode or by media/wav: its header and
// its samples decoded to linear 16-bit, interleaved.
func Parse(b []byte) (Header, []int16, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return Header{}, nil, ErrNotWAV
	}
	var h Header
	var haveFmt bool
	for p := 12; p+8 <= len(b); {
		id := string(b[p : p+4])
		size := int(binary.LittleEndian.Uint32(b[p+4 : p+8]))
		body := p + 8
		if body+size > len(b) {
			return h, nil, fmt.Errorf("%w: %q runs past the end of the file", ErrChunk, id)
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return h, nil, fmt.Errorf("%w: fmt is %d bytes", ErrChunk, size)
			}
			f := b[body:]
			h.Tag = binary.LittleEndian.Uint16(f[0:2])
			h.Channels = int(binary.LittleEndian.Uint16(f[2:4]))
			h.SampleRate = int(binary.LittleEndian.Uint32(f[4:8]))
			h.Bits = int(binary.LittleEndian.Uint16(f[14:16]))
			haveFmt = true
		case "data":
			if !haveFmt {
				return h, nil, fmt.Errorf("%w: data before fmt", ErrChunk)
			}
			return h, DecodeSamples(h, b[body:body+size]), nil
		}
		p = body + size + size%2
	}
	return h, nil, fmt.Errorf("%w: no data chunk", ErrChunk)
}

// DecodeSamples decodes a data chunk's bytes in h's format to linear samples.
func DecodeSamples(h Header, data []byte) []int16 {
	switch h.Tag {
	case TagMuLaw:
		out := make([]int16, len(data))
		for i, c := range data {
			out[i] = MuLawToLinear(c)
		}
		return out
	case TagALaw:
		out := make([]int16, len(data))
		for i, c := range data {
			out[i] = ALawToLinear(c)
		}
		return out
	}
	out := make([]int16, len(data)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
	}
	return out
}

const (
	muBias = 0x84
	muClip = 32635
)

// LinearToMuLaw is G.711 mu-law encoding.
func LinearToMuLaw(s int16) byte {
	x := int(s)
	sign := 0
	if x < 0 {
		x = -x
		sign = 0x80
	}
	if x > muClip {
		x = muClip
	}
	x += muBias
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (x >> (exp + 3)) & 0x0F
	return ^byte(sign | exp<<4 | mant)
}

// MuLawToLinear is G.711 mu-law decoding.
func MuLawToLinear(u byte) int16 {
	u = ^u
	exp := int(u>>4) & 7
	x := ((int(u&0x0F) << 3) + muBias) << exp
	x -= muBias
	if u&0x80 != 0 {
		x = -x
	}
	return int16(x)
}

var aSegEnd = [8]int{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}

// LinearToALaw is G.711 A-law encoding.
func LinearToALaw(s int16) byte {
	x := int(s) >> 3
	var mask byte = 0xD5
	if x < 0 {
		mask = 0x55
		x = -x - 1
	}
	seg := 0
	for seg < 8 && x > aSegEnd[seg] {
		seg++
	}
	if seg >= 8 {
		return 0x7F ^ mask
	}
	a := byte(seg << 4)
	if seg < 2 {
		a |= byte(x>>1) & 0x0F
	} else {
		a |= byte(x>>seg) & 0x0F
	}
	return a ^ mask
}

// ALawToLinear is G.711 A-law decoding.
func ALawToLinear(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	seg := int(a&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// Tone is one generated key press: its digit and its first and last+1 sample.
type Tone struct {
	Digit      byte
	Start, End int
}

var (
	lowHz  = [4]float64{697, 770, 852, 941}
	highHz = [4]float64{1209, 1336, 1477, 1633}
)

const keypad = "123A456B789C*0#D"

// DTMF returns 8 kHz audio with one key press per digit, each on for on and
// followed by off of silence, each frequency at level dBm0 (0 dBm0 is a sine
// of peak 22860), after lead of silence. It returns the tones' positions.
func DTMF(digits string, lead, on, off time.Duration, level float64) ([]int16, []Tone) {
	const rate = 8000
	n := func(d time.Duration) int { return int(d * rate / time.Second) }
	amp := 22860 * math.Pow(10, level/20)
	out := make([]int16, n(lead), n(lead)+len(digits)*(n(on)+n(off)))
	tones := make([]Tone, 0, len(digits))
	for i := range len(digits) {
		k := -1
		for j := range len(keypad) {
			if keypad[j] == digits[i] {
				k = j
			}
		}
		if k < 0 {
			out = append(out, make([]int16, n(on)+n(off))...)
			continue
		}
		fl, fh := lowHz[k/4], highHz[k%4]
		start := len(out)
		for t := range n(on) {
			x := amp*math.Sin(2*math.Pi*fl*float64(t)/rate) + amp*math.Sin(2*math.Pi*fh*float64(t)/rate)
			out = append(out, int16(math.Round(x)))
		}
		tones = append(tones, Tone{Digit: digits[i], Start: start, End: len(out)})
		out = append(out, make([]int16, n(off))...)
	}
	return out, tones
}

// Murmur returns n samples of quiet, speech-band noise (no tones), the same
// for the same seed: audio that a masker must pass through untouched.
func Murmur(n int, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]int16, n)
	var a, b float64
	for i := range out {
		w := r.NormFloat64() * 1500
		// Two one-pole low-passes: energy mostly under 600 Hz, like a voice's
		// fundamental and first formant, far below any DTMF pair.
		a += 0.25 * (w - a)
		b += 0.25 * (a - b)
		out[i] = int16(math.Round(b))
	}
	return out
}

// Interleave makes stereo from two mono channels, the shorter padded with
// silence.
func Interleave(left, right []int16) []int16 {
	out := make([]int16, 2*max(len(left), len(right)))
	for i, v := range left {
		out[2*i] = v
	}
	for i, v := range right {
		out[2*i+1] = v
	}
	return out
}

// Channel extracts channel c of interleaved audio with channels channels.
func Channel(samples []int16, channels, c int) []int16 {
	out := make([]int16, 0, len(samples)/channels)
	for i := c; i < len(samples); i += channels {
		out = append(out, samples[i])
	}
	return out
}
