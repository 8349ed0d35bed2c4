package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testwav"
	"github.com/hushphone/hushphone/media/mask"
)

// lookahead is the Masker's delay in samples.
var lookahead = int(mask.New().Lookahead() * mask.SampleRate / time.Second)

var (
	pcm16 = testwav.Header{Tag: testwav.TagPCM, Channels: 1, SampleRate: 8000, Bits: 16}
	mulaw = testwav.Header{Tag: testwav.TagMuLaw, Channels: 1, SampleRate: 8000, Bits: 8}
	alaw  = testwav.Header{Tag: testwav.TagALaw, Channels: 1, SampleRate: 8000, Bits: 8}
)

func stereo(h testwav.Header) testwav.Header { h.Channels = 2; return h }

// runCLI runs the program in-process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

func writeWAV(t *testing.T, path string, h testwav.Header, samples []int16) {
	t.Helper()
	writeFile(t, path, testwav.Encode(h, samples))
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readWAV(t *testing.T, path string) (testwav.Header, []int16) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, s, err := testwav.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return h, s
}

// listFiles returns every file below dir, relative, sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// channels of interleaved audio, as G.711 would return them: what the input
// file holds, decoded.
func decoded(h testwav.Header, samples []int16) []int16 {
	return testwav.DecodeSamples(h, testwav.EncodeSamples(h, samples))
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring expected on stdout ("" = stdout empty)
		stderr string // substring expected on stderr ("" = stderr empty)
	}{
		{name: "no command", args: nil, code: exitUsage, stderr: "Commands:"},
		{name: "help", args: []string{"help"}, code: exitOK, stdout: "scrub"},
		{name: "--help", args: []string{"--help"}, code: exitOK, stdout: "Exit status"},
		{name: "help scrub", args: []string{"help", "scrub"}, code: exitOK, stdout: "--digits PATH"},
		{name: "help unknown", args: []string{"help", "frobnicate"}, code: exitUsage, stderr: `unknown command "frobnicate"`},
		{name: "unknown command", args: []string{"frobnicate"}, code: exitUsage, stderr: `unknown command "frobnicate"`},
		{name: "scrub --help", args: []string{"scrub", "--help"}, code: exitOK, stdout: "Exit status:"},
		{name: "scrub -h", args: []string{"scrub", "-h"}, code: exitOK, stdout: "Examples:"},
		{name: "scrub no flags", args: []string{"scrub"}, code: exitUsage, stderr: "--in is required"},
		{name: "scrub no out", args: []string{"scrub", "--in", "x.wav"}, code: exitUsage, stderr: "--out is required"},
		{name: "scrub bad mode", args: []string{"scrub", "--in", "x.wav", "--out", "y.wav", "--mode", "loud"}, code: exitUsage, stderr: "use tone, silence or noise"},
		{name: "scrub bad flag", args: []string{"scrub", "--frob"}, code: exitUsage, stderr: "scrub --help"},
		{name: "scrub positional", args: []string{"scrub", "--in", "x.wav", "--out", "y.wav", "z.wav"}, code: exitUsage, stderr: `unexpected argument "z.wav"`},
		{name: "scrub bad jobs", args: []string{"scrub", "--in", "x", "--out", "y", "--jobs", "-1"}, code: exitUsage, stderr: "--jobs"},
		{name: "help verify", args: []string{"help", "verify"}, code: exitOK, stdout: "Never the"},
		{name: "verify --help", args: []string{"verify", "--help"}, code: exitOK, stdout: "--json"},
		{name: "verify no path", args: []string{"verify"}, code: exitUsage, stderr: "name at least one WAV file or folder"},
		{name: "verify bad flag", args: []string{"verify", "--frob", "x.wav"}, code: exitUsage, stderr: "verify --help"},
		{name: "verify bad jobs", args: []string{"verify", "--jobs", "-1", "x.wav"}, code: exitUsage, stderr: "--jobs"},
		{name: "scrub --help proof", args: []string{"scrub", "--help"}, code: exitOK, stdout: "OUT.wav.proof.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			check := func(name, got, want string) {
				if want == "" && got != "" {
					t.Errorf("%s: want nothing, got:\n%s", name, got)
				}
				if !strings.Contains(got, want) {
					t.Errorf("%s: want %q in:\n%s", name, want, got)
				}
			}
			check("stdout", stdout, tt.stdout)
			check("stderr", stderr, tt.stderr)
		})
	}
}

