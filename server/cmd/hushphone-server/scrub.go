package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hushphone/hushphone/media/mask"
	"github.com/hushphone/hushphone/media/wav"
	"github.com/hushphone/hushphone/server/proof"
	"github.com/hushphone/hushphone/server/scrub"
)

func scrubHelp(w io.Writer) {
	_, _ = fmt.Fprintf(w, `Usage:
  %[1]s scrub --in IN.wav --out OUT.wav [--digits FILE] [--mode MODE] [--lookahead D] [--proof] [--force]
  %[1]s scrub --in DIR --out DIR [--digits DIR] [--mode MODE] [--lookahead D] [--proof] [--force] [--jobs N]

Masks every key press (DTMF tone) in recorded calls, with the same streaming
masker that masks live calls, and writes what a listener on the live call
hears: every key press replaced by one flat tone, the same for every key
(or by silence, or comfort noise: see --mode).

The output has the input's sample rate, encoding and channels, and is
delayed by the masker's look-ahead (%[2]v unless --lookahead says
otherwise): it starts with that much silence and is that much longer than
the input. Each channel of a stereo file is masked on its own.

Input: 8 kHz WAV files, 16-bit PCM, mu-law or A-law, mono or stereo.
Other rates or sample sizes: convert first, e.g.
  sox IN.wav -r 8000 -e signed-integer -b 16 IN-8k.wav

With --in DIR, every .wav file below DIR (at any depth) is scrubbed into the
same relative path below --out DIR, folders created as needed. A file that
fails is reported and the others go on; a summary follows. Progress goes to
stderr, the summary to stdout.

Outputs are written complete or not at all (never a partial file), and
existing files are never replaced without --force.

Flags:
  --in PATH       the recording to scrub, or a folder of them (required)
  --out PATH      where to write the scrubbed audio: a file, or a folder when
                  --in is one; an existing folder with --in a file receives
                  a file of the input's name (required)
  --digits PATH   also write the key presses found, one line each:
                    DIGIT START_MS END_MS
                  with times in milliseconds from the input's first sample,
                  sorted by start, all channels together. With --in DIR, a
                  folder that receives NAME.digits for each NAME.wav. These
                  files hold card data: keep them like card data (they are
                  written readable by their owner only). Digits are never
                  printed anywhere else.
  --mode MODE     what replaces a key press: tone (default), silence, noise
  --lookahead D   the masker's look-ahead, %[3]v to %[4]v in steps of %[5]v
                  (default %[2]v, as the server's mask-lookahead setting):
                  longer masks more of a key press begun under loud speech
  --proof         check each output with an independent detector (spandsp's
                  dtmf_rx, as verify does) and write its masking proof
                  beside it, OUT.wav.proof.json: one line of JSON with the
                  verdict (clean or suspect), the key presses masked, the
                  detector's hits (a count and times, never digits), the
                  flat tones found, the detector and its version, and the
                  output's SHA-256 (check it later with sha256sum, or run
                  verify on the output again). A suspect output is kept,
                  named, and makes the exit status 1.
  --force         overwrite existing output files
  --jobs N        files scrubbed at once with --in DIR (default: one per CPU)

Exit status:
  0  every input was scrubbed (and with --proof, every output is clean)
  1  some input failed (a message names each one and says what to do), or
     with --proof, some output is suspect
  2  usage error

Examples:
  %[1]s scrub --in call.wav --out call-scrubbed.wav
  %[1]s scrub --in call.wav --out call-scrubbed.wav --digits call.digits
  %[1]s scrub --in recordings/ --out scrubbed/ --mode silence
  %[1]s scrub --in recordings/ --out scrubbed/ --proof
`, prog, mask.DefaultLookahead, mask.MinLookahead, mask.MaxLookahead, mask.LookaheadStep)
}

