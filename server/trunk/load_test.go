package trunk

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/maskscore"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/server/callerleg"
)

// TestLoad is the trunk's load test, run by hand (see README):
//
//	HUSHPHONE_LOAD_CALLS=500 HUSHPHONE_LOAD_SECONDS=20 go test ./server/trunk -run TestLoad -v -timeout 10m
//
// sipp places that many concurrent calls, each streaming the corpus's
// nominal case (speech and in-band keys) for that long; every call is
// answered and masked. It reports the server's CPU per call-second, packet
// loss, and the added latency's p50 and p99.
func TestLoad(t *testing.T) {
	calls, _ := strconv.Atoi(os.Getenv("HUSHPHONE_LOAD_CALLS"))
	if calls <= 0 {
		t.Skip("a load test: set HUSHPHONE_LOAD_CALLS (and HUSHPHONE_LOAD_SECONDS) to run it")
	}
	secs, _ := strconv.Atoi(os.Getenv("HUSHPHONE_LOAD_SECONDS"))
	if secs <= 0 {
		secs = 20
	}
	bin := sipptest.Sipp(t)
	dir, err := maskscore.CorpusDir()
	if err != nil {
		t.Fatal(err)
	}
	c, err := maskscore.LoadCase(dir, "nominal")
	if err != nil {
		t.Fatal(err)
	}
	n := min(secs*8000, len(c.Samples)) / 160 * 160
	audio := make([]byte, n)
	g711.EncodeULawTo(audio, c.Samples[:n])
	work := t.TempDir()
	if err := sipptest.WritePCAP(filepath.Join(work, "caller.pcap"), audio); err != nil {
		t.Fatal(err)
	}
	scen := sipptest.CallerScenario(n/8 + 500)
	if err := os.WriteFile(filepath.Join(work, "caller.xml"), scen, 0o644); err != nil {
		t.Fatal(err)
	}

	lat := &loadStats{}
	addr, _ := startTrunkWith(t, lat, func(_ *answered, call *Call) {
		_ = call.Answer(func([]byte) {}, func(e dtmf.Event) {
			if e.Phase == dtmf.KeyDown {
				lat.mu.Lock()
				lat.keys++
				lat.mu.Unlock()
			}
		})
	})
	var before syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+120)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-sf", "caller.xml", "-s", "hushphone", "-i", "127.0.0.1",
		"-p", strconv.Itoa(freePort(t)), "-mp", "20000", "-r", strconv.Itoa(max(calls/2, 1)), "-l", strconv.Itoa(calls),
		"-m", strconv.Itoa(calls), "-timeout", strconv.Itoa(secs+90)+"s", "-nostdin", "-max_socket", "4096", addr)
	cmd.Dir = work
	cmd.WaitDelay = 5 * time.Second // a killed sipp's pipes must not hold the test
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	runErr := cmd.Run()
	wall := time.Since(start)
	var after syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // let the last BYEs end their calls
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond

	lat.mu.Lock()
	defer lat.mu.Unlock()
	slices.Sort(lat.d)
	if len(lat.d) == 0 {
		t.Fatalf("no frame went out; sipp: %v\n%s", runErr, log.String())
	}
	callSeconds := float64(lat.ended) * float64(n) / 8000
	t.Logf("%d calls offered, %d ended (sipp: %v), %.0f call-seconds in %v", lat.offered, lat.ended, runErr, callSeconds, wall.Round(time.Second))
	t.Logf("server CPU: %v, %.3f ms per call-second", cpu.Round(time.Millisecond), float64(cpu.Milliseconds())/callSeconds)
	t.Logf("caller packets: %d received, %d lost (%.3f %%), %d late, %d malformed", lat.received, lat.lost, 100*float64(lat.lost)/float64(max(lat.received, 1)), lat.late, lat.malformed)
	t.Logf("added latency over %d frames: p50 %v, p99 %v, max %v", len(lat.d), lat.d[len(lat.d)/2], lat.d[len(lat.d)*99/100], lat.d[len(lat.d)-1])
	t.Logf("key presses reported: %d (%.1f per call)", lat.keys, float64(lat.keys)/float64(max(lat.ended, 1)))
	if lat.ended != calls {
		t.Errorf("%d of %d calls completed\n%s", lat.ended, calls, log.String())
	}
}

// loadStats adds up what the trunk reports over many calls.
type loadStats struct {
	mu                                    sync.Mutex
	d                                     []time.Duration
	offered, ended                        int
	received, late, malformed, lost, keys int64
}

func (l *loadStats) CallOffered() { l.mu.Lock(); l.offered++; l.mu.Unlock() }

func (l *loadStats) CallEnded(s callerleg.Stats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended++
	l.received += int64(s.Received)
	l.late += int64(s.Late)
	l.malformed += int64(s.Malformed)
	l.lost += s.Lost
}

func (l *loadStats) AddedLatency(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *loadStats) SIPRefused(string, string) {}

func (l *loadStats) RTPStranger(string) {}

func (l *loadStats) CallCut(string) {}