// TestScrubFormats: every format, mono and stereo, comes out in the same
// format, exactly the look-ahead longer, and (with no key press in it) equal
// to the input delayed by the look-ahead, sample for sample.
func TestScrubFormats(t *testing.T) {
	const frames = 2*8000 + 77 // not a whole number of 20 ms frames
	tests := []struct {
		name string
		h    testwav.Header
	}{
		{"pcm16 mono", pcm16},
		{"mu-law mono", mulaw},
		{"a-law mono", alaw},
		{"pcm16 stereo", stereo(pcm16)},
		{"mu-law stereo", stereo(mulaw)},
		{"a-law stereo", stereo(alaw)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
			var src []int16
			if tt.h.Channels == 2 {
				src = testwav.Interleave(testwav.Murmur(frames, 1), testwav.Murmur(frames, 2))
			} else {
				src = testwav.Murmur(frames, 1)
			}
			writeWAV(t, in, tt.h, src)

			code, stdout, stderr := runCLI(t, "scrub", "--in", in, "--out", out)
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stdout, "0 key presses masked") {
				t.Errorf("stdout: want the count of key presses, got:\n%s", stdout)
			}
			h, got := readWAV(t, out)
			if h != tt.h {
				t.Fatalf("output header %+v, want the input's %+v", h, tt.h)
			}
			if want := (frames + lookahead) * h.Channels; len(got) != want {
				t.Fatalf("output is %d samples, want %d (input %d frames + look-ahead %d, x%d channels)",
					len(got), want, frames, lookahead, h.Channels)
			}
			want := decoded(tt.h, src)
			for c := range h.Channels {
				gc, wc := testwav.Channel(got, h.Channels, c), testwav.Channel(want, h.Channels, c)
				for i := range lookahead {
					if math.Abs(float64(gc[i])) > 8 { // A-law has no zero: its smallest value is 8
						t.Fatalf("channel %d sample %d: %d, want silence during the look-ahead", c, i, gc[i])
					}
				}
				if !slices.Equal(gc[lookahead:], wc) {
					i := 0
					for i < len(wc) && gc[lookahead+i] == wc[i] {
						i++
					}
					t.Fatalf("channel %d: output differs from the delayed input from input sample %d: %d, want %d",
						c, i, gc[lookahead+i], wc[i])
				}
			}
			if files := listFiles(t, dir); !slices.Equal(files, []string{"in.wav", "out.wav"}) {
				t.Errorf("files left: %v", files)
			}
		})
	}
}

// tonesIn generates a key sequence: 80 ms on, 80 ms off, each frequency at
// -10 dBm0, after 200 ms of silence.
func tonesIn(digits string) ([]int16, []testwav.Tone) {
	return testwav.DTMF(digits, 200*time.Millisecond, 80*time.Millisecond, 80*time.Millisecond, -10)
}

type digitLine struct {
	digit      byte
	start, end int // ms
}

func parseDigits(t *testing.T, path string) []digitLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []digitLine
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || len(f[0]) != 1 {
			t.Fatalf("%s line %d: %q, want DIGIT START_MS END_MS", path, i+1, line)
		}
		start, err1 := strconv.Atoi(f[1])
		end, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			t.Fatalf("%s line %d: %q: times are not integers", path, i+1, line)
		}
		out = append(out, digitLine{f[0][0], start, end})
	}
	return out
}

