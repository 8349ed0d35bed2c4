package wav

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/hushphone/hushphone/media/g711"
)

var le = binary.LittleEndian

// Format tags and sizes of the fmt chunk.
const (
	tagExtensible   = 0xFFFE
	fmtSize         = 16 // PCM fmt chunk
	fmtSizeEx       = 18 // non-PCM fmt chunk: adds cbSize
	fmtSizeExtended = 40 // WAVE_FORMAT_EXTENSIBLE: cbSize 22
	unknownSize     = maxUint32
	soxPipeSize     = 0x7FFFF000 // what sox writes when its output cannot seek
)

// subtypeTail is bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID of the form
// {0000xxxx-0000-0010-8000-00AA00389B71}, whose first two bytes are the
// format tag.
var subtypeTail = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// headerLen is the length of the header this package writes: RIFF, fmt, for
// G.711 a fact chunk (required for non-PCM formats), and the data chunk
// header.
func headerLen(f Format) int {
	if f == FormatPCM16 {
		return 12 + 8 + fmtSize + 8
	}
	return 12 + 8 + fmtSizeEx + 8 + 4 + 8
}

// maxData is the largest data chunk this package writes in format f: the RIFF
// size, which counts everything after its own 8 bytes including the pad byte,
// must fit in 32 bits (which also keeps it clear of unknownSize).
func maxData(f Format) int64 {
	return maxUint32 - int64(headerLen(f)-8) - 1
}

// appendHeader appends the WAV header for h with a data chunk of dataSize
// bytes; dataSize unknownSize writes "unknown" sizes (a recording in progress).
func appendHeader(b []byte, h Header, dataSize uint32) []byte {
	bps := h.Format.bytesPerSample()
	hl := headerLen(h.Format)
	riff, frames := uint32(unknownSize), uint32(unknownSize)
	if dataSize != unknownSize {
		riff = uint32(hl-8) + dataSize + dataSize&1
		frames = dataSize / uint32(bps*h.Channels)
	}
	b = append(b, "RIFF"...)
	b = le.AppendUint32(b, riff)
	b = append(b, "WAVEfmt "...)
	if h.Format == FormatPCM16 {
		b = le.AppendUint32(b, fmtSize)
	} else {
		b = le.AppendUint32(b, fmtSizeEx)
	}
	b = le.AppendUint16(b, uint16(h.Format))
	b = le.AppendUint16(b, uint16(h.Channels))
	b = le.AppendUint32(b, uint32(h.SampleRate))
	b = le.AppendUint32(b, uint32(h.SampleRate*h.Channels*bps))
	b = le.AppendUint16(b, uint16(h.Channels*bps))
	b = le.AppendUint16(b, uint16(8*bps))
	if h.Format != FormatPCM16 {
		b = le.AppendUint16(b, 0) // cbSize
		b = append(b, "fact"...)
		b = le.AppendUint32(b, 4)
		b = le.AppendUint32(b, frames)
	}
	b = append(b, "data"...)
	return le.AppendUint32(b, dataSize)
}

// parseFmt parses a fmt chunk of declared size size whose first
// min(size, 40) bytes are in b.
func parseFmt(b []byte, size uint32) (Header, error) {
	if size < fmtSize {
		return Header{}, fmt.Errorf("%w: fmt chunk of %d bytes, fewer than the 16 every WAV format needs", ErrUnsupported, size)
	}
	tag := le.Uint16(b[0:])
	channels := int(le.Uint16(b[2:]))
	rate := le.Uint32(b[4:])
	align := int(le.Uint16(b[12:]))
	bits := int(le.Uint16(b[14:]))
	validBits := bits
	if tag == tagExtensible {
		if size < fmtSizeExtended {
			return Header{}, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes, needs %d (%d missing)",
				ErrTruncated, size, fmtSizeExtended, fmtSizeExtended-size)
		}
		if cb := le.Uint16(b[16:]); cb < fmtSizeExtended-fmtSizeEx {
			return Header{}, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk with a %d-byte extension, needs 22 (%d missing)",
				ErrTruncated, cb, 22-cb)
		}
		if v := int(le.Uint16(b[18:])); v != 0 {
			validBits = v
		}
		guid := b[24:40]
		if !bytes.Equal(guid[2:], subtypeTail) {
			return Header{}, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE with sub-format GUID %X; %s", ErrUnsupported, guid, supported)
		}
		tag = le.Uint16(guid)
	}
	f := Format(tag)
	want := 8 * f.bytesPerSample()
	switch {
	case want == 0:
		return Header{}, fmt.Errorf("%w: %d-bit %s; %s", ErrUnsupported, bits, formatName(tag), supported)
	case bits != want:
		return Header{}, fmt.Errorf("%w: %d-bit %s; %s", ErrUnsupported, bits, f.kind(), supported)
	case validBits > bits || validBits < want && f != FormatPCM16:
		return Header{}, fmt.Errorf("%w: %d valid bits in %d-bit %s; %s", ErrUnsupported, validBits, bits, f.kind(), supported)
	case channels != 1 && channels != 2:
		return Header{}, fmt.Errorf("%w: %d channels; %s", ErrUnsupported, channels, supported)
	case rate > 1<<31-1: // keep int(rate) positive on 32-bit platforms
		return Header{}, fmt.Errorf("%w: sample rate %d Hz", ErrUnsupported, rate)
	case align != channels*want/8:
		return Header{}, fmt.Errorf("%w: block align %d for %d-channel %v, expected %d", ErrUnsupported, align, channels, f, channels*want/8)
	}
	// Whatever is read can be written back: same limits as Writer.
	h := Header{Format: f, Channels: channels, SampleRate: int(rate)}
	return h, h.check()
}

// kind names a supported format without its bit depth.
func (f Format) kind() string {
	if f == FormatPCM16 {
		return "PCM"
	}
	return f.String()
}

// encode encodes samples from src into dst in format f and returns how many
// samples it encoded (as many as fit).
func encode(dst []byte, src []int16, f Format) int {
	switch f {
	case FormatMuLaw:
		return g711.EncodeULawTo(dst, src)
	case FormatALaw:
		return g711.EncodeALawTo(dst, src)
	}
	n := min(len(dst)/2, len(src))
	dst, src = dst[:2*n], src[:n]
	for i, s := range src {
		le.PutUint16(dst[2*i:], uint16(s))
	}
	return n
}

// decode decodes whole samples from src into dst in format f and returns how
// many samples it decoded (as many as fit).
func decode(dst []int16, src []byte, f Format) int {
	switch f {
	case FormatMuLaw:
		return g711.DecodeULawTo(dst, src)
	case FormatALaw:
		return g711.DecodeALawTo(dst, src)
	}
	n := min(len(dst), len(src)/2)
	dst, src = dst[:n], src[:2*n]
	for i := range dst {
		b := src[2*i : 2*i+2 : 2*i+2]
		dst[i] = int16(uint16(b[0]) | uint16(b[1])<<8)
	}
	return n
}
