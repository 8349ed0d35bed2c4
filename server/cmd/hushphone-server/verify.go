package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hushphone/hushphone/server/proof"
	"github.com/hushphone/hushphone/server/scrub"
)

// verify's exit codes: a suspect file outranks a file that could not be
// checked, since it is what the command is for.
const (
	exitSuspect  = 1 // some file is suspect
	exitBadInput = 2 // some file could not be checked (or a usage error)
)

// maxTimesShown is how many hit times the table shows per file; --json
// gives them all (up to proof.MaxListed).
const maxTimesShown = 8

func verifyHelp(w io.Writer) {
	_, _ = fmt.Fprintf(w, `Usage:
  %[1]s verify [--json] [--jobs N] PATH...

Checks recorded calls for key presses that were not masked, with a DTMF
detector that is not Hushphone's: spandsp's dtmf_rx (%[2]s), on every
channel, in 20 ms frames. Use it on a contact centre's old recordings
before scrub, or on scrub's (or the server's) output after.

Each PATH is a WAV file or a folder; a folder is searched at any depth for
*.wav files. Input: 8 kHz WAV files, 16-bit PCM, mu-law or A-law, mono or
stereo.

For each file it prints a row: the file, its duration, the verdict, the
detector's hits and the flat tones found.
  verdict     clean: the detector found no key press on any channel;
              suspect: it found some, and the file may hold card data
  hits        how many key presses the detector found, and when: the start
              of the 20 ms frame it reported each in, from the file's
              start (L or R: the channel of a stereo file). Never the
              digits: those would be card data, and nothing prints them.
  flat tones  how many of the Masker's flat tones (2000 Hz at -18 dBm0,
              what scrub and live calls put in place of each key press) the
              file holds: a masked recording has one per key press
A file that cannot be checked (unreadable, not a WAV file, truncated, not
8 kHz) gets an error on stderr, and the others are still checked. When a
folder is checked, progress goes to stderr (a bar on a terminal).

Flags:
  --json     one line of JSON per file instead of the table, in the order
             the files are named (folders in lexical order): the proof
             scrub --proof writes and the server stores, with "file" added,
             or {"file":...,"error":...} for a file that could not be checked
  --jobs N   files checked at once (default: one per CPU)

Exit status:
  0  every file is clean
  1  some file is suspect (whatever else happened)
  2  some file could not be checked, and none is suspect; or a usage error

Examples:
  %[1]s verify call.wav
  %[1]s verify recordings/ scrubbed/
  %[1]s verify --json recordings/ > proofs.jsonl
`, prog, proof.DetectorVersion)
}

// verifyItem is one file to check and, once checked, its result.
type verifyItem struct {
	path string
	size int64
	p    proof.Proof
	err  error
	done chan struct{}
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	jobs := fs.Int("jobs", 0, "")
	bad := usageError(stderr, "verify", "[--json] [--jobs N] PATH...")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			verifyHelp(stdout)
			return exitOK
		}
		return bad("%v", err)
	}
	switch {
	case fs.NArg() == 0:
		return bad("name at least one WAV file or folder to check")
	case *jobs < 0:
		return bad("--jobs must be 1 or more")
	}

	items, folders := verifyTargets(fs.Args())
	var total int64
	for _, it := range items {
		total += it.size
	}
	var bar *scrub.Progress
	if folders {
		bar = scrub.NewProgress(stderr, "verify", isTerminal(stderr), 0, len(items), total)
		bar.Start()
	}
	n := *jobs
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan *verifyItem)
	for range min(n, len(items)) {
		wg.Go(func() {
			for it := range next {
				verifyOne(ctx, it, bar)
			}
		})
	}
	wg.Go(func() {
		defer close(next)
		for _, it := range items {
			if it.err != nil {
				close(it.done)
				continue
			}
			select {
			case next <- it:
			case <-ctx.Done():
				return
			}
		}
	})

	// Results in the order the files were named, as they come.
	var table *tabwriter.Writer
	if !*asJSON {
		table = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(table, "FILE\tDURATION\tVERDICT\tHITS\tFLAT TONES")
	}
	var clean, suspect int
	var failed []error
	checked := 0
	for _, it := range items {
		select {
		case <-it.done:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		checked++
		switch {
		case it.err != nil:
			failed = append(failed, it.err)
		case it.p.Verdict == proof.VerdictClean:
			clean++
		default:
			suspect++
		}
		if *asJSON {
			writeVerifyJSON(stdout, it)
		} else {
			writeVerifyRow(table, it)
		}
	}
	wg.Wait()
	if bar != nil {
		bar.Stop()
	}
	if table != nil {
		_ = table.Flush()
		fmt.Fprintf(stdout, "%s: %d clean, %d suspect, %d could not be checked.\n",
			plural(len(items), "file", "files"), clean, suspect, len(failed))
	}
	for _, err := range failed {
		fmt.Fprintf(stderr, "%s verify: %v\n", prog, err)
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "%s verify: stopped after %d of %d files: %v\n", prog, checked, len(items), ctx.Err())
		return exitBadInput
	case suspect > 0:
		fmt.Fprintf(stderr, "%s verify: %s suspect: key presses may have got through unmasked; listen at the times shown, and scrub them\n",
			prog, plural(suspect, "file is", "files are"))
		return exitSuspect
	case len(failed) > 0:
		return exitBadInput
	}
	return exitOK
}

