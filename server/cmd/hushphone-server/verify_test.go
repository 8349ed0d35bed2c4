package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hushphone/hushphone/internal/testing/testwav"
	"github.com/hushphone/hushphone/server/proof"
	"github.com/hushphone/hushphone/server/scrub"
)

// cardKeys are the key presses of the suspect files: a card number.
const cardKeys = "4929871234567890"

// noKeyRuns fails if out holds four of cardKeys in a row, once the folder's
// name (random digits) and SHA-256 values (hex) are taken out.
func noKeyRuns(t *testing.T, dir, out string) {
	t.Helper()
	out = strings.ReplaceAll(out, dir, "DIR")
	out = regexp.MustCompile(`[0-9a-f]{64}`).ReplaceAllString(out, "SHA")
	for i := 0; i+4 <= len(cardKeys); i++ {
		if strings.Contains(out, cardKeys[i:i+4]) {
			t.Errorf("the output holds %q, four key presses in a row:\n%s", cardKeys[i:i+4], out)
		}
	}
}

// verifyFiles writes: clean.wav (scrub's output of the key presses),
// keys.wav (the key presses unmasked), sub/right.wav (stereo: murmur on the
// left, the key presses on the right) and sub/bad.wav (not a WAV file).
func verifyFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	x, _ := tonesIn(cardKeys)
	writeWAV(t, filepath.Join(dir, "keys.wav"), pcm16, x)
	writeWAV(t, filepath.Join(dir, "sub", "right.wav"), stereo(mulaw), testwav.Interleave(testwav.Murmur(len(x), 1), x))
	writeFile(t, filepath.Join(dir, "sub", "bad.wav"), []byte(cardKeys+" 12/29\n"))
	if code, _, stderr := runCLI(t, "scrub", "--in", filepath.Join(dir, "keys.wav"), "--out", filepath.Join(dir, "clean.wav")); code != exitOK {
		t.Fatalf("scrub: exit %d: %s", code, stderr)
	}
	return dir
}

// TestVerifyTable: a folder gives a row per file, in order, with hits by
// time (and channel, for stereo) and never a digit; a suspect file makes
// the exit status 1 even with a bad file beside it, whose error is on
// stderr.
func TestVerifyTable(t *testing.T) {
	dir := verifyFiles(t)
	code, stdout, stderr := runCLI(t, "verify", dir)
	if code != exitSuspect {
		t.Errorf("exit %d, want %d", code, exitSuspect)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^FILE +DURATION +VERDICT +HITS +FLAT TONES$`),
		// The key presses begin at 0.2 s and every 160 ms after; spandsp
		// reports each in the frame some 20 ms in.
		regexp.MustCompile(`/clean\.wav +0:02\.78 +clean +0 +16$`),
		regexp.MustCompile(`/keys\.wav +0:02\.76 +suspect +16: 0:00\.22, 0:00\.38, 0:00\.54, 0:00\.70, 0:00\.86, 0:01\.02, 0:01\.18, 0:01\.34 and 8 more +0$`),
		regexp.MustCompile(`/sub/bad\.wav +- +error +- +-$`),
		regexp.MustCompile(`/sub/right\.wav +0:02\.76 +suspect +16: R 0:00\.22, R 0:00\.38, R 0:00\.54, .*, R 0:01\.34 and 8 more +0$`),
		regexp.MustCompile(`^4 files: 1 clean, 2 suspect, 1 could not be checked\.$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("stdout:\n%s\nwant %d lines", stdout, len(want))
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d: %q, want %v", i, lines[i], re)
		}
	}
	if !strings.Contains(stderr, "bad.wav: proof: bad input: not a WAV file") || !strings.Contains(stderr, "2 files are suspect") {
		t.Errorf("stderr:\n%s", stderr)
	}
	noKeyRuns(t, dir, stdout+stderr)

	// The clean file alone: 0. The bad one alone: 2. A missing one: 2.
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{filepath.Join(dir, "clean.wav")}, exitOK},
		{[]string{filepath.Join(dir, "clean.wav"), filepath.Join(dir, "sub", "bad.wav")}, exitBadInput},
		{[]string{filepath.Join(dir, "missing.wav"), filepath.Join(dir, "clean.wav")}, exitBadInput},
		{[]string{"--jobs", "1", filepath.Join(dir, "keys.wav")}, exitSuspect},
		{[]string{t.TempDir()}, exitBadInput}, // no .wav below it
	} {
		code, stdout, stderr := runCLI(t, append([]string{"verify"}, tc.args...)...)
		if code != tc.code {
			t.Errorf("verify %v: exit %d, want %d\n%s%s", tc.args, code, tc.code, stdout, stderr)
		}
		noKeyRuns(t, dir, stdout+stderr)
	}
}

