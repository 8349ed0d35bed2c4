package dtmfgen

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrBadWAV is returned for a WAV file this package cannot read: it reads
// only mono 16-bit PCM and mono 8-bit G.711 mu-law.
var ErrBadWAV = errors.New("dtmfgen: not a mono 16-bit PCM or mu-law WAV")

// writeWAV writes 8 kHz (or rate) mono PCM16 with the canonical 44-byte header.
func writeWAV(path string, rate int, s []int16) error {
	n := 2 * len(s)
	b := make([]byte, 44+n)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(n))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	return writeFileAtomic(path, b)
}

// parseWAV reads mono PCM16, or mono 8-bit mu-law (the recordings in
// testdata/voices), from a RIFF image. A data chunk whose size runs
// past the end (as from a streaming writer) is read to the end.
func parseWAV(b []byte) (rate int, s []int16, err error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, nil, fmt.Errorf("%w: no RIFF/WAVE header", ErrBadWAV)
	}
	fmtSeen, ulaw := false, false
	for p := 12; p+8 <= len(b); {
		id := string(b[p : p+4])
		size := int(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8:]
		if size < 0 || size > len(body) {
			if id != "data" {
				return 0, nil, fmt.Errorf("%w: chunk %q truncated", ErrBadWAV, id)
			}
			size = len(body) &^ 1
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return 0, nil, fmt.Errorf("%w: short fmt chunk", ErrBadWAV)
			}
			format := binary.LittleEndian.Uint16(body[0:])
			channels := binary.LittleEndian.Uint16(body[2:])
			bits := binary.LittleEndian.Uint16(body[14:])
			ulaw = format == 7 && bits == 8
			if channels != 1 || !ulaw && (format != 1 || bits != 16) {
				return 0, nil, fmt.Errorf("%w: format %d, %d channels, %d bits", ErrBadWAV, format, channels, bits)
			}
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			fmtSeen = true
		case "data":
			if !fmtSeen {
				return 0, nil, fmt.Errorf("%w: data before fmt", ErrBadWAV)
			}
			if ulaw {
				s = make([]int16, size)
				for i := range s {
					s[i] = ulawDecode(body[i])
				}
				return rate, s, nil
			}
			s = make([]int16, size/2)
			for i := range s {
				s[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return rate, s, nil
		}
		p += 8 + size + size&1
	}
	return 0, nil, fmt.Errorf("%w: no data chunk", ErrBadWAV)
}

func readWAV(path string) (rate int, s []int16, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, fmt.Errorf("dtmfgen: read WAV: %w", err)
	}
	rate, s, err = parseWAV(b)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	return rate, s, nil
}

// writeFileAtomic writes b to path through a temporary file and a rename, so
// a reader (or a parallel test) never sees half a file.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("dtmfgen: write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("dtmfgen: write %s: %w", path, werr)
	}
	return nil
}

// caseJSON is the corpus's truth file.
type caseJSON struct {
	Case       string `json:"case"`
	SampleRate int    `json:"sample_rate"`
	Samples    int    `json:"samples"`
	Events     []Tone `json:"events"`
}

// WriteCase writes c into dir as the corpus does: NAME.wav (8 kHz mono PCM16,
// the caller audio with its key presses), NAME.json (the truth, in the
// corpus's format) and NAME.speech.wav (the same audio without key presses).
func WriteCase(dir string, c *Case) error {
	if c == nil || c.Name == "" {
		return fmt.Errorf("%w: a case needs a name", ErrBadSpec)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dtmfgen: write case: %w", err)
	}
	base := filepath.Join(dir, c.Name)
	if err := writeWAV(base+".wav", SampleRate, c.Samples); err != nil {
		return err
	}
	if err := writeWAV(base+".speech.wav", SampleRate, c.Speech); err != nil {
		return err
	}
	j, err := json.MarshalIndent(caseJSON{Case: c.Name, SampleRate: SampleRate, Samples: len(c.Samples), Events: c.Tones}, "", " ")
	if err != nil {
		return fmt.Errorf("dtmfgen: encode truth of %s: %w", c.Name, err)
	}
	return writeFileAtomic(base+".json", append(j, '\n'))
}

// ReadCase reads a case written by WriteCase, or one of the corpus in
// testdata/dtmf-corpus (which has no NAME.speech.wav: Speech is then nil).
func ReadCase(dir, name string) (*Case, error) {
	base := filepath.Join(dir, name)
	b, err := os.ReadFile(base + ".json")
	if err != nil {
		return nil, fmt.Errorf("dtmfgen: read case: %w", err)
	}
	var j caseJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("dtmfgen: %s.json: %w", base, err)
	}
	rate, s, err := readWAV(base + ".wav")
	if err != nil {
		return nil, err
	}
	if rate != SampleRate || len(s) != j.Samples {
		return nil, fmt.Errorf("%w: %s.wav has %d samples at %d Hz, the truth says %d at %d Hz", ErrBadWAV, base, len(s), rate, j.Samples, j.SampleRate)
	}
	c := &Case{Name: name, Samples: s, Tones: j.Events}
	if _, err := os.Stat(base + ".speech.wav"); err == nil {
		rate, sp, err := readWAV(base + ".speech.wav")
		if err != nil {
			return nil, err
		}
		if rate != SampleRate || len(sp) != len(s) {
			return nil, fmt.Errorf("%w: %s.speech.wav does not match %s.wav", ErrBadWAV, base, base)
		}
		c.Speech = sp
	}
	return c, nil
}