// checkDigits compares a digits file with the tones generated, times within
// ±15 ms.
func checkDigits(t *testing.T, got []digitLine, want []testwav.Tone) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d key presses in the digits file, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		ws, we := w.Start/8, w.End/8
		if g.digit != w.Digit || abs(g.start-ws) > 15 || abs(g.end-we) > 15 {
			t.Errorf("line %d: %c %d %d, want %c %d %d (±15 ms)", i+1, g.digit, g.start, g.end, w.Digit, ws, we)
		}
	}
}

func abs(x int) int { return max(x, -x) }

// power of f Hz in x (Goertzel), per sample.
func power(x []int16, f float64) float64 {
	w := 2 * math.Cos(2*math.Pi*f/8000)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+w*s1-s2, s1
	}
	return (s1*s1 + s2*s2 - w*s1*s2) / float64(len(x)*len(x))
}

var keyHz = map[byte][2]float64{
	'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477}, 'A': {697, 1633},
	'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477}, 'B': {770, 1633},
	'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477}, 'C': {852, 1633},
	'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477}, 'D': {941, 1633},
}

// TestScrubDigits: the digits file lists every generated key press with its
// times, and the tones are gone from the audio; nothing but the file shows a
// digit.
func TestScrubDigits(t *testing.T) {
	const keys = "0123456789*#ABCD"
	tests := []struct {
		name string
		h    testwav.Header
		mode string
	}{
		{"pcm16 tone", pcm16, "tone"},
		{"mu-law tone", mulaw, "tone"},
		{"a-law silence", alaw, "silence"},
		{"pcm16 noise", pcm16, "noise"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in, out, dig := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav"), filepath.Join(dir, "in.digits")
			src, tones := tonesIn(keys)
			writeWAV(t, in, tt.h, src)

			code, stdout, stderr := runCLI(t, "scrub", "--in", in, "--out", out, "--digits", dig, "--mode", tt.mode)
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			checkDigits(t, parseDigits(t, dig), tones)
			if !strings.Contains(stdout, fmt.Sprintf("%d key presses masked", len(keys))) {
				t.Errorf("stdout: want the count of key presses, got:\n%s", stdout)
			}
			if info, err := os.Stat(dig); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("digits file: %v, mode %v: want 0600 (it holds card data)", err, info.Mode().Perm())
			}

			_, got := readWAV(t, out)
			srcDec := decoded(tt.h, src)
			for _, tone := range tones {
				// The middle of each tone, where the input is pure tone.
				lo, hi := tone.Start+80, tone.End-80
				inW, outW := srcDec[lo:hi], got[lo+lookahead:hi+lookahead]
				for _, f := range keyHz[tone.Digit] {
					if db := 10 * math.Log10(power(outW, f)/power(inW, f)+1e-12); db > -40 {
						t.Errorf("key %d of %d: %v Hz only %.1f dB down in the output", slices.Index(tones, tone)+1, len(tones), f, db)
					}
				}
				var rms float64
				for _, v := range outW {
					rms += float64(v) * float64(v)
				}
				rms = math.Sqrt(rms / float64(len(outW)))
				switch tt.mode {
				case "tone":
					if rms < 500 {
						t.Errorf("mode tone: rms %.0f where a key was: want the flat tone", rms)
					}
				case "silence":
					if rms > 10 {
						t.Errorf("mode silence: rms %.0f where a key was", rms)
					}
				case "noise":
					if rms == 0 || rms > 500 {
						t.Errorf("mode noise: rms %.0f where a key was: want quiet noise", rms)
					}
				}
			}
		})
	}
}

