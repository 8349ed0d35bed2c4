package maskscore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrToolMissing is returned when an external detector (or what it needs to
// be built or run) is not installed; tests skip on it.
var ErrToolMissing = errors.New("external tool missing")

// DtmfRxEnv names the environment variable that points at a prebuilt
// build/spandsp/dtmfrx, instead of building it.
const DtmfRxEnv = "HUSHPHONE_DTMFRX"

// Detector is an independent DTMF detector run on a WAV file.
type Detector struct {
	Name string
	// Find returns the digits found in the 8 kHz mono PCM16 file, in order.
	Find func(ctx context.Context, wavPath string) (string, error)
}

// Detectors returns the README's three independent detectors.
func Detectors() []Detector {
	return []Detector{
		{Name: "spandsp", Find: DtmfRx},
		{Name: "multimon-ng", Find: Multimon},
		{Name: "dtmf2num", Find: Dtmf2num},
	}
}

// FindSamples writes samples to a temporary WAV file and runs d on it.
func (d Detector) FindSamples(ctx context.Context, samples []int16) (string, error) {
	f, err := os.CreateTemp("", "maskscore-*.wav")
	if err != nil {
		return "", fmt.Errorf("%s: %w", d.Name, err)
	}
	path := f.Name()
	defer os.Remove(path)
	_, werr := f.Write(encodeWAV(samples))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", fmt.Errorf("%s: write %s: %w", d.Name, path, werr)
	}
	return d.Find(ctx, path)
}

// lookTool finds a program on PATH, or says which Debian package has it.
func lookTool(name, pkg string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s not on PATH (apt-get install %s)", ErrToolMissing, name, pkg)
	}
	return p, nil
}

// run runs a command and returns its stdout; the error carries its stderr.
func run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[len(msg)-500:]
		}
		return nil, fmt.Errorf("%s: %w: %s", filepath.Base(name), err, msg)
	}
	return stdout.Bytes(), nil
}

// Hit is one digit reported by spandsp's dtmf_rx.
type Hit struct {
	Digit  string
	Sample int // first sample of the 20 ms frame during which it was reported
}

// DtmfRx runs spandsp's dtmf_rx (build/spandsp/dtmfrx.c, built once per
// process) on the file and returns the digits it reports.
func DtmfRx(ctx context.Context, wavPath string) (string, error) {
	hits, err := DtmfRxHits(ctx, wavPath)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, h := range hits {
		b.WriteString(h.Digit)
	}
	return b.String(), nil
}

// DtmfRxHits is DtmfRx with where each digit was reported.
func DtmfRxHits(ctx context.Context, wavPath string) ([]Hit, error) {
	bin, err := dtmfrxBinary(ctx)
	if err != nil {
		return nil, err
	}
	outb, err := run(ctx, nil, bin, wavPath)
	if err != nil {
		return nil, fmt.Errorf("dtmfrx: %w", err)
	}
	var hits []Hit
	sc := bufio.NewScanner(bytes.NewReader(outb))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			return nil, fmt.Errorf("dtmfrx: unexpected line %q", sc.Text())
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("dtmfrx: unexpected line %q: %w", sc.Text(), err)
		}
		hits = append(hits, Hit{Digit: f[0], Sample: n})
	}
	return hits, nil
}

// DtmfRxBench times spandsp's dtmf_rx over the file (dtmfrx --bench) and
// returns its nanoseconds per 20 ms frame: the baseline the Masker's
// per-frame cost is compared against, measured in the same run.
func DtmfRxBench(ctx context.Context, wavPath string, iterations int) (float64, error) {
	bin, err := dtmfrxBinary(ctx)
	if err != nil {
		return 0, err
	}
	outb, err := run(ctx, nil, bin, "--bench", wavPath, "--iterations", strconv.Itoa(max(iterations, 1)))
	if err != nil {
		return 0, fmt.Errorf("dtmfrx --bench: %w", err)
	}
	for _, f := range strings.Fields(string(outb)) {
		if v, ok := strings.CutPrefix(f, "ns_per_frame="); ok {
			ns, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("dtmfrx --bench: %q: %w", outb, err)
			}
			return ns, nil
		}
	}
	return 0, fmt.Errorf("dtmfrx --bench: no ns_per_frame in %q", outb)
}

var dtmfrxBuild struct {
	once sync.Once
	path string
	err  error
}

