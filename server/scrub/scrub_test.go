package scrub

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testkit"
	"github.com/hushphone/hushphone/internal/testing/testwav"
	"github.com/hushphone/hushphone/media/mask"
	"github.com/hushphone/hushphone/media/wav"
)

func TestDigitsText(t *testing.T) {
	tests := []struct {
		name string
		keys []keyPress
		want string
	}{
		{"none", nil, ""},
		{"one", []keyPress{{digit: '5', start: 200 * time.Millisecond, end: 280 * time.Millisecond}}, "5 200 280\n"},
		{
			"rounded to ms",
			[]keyPress{{digit: '#', start: 1234600 * time.Microsecond, end: 1314400 * time.Microsecond}},
			"# 1235 1314\n",
		},
		{
			"several",
			[]keyPress{{digit: '1', end: time.Millisecond}, {digit: 'D', start: time.Second, end: 2 * time.Second}},
			"1 0 1\nD 1000 2000\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(digitsText(tt.keys)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClock(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00:00.0"},
		{1500 * time.Millisecond, "0:00:01.5"},
		{time.Hour + 2*time.Minute + 3*time.Second, "1:02:03.0"},
		{59*time.Second + 960*time.Millisecond, "0:01:00.0"},
	}
	for _, tt := range tests {
		if got := clock(tt.d); got != tt.want {
			t.Errorf("clock(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestSummary(t *testing.T) {
	r := TreeResult{
		Files: 3, Scrubbed: 2, KeyPresses: 1, Audio: 90 * time.Second, Bytes: 1_440_000, Elapsed: time.Second,
		Failed: []Failure{{Path: "x/y.wav", Err: errors.New("x/y.wav: not a WAV file")}},
	}
	var b bytes.Buffer
	if err := r.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	want := "Scrubbed 2 of 3 files, 1 failed; 1 key press masked.\n" +
		"Audio: 0:01:30.0 in 1s, 90x realtime (1.4 MB).\n" +
		"Failed:\n  x/y.wav: not a WAV file\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestProgress(t *testing.T) {
	tests := []struct {
		name string
		tty  bool
		want []string
	}{
		{"plain", false, []string{"scrub: 1/2 files, 0.0 MB of 0.0 MB, ETA ", "scrub: failed: b.wav: broken\n"}},
		{"terminal", true, []string{"\r\x1b[K[", "] 1/2 files", "\r\x1b[Kscrub: failed: b.wav: broken\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b testkit.SyncBuffer
			p := NewProgress(&b, "scrub", tt.tty, time.Millisecond, 2, 2000)
			p.Start()
			p.Bytes(500)
			p.File(500)
			p.Fail(errors.New("b.wav: broken"))
			time.Sleep(250 * time.Millisecond)
			p.Stop()
			got := b.String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("want %q in %q", w, got)
				}
			}
			if !tt.tty && strings.Contains(got, "\r") {
				t.Errorf("plain progress has terminal control characters: %q", got)
			}
		})
	}
}

// TestFileCancelled: a scrub stopped by its context leaves nothing behind.
func TestFileCancelled(t *testing.T) {
	dir := t.TempDir()
	in, out, dig := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav"), filepath.Join(dir, "in.digits")
	h := testwav.Header{Tag: testwav.TagPCM, Channels: 1, SampleRate: 8000, Bits: 16}
	if err := os.WriteFile(in, testwav.Encode(h, testwav.Murmur(8000*5, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := File(ctx, in, out, dig, Options{}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the folder, want only the input", len(entries))
	}
	_, err = Tree(ctx, dir, filepath.Join(dir, "out"), "", TreeOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Tree: err = %v, want context.Canceled", err)
	}
}

// TestFileResult: File reports the input's shape, the look-ahead and the
// count of key presses, and the progress callback sees every byte.
func TestFileResult(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
	h := testwav.Header{Tag: testwav.TagMuLaw, Channels: 2, SampleRate: 8000, Bits: 8}
	left, _ := testwav.DTMF("12", 100*time.Millisecond, 80*time.Millisecond, 80*time.Millisecond, -10)
	data := testwav.Encode(h, testwav.Interleave(left, left))
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var read int64
	res, err := File(context.Background(), in, out, "", Options{Mode: mask.ModeSilence}, func(n int64) { read += n })
	if err != nil {
		t.Fatal(err)
	}
	want := Result{
		Format: wav.FormatMuLaw, Channels: 2, SampleRate: 8000, Frames: int64(len(left)),
		Lookahead: mask.New().Lookahead(), KeyPresses: 4,
	}
	if res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	if read != int64(len(data)) {
		t.Errorf("progress saw %d bytes, want %d", read, len(data))
	}
	if d := res.Duration(); d != time.Duration(len(left))*time.Second/8000 {
		t.Errorf("duration %v", d)
	}
}