// TestVerifyJSON: --json gives one line per file, the proof with "file"
// added, or the file and its error.
func TestVerifyJSON(t *testing.T) {
	dir := verifyFiles(t)
	code, stdout, stderr := runCLI(t, "verify", "--json", dir)
	if code != exitSuspect {
		t.Errorf("exit %d, want %d", code, exitSuspect)
	}
	noKeyRuns(t, dir, stdout+stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("stdout:\n%s\nwant 4 lines", stdout)
	}
	want := []struct {
		file    string
		verdict string
		hits    int
		flat    int
		channel int
	}{
		{"clean.wav", proof.VerdictClean, 0, 16, 0},
		{"keys.wav", proof.VerdictSuspect, 16, 0, 0},
		{"sub/bad.wav", "", 0, 0, 0},
		{"sub/right.wav", proof.VerdictSuspect, 16, 0, 1},
	}
	for i, line := range lines {
		var f struct {
			File  string `json:"file"`
			Error string `json:"error"`
		}
		var p proof.Proof
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		w := want[i]
		if f.File != filepath.Join(dir, w.file) {
			t.Errorf("line %d: file %q, want %q", i, f.File, filepath.Join(dir, w.file))
		}
		if w.verdict == "" {
			if !strings.Contains(f.Error, "not a WAV file") {
				t.Errorf("line %d: %s, want an error", i, line)
			}
			continue
		}
		if p.Verdict != w.verdict || p.HitCount != w.hits || len(p.Hits) != w.hits || p.FlatTones != w.flat || p.Detector != proof.DetectorName || len(p.SHA256) != 64 {
			t.Errorf("line %d: %s", i, line)
		}
		for _, h := range p.Hits {
			if h.Channel != w.channel {
				t.Errorf("line %d: a hit on channel %d, want %d", i, h.Channel, w.channel)
			}
		}
	}
}

// TestScrubProof: scrub --proof writes the proof beside the output and says
// so; the proof is the one verify gives, with the key presses masked.
func TestScrubProof(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
	x, _ := tonesIn(cardKeys)
	writeWAV(t, in, stereo(alaw), testwav.Interleave(x, testwav.Murmur(len(x), 3)))
	code, stdout, stderr := runCLI(t, "scrub", "--in", in, "--out", out, "--proof")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Proof: clean, no key press found by spandsp dtmf_rx, 16 flat tones; written to "+scrub.ProofPath(out)) {
		t.Errorf("stdout:\n%s", stdout)
	}
	b, err := os.ReadFile(scrub.ProofPath(out))
	if err != nil {
		t.Fatal(err)
	}
	noKeyRuns(t, dir, stdout+stderr+string(b))
	var p proof.Proof
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.KeysMasked != 16 || p.FlatTones != 16 || p.Verdict != proof.VerdictClean || p.Channels != 2 {
		t.Errorf("proof %s", b)
	}
	_, vout, _ := runCLI(t, "verify", "--json", out)
	if !strings.Contains(vout, `"sha256":"`+p.SHA256+`"`) {
		t.Errorf("verify gives another hash:\n%s\nscrub's proof:\n%s", vout, b)
	}
}
