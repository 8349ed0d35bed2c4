package g711

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSox cross-checks against sox, the way CI's Debian machine has it:
// decoding must agree on all 256 codes of both laws. sox rounds the sample
// to 14 (mu-law) or 13 (A-law) bits before encoding, so its encoder may pick
// the neighbouring code near a decision level; anything else is a bug.
func TestSox(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		t.Skip("sox not installed (Debian package sox): skipping the sox cross-check")
	}
	dir := t.TempDir()
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	lin := make([]byte, 0, 2<<16)
	for x := -32768; x <= 32767; x++ {
		lin = binary.LittleEndian.AppendUint16(lin, uint16(x))
	}
	codesPath := filepath.Join(dir, "codes.raw")
	linPath := filepath.Join(dir, "linear.raw")
	if err := os.WriteFile(codesPath, codes, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(linPath, lin, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		// -D: no dither, so sox's output is deterministic.
		cmd := exec.Command(sox, append([]string{"-D", "-V1"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sox %v: %v\n%s", args, err, stderr.String())
		}
		return out
	}
	for _, l := range laws {
		enc := "u-law"
		if l.law == ALaw {
			enc = "a-law"
		}
		dec := run("-t", "raw", "-r", "8000", "-e", enc, "-b", "8", "-c", "1", codesPath,
			"-t", "raw", "-e", "signed", "-b", "16", "-L", "-")
		if len(dec) != 512 {
			t.Fatalf("%s: sox decoded %d bytes, want 512", l.name, len(dec))
		}
		for c := range 256 {
			want := int16(binary.LittleEndian.Uint16(dec[2*c:]))
			if got := l.dec(byte(c)); got != want {
				t.Errorf("%s decode 0x%02X = %d, sox %d", l.name, c, got, want)
			}
		}
		soxEnc := run("-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", "-L", linPath,
			"-t", "raw", "-e", enc, "-b", "8", "-")
		if len(soxEnc) != 1<<16 {
			t.Fatalf("%s: sox encoded %d bytes, want 65536", l.name, len(soxEnc))
		}
		differ := 0
		for i, want := range soxEnc {
			x := int16(i - 32768)
			got := l.enc(x)
			if got == want {
				continue
			}
			differ++
			g, w := int(l.dec(got)), int(l.dec(want))
			if !adjacent(l, g, w) {
				t.Errorf("%s encode %d = 0x%02X (%d), sox 0x%02X (%d): not neighbouring levels", l.name, x, got, g, want, w)
			}
		}
		t.Logf("%s: sox's encoder picks the neighbouring code for %d of 65536 inputs", l.name, differ)
	}
}

// adjacent reports whether a and b are neighbouring levels of law l.
func adjacent(l law, a, b int) bool {
	lo, hi := min(a, b), max(a, b)
	for c := range 256 {
		if v := int(l.dec(byte(c))); v > lo && v < hi {
			return false
		}
	}
	return true
}
