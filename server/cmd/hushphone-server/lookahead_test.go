package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestScrubLookahead: scrub --lookahead 40ms delays the output by 40 ms
// (320 samples), masks every key press with it and leaves the audio around
// them as it came in; a look-ahead the Masker does not take is a usage
// error that says which it takes.
func TestScrubLookahead(t *testing.T) {
	const la = 320
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
	src, tones := tonesIn("4711")
	writeWAV(t, in, pcm16, src)
	code, stdout, stderr := runCLI(t, "scrub", "--in", in, "--out", out, "--mode", "silence", "--lookahead", "40ms")
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "4 key presses masked") || !strings.Contains(stdout, "delayed by 40ms") {
		t.Errorf("stdout: want 4 key presses and a delay of 40ms, got:\n%s", stdout)
	}
	_, got := readWAV(t, out)
	if len(got) != len(src)+la {
		t.Fatalf("output is %d samples, want %d (input %d + look-ahead %d)", len(got), len(src)+la, len(src), la)
	}
	inTone := func(i int) bool {
		for _, tn := range tones {
			if i >= tn.Start-320 && i < tn.End+640 {
				return true
			}
		}
		return false
	}
	for i, v := range src {
		switch {
		case inTone(i):
			for _, tn := range tones {
				if i >= tn.Start && i < tn.End && got[i+la] != 0 {
					t.Fatalf("sample %d of a key press came through", i)
				}
			}
		case got[i+la] != v:
			t.Fatalf("sample %d: %d, want the input's %d, 40 ms later", i, got[i+la], v)
		}
	}

	for _, bad := range []string{"10ms", "22ms", "55ms"} {
		code, _, stderr := runCLI(t, "scrub", "--in", in, "--out", filepath.Join(dir, "bad.wav"), "--lookahead", bad)
		if code != exitUsage || !strings.Contains(stderr, "use 20ms to 50ms in steps of 5ms") {
			t.Errorf("--lookahead %s: exit %d, stderr %q; want a usage error saying 20ms to 50ms", bad, code, stderr)
		}
	}
}
