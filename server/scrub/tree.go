package scrub

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hushphone/hushphone/server/proof"
)

// TreeOptions say how to scrub a folder.
type TreeOptions struct {
	Options

	// Jobs is how many files are scrubbed at once (default: one per CPU).
	Jobs int

	// Progress, if not nil, receives progress reports and a line for each
	// failed file as it fails. Terminal makes them one redrawn bar, for a
	// terminal; otherwise they are plain lines every Interval (default 5 s).
	Progress io.Writer
	Terminal bool
	Interval time.Duration
}

// Failure is a file that could not be scrubbed.
type Failure struct {
	Path string // relative to the input folder
	Err  error  // names the file, says what was wrong and what to do
}

// TreeResult sums up a folder's scrub. It never holds a digit.
type TreeResult struct {
	Files      int       // .wav files found
	Scrubbed   int       // files written
	Failed     []Failure // sorted by path
	KeyPresses int       // key presses masked, all files
	// With Options.Proof: the outputs checked, and those whose proof says
	// suspect (sorted, relative to the output folder).
	Proofs  int
	Suspect []string
	Audio   time.Duration // audio processed, all files
	Bytes   int64         // input bytes
	Elapsed time.Duration
}

// Tree scrubs every .wav file below the folder in into the same relative
// path below out, and, if digits is not empty, writes each one's key presses
// to the same relative path below digits with the extension .digits. A file
// that fails does not stop the others: it is listed in the result's Failed.
// The error is for the run as a whole: folders that cannot be used, no file
// to scrub, or ctx ending.
func Tree(ctx context.Context, in, out, digits string, opts TreeOptions) (TreeResult, error) {
	start := time.Now()
	files, err := findWAVs(in, out, digits)
	if err != nil {
		return TreeResult{}, err
	}
	res := TreeResult{Files: len(files)}
	if len(files) == 0 {
		return res, fmt.Errorf("%s: %w below it", in, ErrNoFiles)
	}
	for _, f := range files {
		res.Bytes += f.size
	}
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	jobs = min(jobs, len(files))

	prog := NewProgress(opts.Progress, "scrub", opts.Terminal, opts.Interval, len(files), res.Bytes)
	prog.Start()

	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	for range jobs {
		wg.Go(func() {
			for {
				mu.Lock()
				if next == len(files) || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				f := files[next]
				next++
				mu.Unlock()

				r, err := scrubOne(ctx, in, out, digits, f, opts.Options, prog)
				mu.Lock()
				if err != nil {
					res.Failed = append(res.Failed, Failure{Path: f.rel, Err: err})
				} else {
					res.Scrubbed++
					res.KeyPresses += r.KeyPresses
					if r.Proof != nil {
						res.Proofs++
						if r.Proof.Verdict != proof.VerdictClean {
							res.Suspect = append(res.Suspect, f.rel)
						}
					}
					res.Audio += r.Duration()
				}
				mu.Unlock()
				if err != nil {
					prog.Fail(err)
				}
			}
		})
	}
	wg.Wait()
	prog.Stop()

	sort.Slice(res.Failed, func(i, j int) bool { return res.Failed[i].Path < res.Failed[j].Path })
	sort.Strings(res.Suspect)
	res.Elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("stopped after %d of %d files: %w", res.Scrubbed+len(res.Failed), res.Files, err)
	}
	return res, nil
}

func scrubOne(ctx context.Context, in, out, digits string, f wavFile, opts Options, prog *Progress) (Result, error) {
	var read int64
	defer func() { prog.File(f.size - read) }() // count a file whole, however far it got
	report := func(n int64) {
		read += n
		prog.Bytes(n)
	}
	dst := filepath.Join(out, f.rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return Result{}, fmt.Errorf("%s: cannot create its folder: %w", dst, err)
	}
	var dig string
	if digits != "" {
		dig = filepath.Join(digits, strings.TrimSuffix(f.rel, filepath.Ext(f.rel))+".digits")
		// The digits folders hold card data: their owner's only.
		if err := os.MkdirAll(filepath.Dir(dig), 0o700); err != nil {
			return Result{}, fmt.Errorf("%s: cannot create its folder: %w", dig, err)
		}
	}
	return File(ctx, filepath.Join(in, f.rel), dst, dig, opts, report)
}

