// Package scrub removes key presses from recorded calls: it runs a WAV file
// through the same streaming Masker that masks live calls, frame by frame,
// and writes what a listener on the live call would have heard.
//
// The output has the input's sample rate, encoding (16-bit PCM, mu-law or
// A-law) and channels, and is the Masker's look-ahead longer: it starts with
// that much silence, then the masked input, exactly as a live listener hears
// it. Each channel has its own Masker.
//
// Outputs are written to a temporary file next to the final one and renamed
// into place only when complete, so a failure never leaves a partial file,
// and an existing file is never replaced unless Options.Force is set.
//
// The digits found go to one place only: the digits file, if one is asked
// for. Results, errors and summaries carry counts, never digits.
//
// With Options.Proof, each output is checked with server/proof (spandsp's
// dtmf_rx, a detector that is not the Masker's) and the proof is written
// beside it as OUT.wav.proof.json (ProofPath), committed with the audio.
package scrub

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/mask"
	"github.com/hushphone/hushphone/media/wav"
	"github.com/hushphone/hushphone/server/proof"
)

// SampleRate is the only sample rate scrub accepts: that of telephone audio.
const SampleRate = mask.SampleRate

// Errors. They are wrapped with the file they concern and what to do.
var (
	ErrExists     = errors.New("already exists")
	ErrSampleRate = errors.New("sample rate not supported")
	ErrSameFile   = errors.New("is the input file")
	ErrIsDir      = errors.New("is a folder")
	ErrNoFolder   = errors.New("folder does not exist")
	ErrNotDir     = errors.New("not a directory")
	ErrNoFiles    = errors.New("no .wav files found")
)

// Options say how to scrub.
type Options struct {
	Mode  mask.Mode // what replaces a key press
	Force bool      // overwrite existing outputs
	Proof bool      // check each output and write its proof beside it (ProofPath)
	// Lookahead is the Masker's delay (0: mask.DefaultLookahead, 20 ms;
	// else as mask.CheckLookahead takes it), to scrub as a server with the
	// same mask-lookahead setting masks live calls.
	Lookahead time.Duration
}

// ProofPath is where the proof of the output out goes: OUT.wav.proof.json.
func ProofPath(out string) string { return out + ".proof.json" }

// Result describes one scrubbed file. It never holds a digit.
type Result struct {
	Format     wav.Format
	Channels   int
	SampleRate int
	Frames     int64         // input length, in samples per channel
	Lookahead  time.Duration // the Masker's delay: the output is this much longer
	KeyPresses int           // key presses masked, all channels together
	// Proof is the output's masking proof, with Options.Proof (else nil).
	// Its KeysMasked is KeyPresses.
	Proof *proof.Proof
}

// Duration is the length of the input audio.
func (r Result) Duration() time.Duration {
	if r.SampleRate == 0 {
		return 0
	}
	return time.Duration(r.Frames) * time.Second / time.Duration(r.SampleRate)
}

// keyPress is one key press as the digits file records it.
type keyPress struct {
	digit      byte
	channel    int
	start, end time.Duration
}