// TestScrubStereoDigits: each channel is masked on its own; the digits file
// merges them, sorted by start.
func TestScrubStereoDigits(t *testing.T) {
	left, lt := testwav.DTMF("147", 200*time.Millisecond, 80*time.Millisecond, 160*time.Millisecond, -10)
	right, rt := testwav.DTMF("369", 320*time.Millisecond, 80*time.Millisecond, 160*time.Millisecond, -10)
	n := max(len(left), len(right))
	left = append(left, make([]int16, n-len(left))...)
	right = append(right, make([]int16, n-len(right))...)
	want := append(append([]testwav.Tone{}, lt...), rt...)
	slices.SortFunc(want, func(a, b testwav.Tone) int { return a.Start - b.Start })

	dir := t.TempDir()
	in, out, dig := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav"), filepath.Join(dir, "in.digits")
	writeWAV(t, in, stereo(mulaw), testwav.Interleave(left, right))
	code, _, stderr := runCLI(t, "scrub", "--in", in, "--out", out, "--digits", dig)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	checkDigits(t, parseDigits(t, dig), want)
}

// TestScrubBadInput: every failure names the file, says what to do, exits 1
// and leaves nothing behind.
func TestScrubBadInput(t *testing.T) {
	good := testwav.Encode(pcm16, testwav.Murmur(8000, 3))
	truncated := good[:len(good)-1000]
	rate16k := pcm16
	rate16k.SampleRate = 16000
	pcm8 := testwav.Header{Tag: testwav.TagPCM, Channels: 1, SampleRate: 8000, Bits: 8}
	float32h := testwav.Header{Tag: 3, Channels: 1, SampleRate: 8000, Bits: 32}

	tests := []struct {
		name   string
		input  []byte           // written to in.wav (nil: no input file)
		setup  func(dir string) // more files
		args   func(dir string) []string
		want   []string // substrings of stderr
		keep   []string // files expected in dir afterwards (besides in.wav)
		asRoot bool     // meaningless as root (root writes anywhere)
	}{
		{
			name: "not a WAV", input: []byte("these are minutes of a meeting, not audio\n"),
			want: []string{"in.wav", "not a WAV file"},
		},
		{
			name: "empty file", input: []byte{},
			want: []string{"in.wav", "not a WAV file"},
		},
		{
			name: "16 kHz", input: testwav.Encode(rate16k, testwav.Murmur(16000, 4)),
			want: []string{"in.wav: sample rate 16000 Hz is not supported", "8 kHz", "sox", "-r 8000"},
		},
		{
			name: "8-bit PCM", input: testwav.Encode(pcm8, testwav.Murmur(8000, 5)),
			want: []string{"in.wav", "unsupported", "sox"},
		},
		{
			name: "float", input: testwav.Encode(float32h, make([]int16, 16000)),
			want: []string{"in.wav", "unsupported", "sox"},
		},
		{
			name: "truncated data", input: truncated,
			want: []string{"in.wav", "truncated", "copy it again"},
		},
		{
			name: "no such input", input: nil,
			want: []string{"in.wav", "no such file"},
		},
		{
			name: "output folder missing", input: good,
			args: func(dir string) []string { return []string{"--out", filepath.Join(dir, "nowhere", "out.wav")} },
			want: []string{"out.wav", "does not exist"},
		},
		{
			name: "output below a file", input: good,
			setup: func(dir string) { writeFile(t, filepath.Join(dir, "plain"), []byte("x")) },
			args:  func(dir string) []string { return []string{"--out", filepath.Join(dir, "plain", "out.wav")} },
			want:  []string{"out.wav", "cannot write"},
			keep:  []string{"plain"},
		},
		{
			name: "output folder read-only", input: good, asRoot: true,
			setup: func(dir string) {
				if err := os.Mkdir(filepath.Join(dir, "ro"), 0o555); err != nil {
					t.Fatal(err)
				}
			},
			args: func(dir string) []string { return []string{"--out", filepath.Join(dir, "ro", "out.wav")} },
			want: []string{"out.wav", "permission denied", "writable"},
		},
		{
			name: "output exists", input: good,
			setup: func(dir string) { writeFile(t, filepath.Join(dir, "out.wav"), []byte("precious")) },
			want:  []string{"out.wav: already exists", "--force"},
			keep:  []string{"out.wav"},
		},
		{
			name: "digits file exists", input: good,
			setup: func(dir string) { writeFile(t, filepath.Join(dir, "in.digits"), []byte("precious")) },
			args: func(dir string) []string {
				return []string{"--out", filepath.Join(dir, "out.wav"), "--digits", filepath.Join(dir, "in.digits")}
			},
			want: []string{"in.digits: already exists", "--force"},
			keep: []string{"in.digits"},
		},
		{
			name: "output is the input", input: good,
			args: func(dir string) []string { return []string{"--out", filepath.Join(dir, "in.wav"), "--force"} },
			want: []string{"is the input file"},
		},
		{
			name: "truncated with digits", input: truncated,
			args: func(dir string) []string {
				return []string{"--out", filepath.Join(dir, "out.wav"), "--digits", filepath.Join(dir, "in.digits")}
			},
			want: []string{"in.wav", "truncated"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.asRoot && os.Geteuid() == 0 {
				t.Skip("root writes to read-only folders")
			}
			dir := t.TempDir()
			in := filepath.Join(dir, "in.wav")
			keep := slices.Clone(tt.keep)
			if tt.input != nil {
				writeFile(t, in, tt.input)
				keep = append(keep, "in.wav")
			}
			if tt.setup != nil {
				tt.setup(dir)
			}
			before := map[string][]byte{}
			for _, f := range listFiles(t, dir) {
				before[f], _ = os.ReadFile(filepath.Join(dir, f))
			}
			args := []string{"--out", filepath.Join(dir, "out.wav")}
			if tt.args != nil {
				args = tt.args(dir)
			}
			code, stdout, stderr := runCLI(t, append([]string{"scrub", "--in", in}, args...)...)
			if code != exitFailure {
				t.Errorf("exit %d, want %d", code, exitFailure)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr: want %q in:\n%s", w, stderr)
				}
			}
			if stdout != "" {
				t.Errorf("stdout: want nothing, got:\n%s", stdout)
			}
			slices.Sort(keep)
			if files := listFiles(t, dir); !slices.Equal(files, keep) {
				t.Errorf("files after: %v, want %v (no output, no temporary file)", files, keep)
			}
			for f, b := range before {
				if now, _ := os.ReadFile(filepath.Join(dir, f)); !bytes.Equal(now, b) {
					t.Errorf("%s was changed", f)
				}
			}
		})
	}
}