// verifyTargets lists the files to check: each PATH, or the *.wav files
// below it (lexical order) when it is a folder. A PATH that cannot be
// listed is an item with its error. It reports whether any PATH was a
// folder.
func verifyTargets(paths []string) ([]*verifyItem, bool) {
	var items []*verifyItem
	folders := false
	add := func(path string, size int64, err error) {
		items = append(items, &verifyItem{path: path, size: size, err: err, done: make(chan struct{})})
	}
	for _, path := range paths {
		info, err := os.Stat(path)
		switch {
		case err != nil:
			add(path, 0, fmt.Errorf("%s: %w", path, unwrapPath(err)))
			continue
		case !info.IsDir():
			add(path, info.Size(), nil)
			continue
		}
		folders = true
		found := 0
		werr := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				add(p, 0, fmt.Errorf("%s: cannot list it: %w", p, unwrapPath(err)))
				return nil
			}
			if d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".wav") {
				return nil
			}
			fi, err := os.Stat(p) // follows a link to a file
			if err != nil || !fi.Mode().IsRegular() {
				return nil //nolint:nilerr // not a file we can check: not ours to list
			}
			add(p, fi.Size(), nil)
			found++
			return nil
		})
		if werr == nil && found == 0 {
			add(path, 0, fmt.Errorf("%s: %w below it", path, scrub.ErrNoFiles))
		}
	}
	return items, folders
}

// verifyOne checks one file, counting its bytes on bar.
func verifyOne(ctx context.Context, it *verifyItem, bar *scrub.Progress) {
	defer close(it.done)
	var read int64
	if bar != nil {
		defer func() { bar.File(it.size - read) }()
	}
	f, err := os.Open(it.path)
	if err != nil {
		it.err = fmt.Errorf("%s: cannot open it: %w", it.path, unwrapPath(err))
		return
	}
	defer f.Close() // read-only: a close error changes nothing
	var r io.Reader = f
	if bar != nil {
		r = readCounter{r: f, count: func(n int) { read += int64(n); bar.Bytes(int64(n)) }}
	}
	p, err := proof.Check(ctx, bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		it.err = fmt.Errorf("%s: %w", it.path, err)
		return
	}
	it.p = p
}

type readCounter struct {
	r     io.Reader
	count func(int)
}

func (c readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.count(n)
	return n, err //nolint:wrapcheck // a transparent reader must return its source's errors as they are
}

func writeVerifyRow(w io.Writer, it *verifyItem) {
	if it.err != nil {
		fmt.Fprintf(w, "%s\t-\terror\t-\t-\n", it.path)
		return
	}
	p := it.p
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\n", it.path, clockText(p.Duration), p.Verdict, hitsList(p), p.FlatTones)
}

// hitsList is a proof's hits for the table: "0", or "2: R 0:01.24, R 0:07.02".
func hitsList(p proof.Proof) string {
	if p.HitCount == 0 {
		return "0"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d:", p.HitCount)
	for i, h := range p.Hits {
		if i == maxTimesShown {
			fmt.Fprintf(&b, " and %d more", p.HitCount-maxTimesShown)
			break
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(" ")
		if p.Channels == 2 {
			b.WriteString([]string{"L ", "R "}[h.Channel])
		}
		b.WriteString(clockText(h.At))
	}
	return b.String()
}

// hitsText and flatText say a proof's counts in words, for scrub.
func hitsText(p proof.Proof) string {
	if p.HitCount == 0 {
		return "no key press found by " + p.Detector
	}
	return fmt.Sprintf("%s by %s (%s)", plural(p.HitCount, "key press found", "key presses found"), p.Detector, strings.SplitN(hitsList(p), ": ", 2)[1])
}

func flatText(n int) string { return plural(n, "flat tone", "flat tones") }

// clockText formats a time in the file as M:SS.ss (H:MM:SS.ss past an hour).
func clockText(d time.Duration) string {
	d = d.Round(10 * time.Millisecond)
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	s := float64(d%time.Minute) / float64(time.Second)
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%05.2f", h, m, s)
	}
	return fmt.Sprintf("%d:%05.2f", m, s)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// writeVerifyJSON writes one line: the proof with "file" first, or the file
// and its error.
func writeVerifyJSON(w io.Writer, it *verifyItem) {
	name, _ := json.Marshal(it.path)
	if it.err != nil {
		msg, _ := json.Marshal(it.err.Error())
		fmt.Fprintf(w, "{\"file\":%s,\"error\":%s}\n", name, msg)
		return
	}
	b, err := json.Marshal(it.p)
	if err != nil {
		msg, _ := json.Marshal(err.Error())
		fmt.Fprintf(w, "{\"file\":%s,\"error\":%s}\n", name, msg)
		return
	}
	fmt.Fprintf(w, "{\"file\":%s,%s\n", name, b[1:])
}