// File scrubs the WAV file in into out. If digits is not empty, the key
// presses found are written there, one line per key press: "DIGIT START_MS
// END_MS", times in milliseconds on the input's time line, sorted by start,
// all channels merged. progress, if not nil, is called with the number of
// input bytes read since its last call.
func File(ctx context.Context, in, out, digits string, opts Options, progress func(int64)) (Result, error) {
	if opts.Lookahead == 0 {
		opts.Lookahead = mask.DefaultLookahead
	}
	if err := mask.CheckLookahead(opts.Lookahead); err != nil {
		return Result{}, fmt.Errorf("scrub: %w", err)
	}
	proofPath := ""
	if opts.Proof {
		proofPath = ProofPath(out)
	}
	if err := checkOutputs(in, out, digits, proofPath, opts.Force); err != nil {
		return Result{}, err
	}
	src, err := os.Open(in)
	if err != nil {
		return Result{}, fmt.Errorf("%s: cannot open it: %w", in, pathErr(err))
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", in, pathErr(err))
	}
	if info.IsDir() {
		return Result{}, fmt.Errorf("%s: %w: to scrub every .wav below it, make the output a folder too", in, ErrIsDir)
	}

	var rd io.Reader = bufio.NewReaderSize(src, 64<<10)
	if progress != nil {
		rd = &countingReader{r: rd, report: progress}
	}
	wr, err := wav.NewReader(rd)
	if err != nil {
		return Result{}, inputError(in, err)
	}
	h := wr.Header()
	if h.SampleRate != SampleRate {
		return Result{}, &fileError{err: ErrSampleRate, msg: fmt.Sprintf(
			"%s: sample rate %d Hz is not supported: scrub works on 8 kHz telephone audio; resample first, e.g. sox %s -r 8000 %s",
			in, h.SampleRate, in, suffixed(in, "-8k"))}
	}

	tmp, err := createTemp(out, 0o666)
	if err != nil {
		return Result{}, err
	}
	defer tmp.discard()

	res := Result{Format: h.Format, Channels: h.Channels, SampleRate: h.SampleRate}
	ww, err := wav.NewWriter(tmp.f, h)
	if err != nil {
		return res, fmt.Errorf("%s: cannot write the output: %w", out, err)
	}
	keys, frames, lookahead, err := stream(ctx, wr, ww, h.Channels, opts.Mode, opts.Lookahead)
	res.Frames, res.Lookahead, res.KeyPresses = frames, lookahead, len(keys)
	switch {
	case errors.Is(err, errWrite):
		return res, fmt.Errorf("%s: cannot write the output: %w: check the free space on its disk", out, errors.Unwrap(err))
	case err != nil && ctx.Err() != nil:
		return res, fmt.Errorf("%s: stopped: %w", in, ctx.Err())
	case err != nil:
		return res, inputError(in, err)
	}
	if err := ww.Close(); err != nil {
		return res, fmt.Errorf("%s: cannot write the output: %w: check the free space on its disk", out, err)
	}
	if err := tmp.close(); err != nil {
		return res, err
	}

	var dtmp, ptmp *tempFile
	if digits != "" {
		if dtmp, err = writeDigits(digits, keys); err != nil {
			return res, err
		}
		defer dtmp.discard()
	}
	if opts.Proof {
		// The proof is of the very bytes about to be renamed into place.
		p, err := proof.CheckFile(ctx, tmp.path)
		if err != nil {
			return res, fmt.Errorf("%s: cannot check the output: %w", out, err)
		}
		p.KeysMasked = res.KeyPresses
		if ptmp, err = writeProof(proofPath, p); err != nil {
			return res, err
		}
		defer ptmp.discard()
		res.Proof = &p
	}
	if err := tmp.commit(opts.Force); err != nil {
		return res, err
	}
	// Keep them together: no audio without its digits or its proof.
	for _, t := range []*tempFile{dtmp, ptmp} {
		if t == nil {
			continue
		}
		if err := t.commit(opts.Force); err != nil {
			_ = os.Remove(out)
			if dtmp != nil && t != dtmp {
				_ = os.Remove(digits)
			}
			return res, err
		}
	}
	return res, nil
}

// writeProof writes p's JSON (one line) to a temporary file for path. It
// holds no card data: hits are times, never digits.
func writeProof(path string, p proof.Proof) (*tempFile, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return writeTemp(path, 0o666, append(b, '\n'))
}

// writeTemp writes data to a new temporary file (mode perm) for path, to
// be renamed into place once every output is written.
func writeTemp(path string, perm os.FileMode, data []byte) (*tempFile, error) {
	t, err := createTemp(path, perm)
	if err != nil {
		return nil, err
	}
	if _, err := t.f.Write(data); err != nil {
		t.discard()
		return nil, fmt.Errorf("%s: cannot write it: %w", path, pathErr(err))
	}
	if err := t.close(); err != nil {
		t.discard()
		return nil, err
	}
	return t, nil
}