// TestScrubForce: --force replaces an existing output; without it the
// output is left alone.
func TestScrubForce(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
	writeWAV(t, in, mulaw, testwav.Murmur(4000, 6))
	writeFile(t, out, []byte("precious"))

	if code, _, _ := runCLI(t, "scrub", "--in", in, "--out", out); code != exitFailure {
		t.Fatalf("without --force: exit %d, want %d", code, exitFailure)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Fatal("without --force the existing output was changed")
	}
	if code, _, stderr := runCLI(t, "scrub", "--in", in, "--out", out, "--force"); code != exitOK {
		t.Fatalf("with --force: exit %d; stderr:\n%s", code, stderr)
	}
	if h, s := readWAV(t, out); h != mulaw || len(s) != 4000+lookahead {
		t.Errorf("with --force: output %+v, %d samples", h, len(s))
	}
	if files := listFiles(t, dir); !slices.Equal(files, []string{"in.wav", "out.wav"}) {
		t.Errorf("files left: %v", files)
	}
}

// TestScrubIntoFolder: --out an existing folder with --in a file.
func TestScrubIntoFolder(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "call.wav")
	writeWAV(t, in, pcm16, testwav.Murmur(1000, 7))
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "dig"), 0o700); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "scrub", "--in", in, "--out", filepath.Join(dir, "out"), "--digits", filepath.Join(dir, "dig"))
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	want := []string{"call.wav", "dig/call.digits", "out/call.wav"}
	if files := listFiles(t, dir); !slices.Equal(files, want) {
		t.Errorf("files: %v, want %v", files, want)
	}
}

