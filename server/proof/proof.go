// Package proof checks a recording for key presses that got through the
// Masker, with a DTMF detector that is not ours: spandsp's dtmf_rx (Debian's
// libspandsp-dev, the detector build/spandsp/dtmfrx.c runs), in process
// through cgo. The result, a Proof, is what is stored with a recording and
// what `hushphone-server verify` prints: a verdict, the detector's hits (a
// count and their times, never the digits: a hit would be card data), the
// Masker's flat tones found, the detector's name and version and the WAV's
// SHA-256, so the proof can be checked again later against the same bytes.
//
// Every channel is checked on its own, fed to its own detector in 20 ms
// (160-sample) frames, as the Masker sees audio. The digits spandsp reports
// stay in the C callback, which only counts them: Go never holds one.
//
// spandsp's version: the library has no version number in its headers, only
// a release date (SPANDSP_RELEASE_DATETIME_STRING, read by the C side when
// the package is built), and cgo cannot run pkg-config at run time. So
// version.go holds pkg-config --modversion spandsp, written by go generate
// (gen_version.sh), and TestVersionIsCurrent fails when the installed
// spandsp no longer matches it.
package proof

//go:generate ./gen_version.sh

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hushphone/hushphone/media/wav"
)

// SampleRate and FrameSamples: recordings are 8 kHz, fed in 20 ms frames.
const (
	SampleRate   = 8000
	FrameSamples = 160
)

// Verdicts.
const (
	// VerdictClean: the independent detector found no digit on any channel.
	VerdictClean = "clean"
	// VerdictSuspect: it found at least one; the recording may hold card
	// data and must be looked at (and scrubbed).
	VerdictSuspect = "suspect"
)

// DetectorName names the independent detector in every Proof.
const DetectorName = "spandsp dtmf_rx"

// MaxListed bounds Hits and FlatToneTimes: a file made of key presses could
// otherwise make a proof as long as itself. HitCount and FlatTones always
// count them all.
const MaxListed = 1000

// Errors.
var (
	// ErrInput: the input cannot be checked: unreadable, not a WAV file,
	// truncated, or not 8 kHz. The message says which; it never quotes the
	// file's bytes.
	ErrInput = errors.New("proof: bad input")
	// ErrUnavailable: this build has no spandsp (built without cgo).
	ErrUnavailable = errors.New("proof: spandsp's dtmf_rx is not in this build (built without cgo)")
)

// Hit is where something was found: a channel (0 is the first, the left of
// a stereo file) and a time from the file's first sample. For a detector
// hit it is the start of the 20 ms frame during which spandsp reported a
// digit (which it does once it has seen enough of the tone: that frame
// begins within 40 ms of the tone); for a flat tone it is the start of its
// first 5 ms block. Never the digit: a hit would be card
// data.
type Hit struct {
	Channel int
	At      time.Duration
}

// Proof is the result of checking one recording.
type Proof struct {
	Verdict string // VerdictClean or VerdictSuspect
	// KeysMasked is the key presses the Masker reported on the call, set by
	// the caller when it knows them; -1 when unknown (Check sets -1).
	KeysMasked int
	// HitCount is how many digits the independent detector reported, on
	// all channels; Hits lists the first MaxListed, in file order.
	HitCount int
	Hits     []Hit
	// FlatTones is how many of the Masker's flat masking tones the file
	// holds, on all channels (see flat.go for what counts); FlatToneTimes
	// lists the first MaxListed.
	FlatTones     int
	FlatToneTimes []Hit

	Detector        string // DetectorName
	DetectorVersion string // spandsp's, e.g. "0.0.6 (release 20110122 075024)"
	SHA256          string // hex, of every byte of the file (as sha256sum gives it)
	Duration        time.Duration
	Channels        int
}

