// Package wav reads and writes WAV files holding telephone audio: 16-bit PCM,
// 8-bit A-law or 8-bit mu-law, mono or stereo, at any sample rate (callers
// decide which rates they accept). WAVE_FORMAT_EXTENSIBLE files with one of
// those sub-formats are read too. Samples are always handed over as
// interleaved 16-bit linear values; G.711 is decoded and encoded with
// media/g711.
//
// Reading skips chunks it does not need (LIST, fact, cue, ...), honours the
// pad byte after odd-sized chunks and stops at the end of the data chunk, so
// it works on any io.Reader, including a network stream. Anything it cannot
// read is reported with an error wrapping one of ErrNotWAV, ErrUnsupported or
// ErrTruncated, with a message saying what was found.
package wav

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Errors. Every error from reading wraps one of the first three (or is an
// error from the underlying reader); check with errors.Is.
var (
	// ErrNotWAV: the input is not a RIFF/WAVE file.
	ErrNotWAV = errors.New("wav: not a WAV file")
	// ErrUnsupported: a WAV file (or a Header to write) in a format, bit
	// depth or channel count this package does not handle.
	ErrUnsupported = errors.New("wav: unsupported format")
	// ErrTruncated: the header or data is shorter than it declares.
	ErrTruncated = errors.New("wav: truncated")
	// ErrPartialFrame: samples to write are not a whole number of frames
	// (a frame holds one sample per channel).
	ErrPartialFrame = errors.New("wav: partial frame")
	// ErrClosed: Write or Flush on a closed Writer.
	ErrClosed = errors.New("wav: writer is closed")
)

// supported is appended to every ErrUnsupported message.
const supported = "supported: 16-bit PCM, 8-bit A-law and 8-bit mu-law (plain or WAVE_FORMAT_EXTENSIBLE), mono or stereo"

// Format is a WAV format tag. Only the three below are supported.
type Format uint16

// Supported formats, by their WAVE format tag.
const (
	FormatPCM16 Format = 1 // 16-bit signed little-endian PCM
	FormatALaw  Format = 6 // 8-bit G.711 A-law
	FormatMuLaw Format = 7 // 8-bit G.711 mu-law
)

// String returns "PCM16", "A-law", "mu-law", or a description of another
// format tag, e.g. "IEEE float (format 3)".
func (f Format) String() string {
	switch f {
	case FormatPCM16:
		return "PCM16"
	case FormatALaw:
		return "A-law"
	case FormatMuLaw:
		return "mu-law"
	}
	return formatName(uint16(f))
}

// formatNames names common format tags for error messages.
var formatNames = map[uint16]string{
	0x0000: "unknown",
	0x0001: "PCM",
	0x0002: "Microsoft ADPCM",
	0x0003: "IEEE float",
	0x0006: "A-law",
	0x0007: "mu-law",
	0x0011: "IMA ADPCM",
	0x0031: "GSM 6.10",
	0x0050: "MPEG",
	0x0055: "MPEG Layer 3",
	0xFFFE: "WAVE_FORMAT_EXTENSIBLE",
}

// formatName describes a format tag for error messages.
func formatName(tag uint16) string {
	name := formatNames[tag]
	if name == "" {
		name = "format"
	}
	return fmt.Sprintf("%s (format %#04x)", name, tag)
}

// bytesPerSample is 2 for PCM16, 1 for G.711, 0 for anything else.
func (f Format) bytesPerSample() int {
	switch f {
	case FormatPCM16:
		return 2
	case FormatALaw, FormatMuLaw:
		return 1
	}
	return 0
}

// Header describes the audio in a WAV file.
type Header struct {
	Format     Format
	Channels   int // 1 or 2
	SampleRate int // frames per second, e.g. 8000
}

// maxUint32 bounds every size in a RIFF file.
const maxUint32 = 1<<32 - 1

// check reports whether h can be written.
func (h Header) check() error {
	bps := h.Format.bytesPerSample()
	switch {
	case bps == 0:
		return fmt.Errorf("%w: %v; %s", ErrUnsupported, h.Format, supported)
	case h.Channels != 1 && h.Channels != 2:
		return fmt.Errorf("%w: %d channels; %s", ErrUnsupported, h.Channels, supported)
	case h.SampleRate <= 0 || int64(h.SampleRate)*int64(h.Channels*bps) > maxUint32:
		return fmt.Errorf("%w: sample rate %d Hz; it must be positive and its byte rate fit in 32 bits", ErrUnsupported, h.SampleRate)
	}
	return nil
}

// Audio is a whole WAV file in memory.
type Audio struct {
	Header
	Samples []int16 // interleaved linear samples (G.711 decoded)
}

// Frames returns the number of samples per channel.
func (a *Audio) Frames() int {
	if a.Channels <= 0 {
		return 0
	}
	return len(a.Samples) / a.Channels
}

// Read reads a whole WAV file. If the data chunk is shorter than it declares,
// Read returns the samples it got (whole frames) together with an error
// wrapping ErrTruncated.
func Read(r io.Reader) (*Audio, error) {
	rd, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	a := &Audio{Header: rd.Header()}
	// Trust the declared size only so far (it may be a lie), and leave room
	// for the last Read, the one that returns io.EOF.
	const maxPrealloc = 1 << 16
	want := maxPrealloc
	if n := rd.Frames(); n >= 0 {
		want = int(min(n*int64(a.Channels), maxPrealloc))
	}
	a.Samples = make([]int16, 0, want+a.Channels)
	for {
		if len(a.Samples) == cap(a.Samples) {
			a.Samples = slices.Grow(a.Samples, len(a.Samples))
		}
		n, err := rd.Read(a.Samples[len(a.Samples):cap(a.Samples)])
		a.Samples = a.Samples[:len(a.Samples)+n]
		if errors.Is(err, io.EOF) {
			return a, nil
		}
		if errors.Is(err, ErrTruncated) {
			return a, err
		}
		if err != nil {
			return nil, err
		}
	}
}

// ReadFile reads a whole WAV file from path; see Read.
func ReadFile(path string) (*Audio, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() // read-only: a close error changes nothing
	a, err := Read(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return a, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Write writes a as a WAV file encoded in a.Format. The samples must be a
// whole number of frames.
func Write(w io.Writer, a *Audio) error {
	if err := a.Header.check(); err != nil {
		return err
	}
	if len(a.Samples)%a.Channels != 0 {
		return partialFrame(len(a.Samples), a.Channels)
	}
	bps := a.Format.bytesPerSample()
	size := int64(len(a.Samples)) * int64(bps)
	if size > maxData(a.Format) {
		return tooLarge(size)
	}
	var buf [4096]byte
	if _, err := w.Write(appendHeader(buf[:0], a.Header, uint32(size))); err != nil {
		return fmt.Errorf("wav: writing header: %w", err)
	}
	for s := a.Samples; len(s) > 0; {
		n := encode(buf[:], s, a.Format)
		if _, err := w.Write(buf[:n*bps]); err != nil {
			return fmt.Errorf("wav: writing data: %w", err)
		}
		s = s[n:]
	}
	if size%2 == 1 {
		if _, err := w.Write([]byte{0}); err != nil {
			return fmt.Errorf("wav: writing data: %w", err)
		}
	}
	return nil
}

// WriteFile creates (or truncates) path and writes a to it; see Write. It is
// a plain create and write: on error a partial file may be left behind.
// Callers that need atomic replacement write to a temporary file and rename.
func WriteFile(path string, a *Audio) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	err = Write(bw, a)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func partialFrame(samples, channels int) error {
	return fmt.Errorf("%w: %d samples are not a whole number of %d-channel frames", ErrPartialFrame, samples, channels)
}

func tooLarge(size int64) error {
	return fmt.Errorf("%w: %d bytes of audio pass the 4 GiB limit of a RIFF WAV file (RF64 is not supported)", ErrUnsupported, size)
}
