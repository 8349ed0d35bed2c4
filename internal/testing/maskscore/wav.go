package maskscore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// SampleRate is the only rate the scorer works at.
const SampleRate = 8000

// ErrWAV is returned for files that are not 8 kHz mono PCM16 WAV.
var ErrWAV = errors.New("not an 8 kHz mono 16-bit PCM WAV file")

// ReadWAV reads an 8 kHz mono 16-bit PCM WAV file.
func ReadWAV(path string) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read wav: %w", err)
	}
	s, err := parseWAV(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func parseWAV(b []byte) ([]int16, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: no RIFF/WAVE header", ErrWAV)
	}
	le := binary.LittleEndian
	haveFmt := false
	for pos := 12; pos+8 <= len(b); {
		id := string(b[pos : pos+4])
		n := int(le.Uint32(b[pos+4:]))
		body := pos + 8
		if n < 0 || n > len(b)-body {
			if id != "data" {
				return nil, fmt.Errorf("%w: chunk %q runs past the end", ErrWAV, id)
			}
			n = len(b) - body // truncated data chunk: take what is there
		}
		switch id {
		case "fmt ":
			if n < 16 {
				return nil, fmt.Errorf("%w: short fmt chunk", ErrWAV)
			}
			format, ch := le.Uint16(b[body:]), le.Uint16(b[body+2:])
			rate, bits := le.Uint32(b[body+4:]), le.Uint16(b[body+14:])
			if format != 1 || ch != 1 || rate != SampleRate || bits != 16 {
				return nil, fmt.Errorf("%w: format %d, %d channels, %d Hz, %d bits", ErrWAV, format, ch, rate, bits)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data before fmt", ErrWAV)
			}
			s := make([]int16, n/2)
			for i := range s {
				s[i] = int16(le.Uint16(b[body+2*i:]))
			}
			return s, nil
		}
		pos = body + n + n&1
	}
	return nil, fmt.Errorf("%w: no data chunk", ErrWAV)
}

// WriteWAV writes samples as an 8 kHz mono 16-bit PCM WAV file.
func WriteWAV(path string, samples []int16) error {
	if err := os.WriteFile(path, encodeWAV(samples), 0o644); err != nil {
		return fmt.Errorf("write wav: %w", err)
	}
	return nil
}

func encodeWAV(samples []int16) []byte {
	le := binary.LittleEndian
	data := 2 * len(samples)
	b := make([]byte, 44+data)
	copy(b[0:], "RIFF")
	le.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], 1) // PCM
	le.PutUint16(b[22:], 1) // mono
	le.PutUint32(b[24:], SampleRate)
	le.PutUint32(b[28:], 2*SampleRate) // byte rate
	le.PutUint16(b[32:], 2)            // block align
	le.PutUint16(b[34:], 16)           // bits
	copy(b[36:], "data")
	le.PutUint32(b[40:], uint32(data))
	for i, v := range samples {
		le.PutUint16(b[44+2*i:], uint16(v))
	}
	return b
}
