package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// These tests check interoperability with sox (the Debian package sox, which
// CI installs); they skip when it is not installed.

func needSox(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"sox", "soxi"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian package sox): skipping the sox interoperability test", tool)
		}
	}
}

// run runs a sox tool and returns its standard output.
func run(t *testing.T, tool string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(tool, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// soxDecode is sox's own decoding of a WAV file to 16-bit linear samples.
func soxDecode(t *testing.T, path string) []int16 {
	t.Helper()
	raw := run(t, "sox", "-D", "-V1", path, "-t", "raw", "-e", "signed", "-b", "16", "-L", "-")
	s := make([]int16, len(raw)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return s
}

func soxi(t *testing.T, flag, path string) string {
	t.Helper()
	return strings.TrimSpace(string(run(t, "soxi", "-V1", flag, path)))
}

var soxEncodings = []struct {
	f        Format
	enc      string // sox -e
	bits     string // sox -b
	soxiName string // soxi -e
}{
	{FormatPCM16, "signed-integer", "16", "Signed Integer PCM"},
	{FormatALaw, "a-law", "8", "A-law"},
	{FormatMuLaw, "mu-law", "8", "u-law"},
}

// TestSoxWritesWeRead: files sox makes read back as sox itself decodes them.
func TestSoxWritesWeRead(t *testing.T) {
	needSox(t)
	dir := t.TempDir()
	for _, e := range soxEncodings {
		for _, ch := range []int{1, 2} {
			for _, rate := range []int{8000, 11025} {
				name := fmt.Sprintf("%v-%dch-%d", e.f, ch, rate)
				t.Run(name, func(t *testing.T) {
					path := filepath.Join(dir, name+".wav")
					// 0.2501 s: an odd number of frames, so G.711 mono has a pad byte.
					run(t, "sox", "-D", "-V1", "-n", "-r", strconv.Itoa(rate), "-c", strconv.Itoa(ch),
						"-e", e.enc, "-b", e.bits, path, "synth", "0.2501", "sine", "697", "sine", "1336")
					a, err := ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					if want := (Header{e.f, ch, rate}); a.Header != want {
						t.Errorf("header %+v, want %+v", a.Header, want)
					}
					if frames := soxi(t, "-s", path); strconv.Itoa(a.Frames()) != frames {
						t.Errorf("%d frames, soxi says %s", a.Frames(), frames)
					}
					if !slices.Equal(a.Samples, soxDecode(t, path)) {
						t.Errorf("samples differ from sox's decoding")
					}
					// sox writing to a pipe cannot patch its sizes.
					piped := run(t, "sox", "-V1", path, "-t", "wav", "-")
					p, err := Read(bytes.NewReader(piped))
					if err != nil {
						t.Fatalf("reading sox's piped output: %v", err)
					}
					if p.Header != a.Header || !slices.Equal(p.Samples, a.Samples) {
						t.Errorf("sox's piped output reads differently")
					}
				})
			}
		}
	}
}

// TestWeWriteSoxReads: files this package writes (whole and streamed) are
// read by soxi and sox as what was written.
func TestWeWriteSoxReads(t *testing.T) {
	needSox(t)
	dir := t.TempDir()
	for _, e := range soxEncodings {
		for _, ch := range []int{1, 2} {
			name := fmt.Sprintf("%v-%dch", e.f, ch)
			t.Run(name, func(t *testing.T) {
				a := &Audio{Header: Header{e.f, ch, 16000}, Samples: signal(1601, ch)}
				path := filepath.Join(dir, name+".wav")
				if err := WriteFile(path, a); err != nil {
					t.Fatal(err)
				}
				for flag, want := range map[string]string{
					"-r": "16000",
					"-c": strconv.Itoa(ch),
					"-s": "1601",
					"-e": e.soxiName,
				} {
					if got := soxi(t, flag, path); got != want {
						t.Errorf("soxi %s = %q, want %q", flag, got, want)
					}
				}
				if !slices.Equal(soxDecode(t, path), quantized(e.f, a.Samples)) {
					t.Errorf("sox decodes different samples")
				}
			})
		}
	}
}

// TestSoxUnsupported: formats sox makes that this package refuses, clearly.
func TestSoxUnsupported(t *testing.T) {
	needSox(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string // sox output options
		msg  string
	}{
		{"8-bit unsigned", []string{"-c", "1", "-e", "unsigned-integer", "-b", "8"}, "8-bit PCM"},
		{"24-bit", []string{"-c", "1", "-e", "signed-integer", "-b", "24"}, "24-bit PCM"},
		{"32-bit float", []string{"-c", "1", "-e", "floating-point", "-b", "32"}, "32-bit IEEE float"},
		{"3 channels", []string{"-c", "3", "-e", "signed-integer", "-b", "16"}, "3 channels"},
		{"IMA ADPCM", []string{"-c", "1", "-e", "ima-adpcm"}, "IMA ADPCM"},
		{"GSM", []string{"-c", "1", "-e", "gsm-full-rate"}, "GSM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".wav")
			args := append([]string{"-D", "-V1", "-n", "-r", "8000"}, tt.args...)
			run(t, "sox", append(args, path, "synth", "0.1", "sine", "440")...)
			_, err := ReadFile(path)
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("ReadFile = %v, want ErrUnsupported saying %q", err, tt.msg)
			}
		})
	}
}