// TestScrubTree: a folder with good files and bad ones: the good ones are
// written, the bad ones reported and absent, a summary, exit 1.
func TestScrubTree(t *testing.T) {
	before := runtime.NumGoroutine()
	root := t.TempDir()
	in, out, dig := filepath.Join(root, "in"), filepath.Join(root, "out"), filepath.Join(root, "digits")
	tones, toneList := tonesIn("159#")
	writeWAV(t, filepath.Join(in, "a.wav"), pcm16, testwav.Murmur(8000, 8))
	writeWAV(t, filepath.Join(in, "sub", "b.WAV"), stereo(mulaw), testwav.Interleave(testwav.Murmur(3000, 9), testwav.Murmur(3000, 10)))
	writeWAV(t, filepath.Join(in, "sub", "deeper", "c.wav"), alaw, tones)
	writeFile(t, filepath.Join(in, "bad", "minutes.wav"), []byte("not audio"))
	writeWAV(t, filepath.Join(in, "bad", "wideband.wav"), testwav.Header{Tag: testwav.TagPCM, Channels: 1, SampleRate: 16000, Bits: 16}, testwav.Murmur(16000, 11))
	writeFile(t, filepath.Join(in, "notes.txt"), []byte("ignored"))

	code, stdout, stderr := runCLI(t, "scrub", "--in", in, "--out", out, "--digits", dig)
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	for _, w := range []string{
		"Scrubbed 3 of 5 files, 2 failed; 4 key presses masked.",
		"realtime",
		"Failed:\n",
		"  " + filepath.Join(in, "bad", "minutes.wav") + ": not a WAV file",
		"  " + filepath.Join(in, "bad", "wideband.wav") + ": sample rate 16000 Hz is not supported",
	} {
		if !strings.Contains(stdout, w) {
			t.Errorf("summary: want %q in:\n%s", w, stdout)
		}
	}
	for _, w := range []string{
		"scrub: failed: " + filepath.Join(in, "bad", "minutes.wav") + ": not a WAV file",
		"scrub: failed: " + filepath.Join(in, "bad", "wideband.wav") + ": sample rate 16000 Hz",
	} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr: want %q in:\n%s", w, stderr)
		}
	}
	wantOut := []string{"a.wav", "sub/b.WAV", "sub/deeper/c.wav"}
	if files := listFiles(t, out); !slices.Equal(files, wantOut) {
		t.Errorf("outputs: %v, want %v (no temporary file, nothing for the bad inputs)", files, wantOut)
	}
	wantDig := []string{"a.digits", "sub/b.digits", "sub/deeper/c.digits"}
	if files := listFiles(t, dig); !slices.Equal(files, wantDig) {
		t.Errorf("digits files: %v, want %v", files, wantDig)
	}
	checkDigits(t, parseDigits(t, filepath.Join(dig, "sub", "deeper", "c.digits")), toneList)
	if h, s := readWAV(t, filepath.Join(out, "sub", "b.WAV")); h != stereo(mulaw) || len(s) != 2*(3000+lookahead) {
		t.Errorf("sub/b.WAV: %+v, %d samples", h, len(s))
	}

	// Again: every output exists now, so without --force every file fails;
	// with --force, only the bad ones.
	code, stdout, _ = runCLI(t, "scrub", "--in", in, "--out", out)
	if code != exitFailure || !strings.Contains(stdout, "Scrubbed 0 of 5 files, 5 failed") || !strings.Contains(stdout, "already exists") {
		t.Errorf("rerun without --force: exit %d, summary:\n%s", code, stdout)
	}
	code, stdout, _ = runCLI(t, "scrub", "--in", in, "--out", out, "--force", "--jobs", "1")
	if code != exitFailure || !strings.Contains(stdout, "Scrubbed 3 of 5 files, 2 failed") {
		t.Errorf("rerun with --force: exit %d, summary:\n%s", code, stdout)
	}

	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left running (%d before)", n, before)
	}
}