// CheckFile checks the WAV file at path; see Check.
func CheckFile(ctx context.Context, path string) (Proof, error) {
	f, err := os.Open(path)
	if err != nil {
		return Proof{}, fmt.Errorf("%w: %w", ErrInput, err)
	}
	defer f.Close() // read-only: a close error changes nothing
	p, err := Check(ctx, f)
	if err != nil {
		return Proof{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Check reads a whole WAV file from r (8 kHz; mono or stereo; 16-bit PCM,
// mu-law or A-law) and checks every channel. The SHA-256 is of every byte r
// gives, to its end, including chunks after the audio. Errors about the
// input wrap ErrInput.
func Check(ctx context.Context, r io.Reader) (Proof, error) {
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(r, h), 64<<10)
	rd, err := wav.NewReader(br)
	if err != nil {
		return Proof{}, inputError(err)
	}
	hdr := rd.Header()
	if hdr.SampleRate != SampleRate {
		return Proof{}, fmt.Errorf("%w: %d Hz audio; the check needs 8000 Hz (convert first, e.g. sox IN.wav -r 8000 OUT.wav)",
			ErrInput, hdr.SampleRate)
	}
	c, err := newChecker(hdr.Channels)
	if err != nil {
		return Proof{}, err
	}
	defer c.close()
	if err := c.run(ctx, rd); err != nil {
		return Proof{}, err
	}
	// Hash the rest: chunks after the data chunk are part of the file.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return Proof{}, fmt.Errorf("%w: reading after the audio: %w", ErrInput, err)
	}
	p := c.proof()
	p.SHA256 = hex.EncodeToString(h.Sum(nil))
	return p, nil
}

// inputError turns an error from media/wav into one wrapping ErrInput. A
// file that is not a WAV file is described without quoting its first bytes,
// which could be anything, card numbers included.
func inputError(err error) error {
	switch {
	case errors.Is(err, wav.ErrNotWAV):
		return &inputMsgError{msg: ErrInput.Error() + ": not a WAV file (no RIFF/WAVE header)", errs: []error{ErrInput, wav.ErrNotWAV}}
	case errors.Is(err, wav.ErrUnsupported), errors.Is(err, wav.ErrTruncated):
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	return fmt.Errorf("%w: reading: %w", ErrInput, err)
}

// inputMsgError is an error with its own message that wraps several sentinels.
type inputMsgError struct {
	msg  string
	errs []error
}

func (e *inputMsgError) Error() string   { return e.msg }
func (e *inputMsgError) Unwrap() []error { return e.errs }

// checkChunk is the frames read and checked at a time (0.5 s).
const checkChunk = 25 * FrameSamples

// checker runs the detectors and the flat-tone counters over one file.
type checker struct {
	ch     int
	rx     []*rx
	flat   []flatCounter
	frame  [][FrameSamples]int16 // one frame of each channel
	frames int64                 // frames (samples per channel) checked

	hitCount  int
	hits      []Hit
	flatCount int
	flatTimes []Hit
}

func newChecker(channels int) (*checker, error) {
	c := &checker{ch: channels, flat: make([]flatCounter, channels), frame: make([][FrameSamples]int16, channels)}
	for range channels {
		r, err := newRx()
		if err != nil {
			c.close()
			return nil, err
		}
		c.rx = append(c.rx, r)
	}
	return c, nil
}

func (c *checker) close() {
	for _, r := range c.rx {
		r.close()
	}
	c.rx = nil
}

// run checks every sample rd gives.
func (c *checker) run(ctx context.Context, rd *wav.Reader) error {
	buf := make([]int16, checkChunk*c.ch)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("proof: %w", err)
		}
		n, err := readFull(rd, buf)
		c.check(buf[:n])
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readFull fills buf (a whole number of frames) unless the data ends first,
// so that every 20 ms frame but the last is whole. At the end of the data it
// returns io.EOF; any other error wraps ErrInput.
func readFull(rd *wav.Reader, buf []int16) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := rd.Read(buf[n:])
		n += k
		if errors.Is(err, io.EOF) {
			return n, io.EOF
		}
		if err != nil {
			return n, inputError(err)
		}
	}
	return n, nil
}

// check feeds interleaved samples, whole frames but for the file's last.
func (c *checker) check(x []int16) {
	for len(x) > 0 {
		n := min(len(x)/c.ch, FrameSamples)
		at := time.Duration(c.frames) * time.Second / SampleRate
		for ch := range c.ch {
			f := c.frame[ch][:n]
			for i := range f {
				f[i] = x[i*c.ch+ch]
			}
			for range c.rx[ch].feed(f) {
				c.hitCount++
				if len(c.hits) < MaxListed {
					c.hits = append(c.hits, Hit{Channel: ch, At: at})
				}
			}
			if start, ok := c.flat[ch].frame(f); ok {
				c.addFlat(ch, start)
			}
		}
		c.frames += int64(n)
		x = x[n*c.ch:]
	}
}

func (c *checker) addFlat(ch int, startBlock int64) {
	c.flatCount++
	if len(c.flatTimes) < MaxListed {
		at := time.Duration(startBlock*blockSamples) * time.Second / SampleRate
		c.flatTimes = append(c.flatTimes, Hit{Channel: ch, At: at})
	}
}

// proof ends the flat-tone runs still open and returns the result.
func (c *checker) proof() Proof {
	for ch := range c.flat {
		if start, ok := c.flat[ch].end(); ok {
			c.addFlat(ch, start)
		}
	}
	// Several channels' flat tones are found frame by frame, interleaved;
	// put them in time order.
	sortHits(c.flatTimes)
	verdict := VerdictClean
	if c.hitCount > 0 {
		verdict = VerdictSuspect
	}
	return Proof{
		Verdict:         verdict,
		KeysMasked:      -1,
		HitCount:        c.hitCount,
		Hits:            c.hits,
		FlatTones:       c.flatCount,
		FlatToneTimes:   c.flatTimes,
		Detector:        DetectorName,
		DetectorVersion: DetectorVersion,
		Duration:        time.Duration(c.frames) * time.Second / SampleRate,
		Channels:        c.ch,
	}
}