type wavFile struct {
	rel  string
	size int64
}

// findWAVs lists the .wav files below in, in lexical order, leaving out the
// output and digits folders if they are below in.
func findWAVs(in, out, digits string) ([]wavFile, error) {
	info, err := os.Stat(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, pathErr(err))
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s: %w", in, ErrNotDir)
	}
	skip := map[string]bool{}
	for _, d := range []string{out, digits} {
		if d == "" {
			continue
		}
		di, err := os.Stat(d)
		switch {
		case err == nil && !di.IsDir():
			return nil, fmt.Errorf("%s: %w: with a folder as the input, the output and the digits must be folders too", d, ErrNotDir)
		case err == nil && os.SameFile(info, di):
			return nil, fmt.Errorf("%s: %w: scrub never replaces its input; choose another folder", d, ErrSameFile)
		}
		abs, err := filepath.Abs(d)
		if err == nil {
			skip[abs] = true
		}
	}

	var files []wavFile
	err = filepath.WalkDir(in, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if abs, aerr := filepath.Abs(path); aerr == nil && skip[abs] && path != in {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.EqualFold(filepath.Ext(path), ".wav") {
			return nil
		}
		fi, err := os.Stat(path) // follows a link to a file
		if err != nil || !fi.Mode().IsRegular() {
			return nil //nolint:nilerr // not a file we can scrub: not ours to list
		}
		rel, err := filepath.Rel(in, path)
		if err != nil {
			return err //nolint:wrapcheck // wrapped below
		}
		files = append(files, wavFile{rel: rel, size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: cannot list it: %w", in, err)
	}
	return files, nil
}

// WriteSummary writes r for a person: files scrubbed, key presses masked,
// audio and speed, and each failure with its reason.
func (r TreeResult) WriteSummary(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Scrubbed %d of %d files", r.Scrubbed, r.Files)
	if len(r.Failed) > 0 {
		fmt.Fprintf(&b, ", %d failed", len(r.Failed))
	}
	fmt.Fprintf(&b, "; %s masked.\n", plural(r.KeyPresses, "key press", "key presses"))
	fmt.Fprintf(&b, "Audio: %s in %s, %s (%s).\n", clock(r.Audio), r.Elapsed.Round(time.Millisecond), speed(r.Audio, r.Elapsed), megabytes(r.Bytes))
	if r.Proofs > 0 {
		fmt.Fprintf(&b, "Proofs: %d clean, %d suspect (written beside each output as .proof.json).\n", r.Proofs-len(r.Suspect), len(r.Suspect))
		for _, s := range r.Suspect {
			fmt.Fprintf(&b, "  suspect: %s: the independent detector found key presses in the output; check it with verify\n", s)
		}
	}
	if len(r.Failed) > 0 {
		fmt.Fprintf(&b, "Failed:\n")
		for _, f := range r.Failed {
			fmt.Fprintf(&b, "  %v\n", f.Err) // the error names the file
		}
	}
	_, err := io.WriteString(w, b.String())
	return err //nolint:wrapcheck // the caller's writer, the caller's error
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// clock formats an audio length as H:MM:SS.s.
func clock(d time.Duration) string {
	d = d.Round(100 * time.Millisecond)
	h := d / time.Hour
	m := (d % time.Hour) / time.Minute
	s := float64(d%time.Minute) / float64(time.Second)
	return fmt.Sprintf("%d:%02d:%04.1f", h, m, s)
}

func speed(audio, elapsed time.Duration) string {
	if elapsed <= 0 {
		return "instantly"
	}
	return fmt.Sprintf("%.0fx realtime", audio.Seconds()/elapsed.Seconds())
}

func megabytes(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