func runScrub(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scrub", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	in := fs.String("in", "", "")
	out := fs.String("out", "", "")
	digits := fs.String("digits", "", "")
	modeName := fs.String("mode", "tone", "")
	lookahead := fs.Duration("lookahead", mask.DefaultLookahead, "")
	force := fs.Bool("force", false, "")
	withProof := fs.Bool("proof", false, "")
	jobs := fs.Int("jobs", 0, "")

	bad := usageError(stderr, "scrub", "--in IN.wav --out OUT.wav [--digits FILE] [--mode tone|silence|noise] [--lookahead 20ms..50ms] [--proof] [--force]")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			scrubHelp(stdout)
			return exitOK
		}
		return bad("%v", err)
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q (flags come as --in PATH --out PATH)", fs.Arg(0))
	case *in == "":
		return bad("--in is required: the recording (or folder) to scrub")
	case *out == "":
		return bad("--out is required: where to write the scrubbed audio")
	case *jobs < 0:
		return bad("--jobs must be 1 or more")
	}
	mode, err := mask.ParseMode(*modeName)
	if err != nil {
		return bad("--mode %q: use tone, silence or noise", *modeName)
	}
	if err := mask.CheckLookahead(*lookahead); err != nil {
		return bad("--lookahead %v: use %v to %v in steps of %v", *lookahead, mask.MinLookahead, mask.MaxLookahead, mask.LookaheadStep)
	}
	opts := scrub.Options{Mode: mode, Force: *force, Proof: *withProof, Lookahead: *lookahead}

	info, err := os.Stat(*in)
	if err != nil {
		fmt.Fprintf(stderr, "%s scrub: %s: %v\n", prog, *in, unwrapPath(err))
		return exitFailure
	}
	if info.IsDir() {
		return scrubTree(ctx, *in, *out, *digits, scrub.TreeOptions{
			Options:  opts,
			Jobs:     *jobs,
			Progress: stderr,
			Terminal: isTerminal(stderr),
		}, stdout, stderr)
	}
	return scrubFile(ctx, *in, *out, *digits, opts, stdout, stderr)
}

func scrubFile(ctx context.Context, in, out, digits string, opts scrub.Options, stdout, stderr io.Writer) int {
	base := filepath.Base(in)
	if isDir(out) {
		out = filepath.Join(out, base)
	}
	if digits != "" && isDir(digits) {
		digits = filepath.Join(digits, strings.TrimSuffix(base, filepath.Ext(base))+".digits")
	}
	res, err := scrub.File(ctx, in, out, digits, opts, nil)
	if err != nil {
		fmt.Fprintf(stderr, "%s scrub: %v\n", prog, err)
		hintForce(stderr, err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "Scrubbed %s into %s: %s of %s, %s masked; output delayed by %v.\n",
		in, out, res.Duration().Round(100*time.Millisecond), describe(res), keyPresses(res.KeyPresses), res.Lookahead)
	if p := res.Proof; p != nil {
		fmt.Fprintf(stdout, "Proof: %s, %s, %s; written to %s.\n", p.Verdict, hitsText(*p), flatText(p.FlatTones), scrub.ProofPath(out))
		if p.Verdict != proof.VerdictClean {
			fmt.Fprintf(stderr, "%s scrub: %s is suspect: the independent detector found key presses in the output; listen to it at the times above\n", prog, out)
			return exitFailure
		}
	}
	return exitOK
}

func scrubTree(ctx context.Context, in, out, digits string, opts scrub.TreeOptions, stdout, stderr io.Writer) int {
	res, err := scrub.Tree(ctx, in, out, digits, opts)
	if res.Files > 0 {
		if werr := res.WriteSummary(stdout); werr != nil {
			fmt.Fprintf(stderr, "%s scrub: writing the summary: %v\n", prog, werr)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s scrub: %v\n", prog, err)
		return exitFailure
	}
	if len(res.Failed) > 0 {
		for _, f := range res.Failed {
			if hintForce(stderr, f.Err) {
				break
			}
		}
		return exitFailure
	}
	if len(res.Suspect) > 0 {
		return exitFailure
	}
	return exitOK
}

// hintForce says how to overwrite when err is an output that exists, and
// reports whether it did.
func hintForce(w io.Writer, err error) bool {
	if !errors.Is(err, scrub.ErrExists) {
		return false
	}
	fmt.Fprintf(w, "%s scrub: pass --force to overwrite existing outputs\n", prog)
	return true
}

// describe says what kind of audio a file held, e.g. "8 kHz mu-law stereo".
func describe(r scrub.Result) string {
	enc := "16-bit PCM"
	switch r.Format {
	case wav.FormatMuLaw:
		enc = "mu-law"
	case wav.FormatALaw:
		enc = "A-law"
	case wav.FormatPCM16:
	}
	ch := "mono"
	switch r.Channels {
	case 1:
	case 2:
		ch = "stereo"
	default:
		ch = fmt.Sprintf("%d-channel", r.Channels)
	}
	return fmt.Sprintf("%d kHz %s %s audio", r.SampleRate/1000, enc, ch)
}

func keyPresses(n int) string {
	if n == 1 {
		return "1 key press"
	}
	return fmt.Sprintf("%d key presses", n)
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
