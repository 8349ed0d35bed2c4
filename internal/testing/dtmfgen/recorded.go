package dtmfgen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNoRecordings is returned when testdata/voices cannot be found.
var ErrNoRecordings = errors.New("dtmfgen: recorded voices not found")

// Recording is a piece of recorded audio from testdata/voices: human
// voices and music that Debian packages ship (testdata/voices/README.md
// names each one's origin and licence), 8 kHz mu-law.
type Recording struct {
	Name    string // the file's name without .wav: "en-allison", "music-cold-day"
	Music   bool   // music, not a voice
	Samples []int16
}

// Recordings reads every recording in testdata/voices, in name order. The
// folder is part of the repository: a test without it must fail.
func Recordings() ([]Recording, error) {
	dir, err := voicesDir()
	if err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.wav"))
	if err != nil {
		return nil, fmt.Errorf("dtmfgen: recordings: %w", err)
	}
	sort.Strings(paths)
	var out []Recording
	for _, p := range paths {
		rate, s, err := readWAV(p)
		if err != nil {
			return nil, err
		}
		if rate != SampleRate {
			return nil, fmt.Errorf("%w: %s is at %d Hz, not %d", ErrBadWAV, p, rate, SampleRate)
		}
		name := strings.TrimSuffix(filepath.Base(p), ".wav")
		out = append(out, Recording{Name: name, Music: strings.HasPrefix(name, "music-"), Samples: s})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no WAV in %s", ErrNoRecordings, dir)
	}
	return out, nil
}

// voicesDir is testdata/voices under the module root (the directory that
// holds go.mod, found by walking up from the working directory).
func voicesDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoRecordings, err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "voices"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod above the working directory", ErrNoRecordings)
		}
		dir = parent
	}
}