// TestScrubTreeGood: all good, exit 0; an output folder inside the input
// folder is not scrubbed again.
func TestScrubTreeGood(t *testing.T) {
	in := t.TempDir()
	out := filepath.Join(in, "scrubbed")
	writeWAV(t, filepath.Join(in, "one.wav"), pcm16, testwav.Murmur(800, 12))
	writeWAV(t, filepath.Join(in, "two.wav"), mulaw, testwav.Murmur(800, 13))
	for range 2 {
		code, stdout, stderr := runCLI(t, "scrub", "--in", in, "--out", out, "--force")
		if code != exitOK {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		if !strings.Contains(stdout, "Scrubbed 2 of 2 files; 0 key presses masked.") {
			t.Errorf("summary:\n%s", stdout)
		}
	}
	want := []string{"one.wav", "scrubbed/one.wav", "scrubbed/two.wav", "two.wav"}
	if files := listFiles(t, in); !slices.Equal(files, want) {
		t.Errorf("files: %v, want %v", files, want)
	}
}

func TestScrubTreeRefusals(t *testing.T) {
	tests := []struct {
		name string
		args func(in string) []string
		want string
	}{
		{"out is in", func(in string) []string { return []string{"--out", in} }, "is the input file"},
		{"out is a file", func(in string) []string { return []string{"--out", filepath.Join(in, "a.wav")} }, "must be folders too"},
		{"no wav", func(in string) []string {
			return []string{"--in", filepath.Join(in, "empty"), "--out", filepath.Join(in, "o")}
		}, "no .wav files found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := t.TempDir()
			writeWAV(t, filepath.Join(in, "a.wav"), pcm16, testwav.Murmur(800, 14))
			if err := os.Mkdir(filepath.Join(in, "empty"), 0o755); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runCLI(t, append([]string{"scrub", "--in", in}, tt.args(in)...)...)
			if code != exitFailure || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, stderr, tt.want)
			}
		})
	}
}

// TestBinary builds the real binary and runs it as a user would.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hushphone-server")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	src, tones := tonesIn("2580")
	in := filepath.Join(dir, "call.wav")
	writeWAV(t, in, mulaw, src)
	writeFile(t, filepath.Join(dir, "junk.wav"), []byte("junk"))

	tests := []struct {
		name string
		args []string
		code int
		want string // on stdout or stderr
	}{
		{"help", []string{"help"}, exitOK, "scrub"},
		{"no command", nil, exitUsage, "Usage:"},
		{"unknown", []string{"serve-everything"}, exitUsage, "unknown command"},
		{"scrub", []string{"scrub", "--in", in, "--out", filepath.Join(dir, "out.wav"), "--digits", filepath.Join(dir, "call.digits")}, exitOK, "4 key presses masked"},
		{"exists", []string{"scrub", "--in", in, "--out", filepath.Join(dir, "out.wav")}, exitFailure, "--force"},
		{"junk", []string{"scrub", "--in", filepath.Join(dir, "junk.wav"), "--out", filepath.Join(dir, "junk-out.wav")}, exitFailure, "not a WAV file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), bin, tt.args...)
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, e.String())
			}
			if !strings.Contains(o.String()+e.String(), tt.want) {
				t.Errorf("want %q in:\n%s%s", tt.want, o.String(), e.String())
			}
		})
	}
	checkDigits(t, parseDigits(t, filepath.Join(dir, "call.digits")), tones)
	if _, err := os.Stat(filepath.Join(dir, "junk-out.wav")); err == nil {
		t.Error("junk-out.wav was written")
	}
}
