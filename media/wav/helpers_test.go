package wav

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/hushphone/hushphone/media/g711"
)

// Builders for hand-made WAV files.

func chunk(id string, body []byte) []byte {
	b := append([]byte(id), le32(uint32(len(body)))...)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func riff(chunks ...[]byte) []byte {
	var body []byte
	for _, c := range chunks {
		body = append(body, c...)
	}
	return append(append([]byte("RIFF"), le32(uint32(4+len(body)))...), append([]byte("WAVE"), body...)...)
}

// fmtBody is a plain fmt chunk body; align 0 means channels*bits/8.
func fmtBody(tag, channels uint16, rate uint32, bits, align uint16) []byte {
	if align == 0 {
		align = channels * bits / 8
	}
	b := le16(tag)
	b = append(b, le16(channels)...)
	b = append(b, le32(rate)...)
	b = append(b, le32(rate*uint32(align))...)
	b = append(b, le16(align)...)
	return append(b, le16(bits)...)
}

// extBody is a WAVE_FORMAT_EXTENSIBLE fmt chunk body with sub-format sub.
func extBody(sub, channels uint16, rate uint32, bits, valid uint16) []byte {
	b := fmtBody(tagExtensible, channels, rate, bits, 0)
	b = append(b, le16(22)...)
	b = append(b, le16(valid)...)
	b = append(b, le32(uint32(1<<channels-1))...) // channel mask
	b = append(b, le16(sub)...)
	return append(b, subtypeTail...)
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// pcm16 is little-endian sample data.
func pcm16(s []int16) []byte {
	var b []byte
	for _, v := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

// signal is frames frames of a two-tone test signal with the extremes mixed
// in, interleaved over channels (each channel different).
func signal(frames, channels int) []int16 {
	s := make([]int16, 0, frames*channels)
	for i := range frames {
		for c := range channels {
			v := 12000*math.Sin(2*math.Pi*697*float64(i)/8000+float64(c)) +
				9000*math.Sin(2*math.Pi*1209*float64(i)/8000)
			switch i % 97 {
			case 13:
				v = 32767
			case 14:
				v = -32768
			case 15:
				v = 0
			}
			s = append(s, int16(v))
		}
	}
	return s
}

// quantized is what samples become after a round trip through format f.
func quantized(f Format, s []int16) []int16 {
	out := make([]int16, len(s))
	for i, v := range s {
		switch f {
		case FormatMuLaw:
			out[i] = g711.DecodeULaw(g711.EncodeULaw(v))
		case FormatALaw:
			out[i] = g711.DecodeALaw(g711.EncodeALaw(v))
		default:
			out[i] = v
		}
	}
	return out
}

// seekBuffer is an in-memory io.WriteSeeker.
type seekBuffer struct {
	b   []byte
	off int64
}

func (s *seekBuffer) Write(p []byte) (int, error) {
	if need := int(s.off) + len(p); need > len(s.b) {
		s.b = append(s.b, make([]byte, need-len(s.b))...)
	}
	copy(s.b[s.off:], p)
	s.off += int64(len(p))
	return len(p), nil
}

func (s *seekBuffer) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += s.off
	case io.SeekEnd:
		off += int64(len(s.b))
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	s.off = off
	return off, nil
}

// discardSeeker counts and discards writes (for benchmarks).
type discardSeeker struct{ off, end int64 }

func (d *discardSeeker) Write(p []byte) (int, error) {
	d.off += int64(len(p))
	d.end = max(d.end, d.off)
	return len(p), nil
}

func (d *discardSeeker) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += d.off
	case io.SeekEnd:
		off += d.end
	}
	d.off = off
	return off, nil
}

// corpusDir finds the repository's testdata/dtmf-corpus: $HUSHPHONE_CORPUS,
// or under the directory holding go.mod.
func corpusDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("HUSHPHONE_CORPUS"); dir != "" {
		return dir
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "dtmf-corpus")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