// dtmfrxBinary returns $HUSHPHONE_DTMFRX, or builds build/spandsp/dtmfrx.c
// with cc and pkg-config into the user cache directory (keyed by the source
// and flags, so a test run reuses an earlier build), once per process.
func dtmfrxBinary(ctx context.Context) (string, error) {
	if p := os.Getenv(DtmfRxEnv); p != "" {
		return p, nil
	}
	b := &dtmfrxBuild
	b.once.Do(func() { b.path, b.err = buildDtmfrx(ctx) })
	return b.path, b.err
}

func buildDtmfrx(ctx context.Context) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("build dtmfrx: %w", err)
	}
	src := filepath.Join(root, "build", "spandsp", "dtmfrx.c")
	code, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("build dtmfrx: %w", err)
	}
	cc, err := lookTool("cc", "build-essential")
	if err != nil {
		return "", err
	}
	pc, err := lookTool("pkg-config", "pkg-config")
	if err != nil {
		return "", err
	}
	flags, err := run(ctx, nil, pc, "--cflags", "--libs", "spandsp")
	if err != nil {
		return "", fmt.Errorf("%w: pkg-config knows no spandsp (apt-get install libspandsp-dev): %w", ErrToolMissing, err)
	}
	sum := sha256.Sum256(append(append(code, 0), flags...))
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "hushphone")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build dtmfrx: %w", err)
	}
	bin := filepath.Join(dir, "dtmfrx-"+hex.EncodeToString(sum[:8]))
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		return bin, nil
	}
	tmp, err := os.CreateTemp(dir, "dtmfrx-build-*")
	if err != nil {
		return "", fmt.Errorf("build dtmfrx: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName)
	// Sources before libraries, for linkers that need that order.
	cargs := []string{"-O2", "-Wall", "-std=c11", "-o", tmpName, src}
	cargs = append(cargs, strings.Fields(string(flags))...)
	cargs = append(cargs, "-lm")
	if _, err := run(ctx, nil, cc, cargs...); err != nil {
		if strings.Contains(err.Error(), "spandsp.h") {
			return "", fmt.Errorf("%w: spandsp headers (apt-get install libspandsp-dev): %w", ErrToolMissing, err)
		}
		return "", fmt.Errorf("build dtmfrx: %w", err)
	}
	if err := os.Rename(tmpName, bin); err != nil {
		return "", fmt.Errorf("build dtmfrx: %w", err)
	}
	return bin, nil
}

// Multimon resamples the file to 22050 Hz raw with sox and runs
// multimon-ng's DTMF decoder on it.
func Multimon(ctx context.Context, wavPath string) (string, error) {
	sox, err := lookTool("sox", "sox")
	if err != nil {
		return "", err
	}
	mm, err := lookTool("multimon-ng", "multimon-ng")
	if err != nil {
		return "", err
	}
	// -D: no dither, so runs repeat; -G: lower the gain rather than clip
	// when resampling loud tones.
	raw, err := run(ctx, nil, sox, "-D", "-G", wavPath, "-t", "raw", "-r", "22050", "-e", "signed-integer", "-b", "16", "-c", "1", "-")
	if err != nil {
		return "", fmt.Errorf("multimon: %w", err)
	}
	// -c before -a: -c removes every demodulator added so far.
	outb, err := run(ctx, raw, mm, "-c", "-a", "DTMF", "-q", "-t", "raw", "-")
	if err != nil {
		return "", fmt.Errorf("multimon: %w", err)
	}
	var b strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(outb))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "DTMF:"); ok {
			b.WriteString(strings.TrimSpace(d))
		}
	}
	return b.String(), nil
}

// Dtmf2num runs dtmf2num (with its default normalization) and parses its
// "- DTMF numbers:  123" line ("none" when it found nothing).
func Dtmf2num(ctx context.Context, wavPath string) (string, error) {
	bin, err := lookTool("dtmf2num", "dtmf2num")
	if err != nil {
		return "", err
	}
	outb, err := run(ctx, nil, bin, wavPath)
	if err != nil {
		return "", fmt.Errorf("dtmf2num: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(outb))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "- DTMF numbers:"); ok {
			d = strings.TrimSpace(d)
			if d == "none" {
				return "", nil
			}
			return d, nil
		}
	}
	return "", fmt.Errorf("dtmf2num: no \"DTMF numbers\" line in its output for %s", wavPath)
}