// errWrite marks an error from writing the output, as opposed to reading
// the input.
var errWrite = errors.New("write")

type writeError struct{ err error }

func (e writeError) Error() string { return e.err.Error() }
func (e writeError) Is(target error) bool {
	return target == errWrite
}
func (e writeError) Unwrap() error { return e.err }

// stream runs every frame of r through one Masker per channel into w. It
// returns the key presses found (sorted by start), the input length in
// samples per channel and the look-ahead.
func stream(ctx context.Context, r *wav.Reader, w *wav.Writer, channels int, mode mask.Mode, la time.Duration) ([]keyPress, int64, time.Duration, error) {
	const n = mask.FrameSamples
	var (
		keys    []keyPress
		open    = make([]*dtmf.Event, channels)
		maskers = make([]*mask.Masker, channels)
	)
	for c := range maskers {
		maskers[c] = mask.New(mask.WithMode(mode), mask.WithLookahead(la), mask.WithKeyEvents(func(ev dtmf.Event) {
			switch ev.Phase {
			case dtmf.KeyDown:
				e := ev
				open[c] = &e
			case dtmf.KeyUp:
				keys = append(keys, keyPress{digit: ev.Digit, channel: c, start: ev.Start, end: ev.End})
				open[c] = nil
			}
		}))
	}
	lookahead := maskers[0].Lookahead()
	delay := int64(lookahead * SampleRate / time.Second)

	var (
		in      = make([]int16, n*channels)
		chIn    = make([]int16, n)
		chOut   = make([]int16, n)
		pending = make([]int16, 0, 50*n*channels) // one second of output per write
		frames  int64                             // input samples per channel read
		written int64                             // output samples per channel produced
		eof     bool
	)
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := w.Write(pending); err != nil {
			return writeError{err}
		}
		pending = pending[:0]
		return nil
	}
	for frame := 0; ; frame++ {
		if frame%50 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, frames, lookahead, fmt.Errorf("stopped: %w", err)
			}
		}
		got := 0
		if !eof {
			var err error
			got, err = readFull(r, in)
			switch {
			case errors.Is(err, io.EOF):
				eof = true
			case err != nil:
				return nil, frames, lookahead, err
			}
			got /= channels
			frames += int64(got)
		}
		clear(in[got*channels:])
		if eof && written >= frames+delay {
			break
		}
		for c, m := range maskers {
			for i := range n {
				chIn[i] = in[i*channels+c]
			}
			if err := m.Process(chOut, chIn); err != nil {
				return nil, frames, lookahead, fmt.Errorf("masking: %w", err)
			}
			for i := range n {
				in[i*channels+c] = chOut[i] // in is free again: reuse it for the output frame
			}
		}
		keep := int64(n)
		if eof {
			keep = min(keep, frames+delay-written)
		}
		if len(pending)+len(in) > cap(pending) {
			if err := flush(); err != nil {
				return nil, frames, lookahead, err
			}
		}
		pending = append(pending, in[:keep*int64(channels)]...)
		written += keep
	}
	if err := flush(); err != nil {
		return nil, frames, lookahead, err
	}
	// A key press still sounding at the very end: give the detectors some
	// silence to close it (output discarded), else end it with the input.
	for range 25 {
		if !anyOpen(open) {
			break
		}
		clear(chIn)
		for _, m := range maskers {
			if err := m.Process(chOut, chIn); err != nil {
				return nil, frames, lookahead, fmt.Errorf("masking: %w", err)
			}
		}
	}
	end := time.Duration(frames) * time.Second / SampleRate
	for c, ev := range open {
		if ev != nil {
			keys = append(keys, keyPress{digit: ev.Digit, channel: c, start: ev.Start, end: end})
		}
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].start != keys[j].start {
			return keys[i].start < keys[j].start
		}
		return keys[i].channel < keys[j].channel
	})
	return keys, frames, lookahead, nil
}

func anyOpen(open []*dtmf.Event) bool {
	for _, ev := range open {
		if ev != nil {
			return true
		}
	}
	return false
}

// readFull reads until dst is full or the input ends (io.EOF, with the
// samples read so far).
func readFull(r *wav.Reader, dst []int16) (int, error) {
	got := 0
	for got < len(dst) {
		k, err := r.Read(dst[got:])
		got += k
		if err != nil {
			return got, err //nolint:wrapcheck // wrapped by the caller with the file name
		}
		if k == 0 {
			return got, io.ErrNoProgress
		}
	}
	return got, nil
}

// digitsText is the digits file's content.
func digitsText(keys []keyPress) []byte {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%c %d %d\n", k.digit, ms(k.start), ms(k.end))
	}
	return []byte(b.String())
}

// ms rounds d to whole milliseconds.
func ms(d time.Duration) int64 { return d.Round(time.Millisecond).Milliseconds() }

func writeDigits(path string, keys []keyPress) (*tempFile, error) {
	// The digits file holds card data: readable by its owner only.
	return writeTemp(path, 0o600, digitsText(keys))
}

// checkOutputs refuses, before any work, outputs that exist (without force)
// or that are the input itself.
func checkOutputs(in, out, digits, proofPath string, force bool) error {
	inInfo, inErr := os.Stat(in)
	for _, p := range []string{out, digits, proofPath} {
		if p == "" {
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			continue // does not exist (or cannot be seen): creating it will tell
		}
		if inErr == nil && os.SameFile(inInfo, info) {
			return fmt.Errorf("%s: %w: scrub never replaces its input; choose another output", p, ErrSameFile)
		}
		if info.IsDir() {
			return fmt.Errorf("%s: %w: name the output file", p, ErrIsDir)
		}
		if !force {
			return fmt.Errorf("%s: %w: choose another output, or have existing files overwritten", p, ErrExists)
		}
	}
	if out == digits {
		return fmt.Errorf("%s: %w: the audio and the digits cannot go to the same file", out, ErrSameFile)
	}
	if proofPath != "" && proofPath == digits {
		return fmt.Errorf("%s: %w: the proof and the digits cannot go to the same file", digits, ErrSameFile)
	}
	return nil
}

// inputError says what was wrong with an input file and what to do.
func inputError(in string, err error) error {
	what := strings.TrimPrefix(err.Error(), "wav: ")
	switch {
	case errors.Is(err, wav.ErrNotWAV):
		return &fileError{err: err, msg: fmt.Sprintf("%s: %s: scrub reads WAV recordings (16-bit PCM, mu-law or A-law); check the file", in, what)}
	case errors.Is(err, wav.ErrUnsupported):
		return &fileError{err: err, msg: fmt.Sprintf("%s: %s: scrub reads 8 kHz 16-bit PCM, mu-law or A-law WAV; convert first, e.g. sox %s -r 8000 -e signed-integer -b 16 %s",
			in, what, in, suffixed(in, "-pcm16"))}
	case errors.Is(err, wav.ErrTruncated), errors.Is(err, io.ErrUnexpectedEOF):
		return &fileError{err: err, msg: fmt.Sprintf("%s: %s: the file ends before its audio data does (an interrupted copy?); copy it again, or rewrite its header with sox --ignore-length %s %s",
			in, what, in, suffixed(in, "-fixed"))}
	}
	return fmt.Errorf("%s: cannot read it: %w", in, pathErr(err))
}

// fileError is an error with a message written for a person; it wraps the
// error it explains, for errors.Is.
type fileError struct {
	msg string
	err error
}

func (e *fileError) Error() string { return e.msg }
func (e *fileError) Unwrap() error { return e.err }

// suffixed turns dir/name.wav into dir/name-SUFFIX.wav, for examples in
// messages.
func suffixed(path, suffix string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + suffix + ext
}

// pathErr drops the operation and path from an *fs.PathError, for messages
// that already name the file.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// countingReader reports the bytes read through it.
type countingReader struct {
	r      io.Reader
	report func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.report(int64(n))
	}
	return n, err //nolint:wrapcheck // a transparent reader must return its source's errors as they are
}
