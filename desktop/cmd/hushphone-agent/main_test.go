package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/sipptest"
	"github.com/hushphone/hushphone/internal/stacktest"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/wav"
)

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "usage: hushphone-agent"},
		{[]string{}, 2, "--user is needed"},
		{[]string{"--user", "ann"}, 2, "--password-stdin"},
		{[]string{"--user", "ann", "--password-stdin", "--agents", "0"}, 2, "--agents must be 1 or more"},
		{[]string{"--nope"}, 2, "flag provided but not defined"},
		{[]string{"--user", "ann", "--password-stdin", "--play", "/no/such.wav"}, 1, "no/such.wav"},
		{[]string{"--user", "ann", "--password-stdin", "--server", "http://127.0.0.1:1"}, 1, "is hushphone-server serve running?"},
		{[]string{"--user", "ann", "--password-stdin", "--device", "--play", "in.wav"}, 2, "--device is one agent's sound devices"},
		{[]string{"--user", "ann", "--password-stdin", "--device", "--agents", "2"}, 2, "--device is one agent's sound devices"},
		{[]string{"--user", "ann", "--password-stdin", "--mic", "00"}, 2, "go with --device"},
		{[]string{"--list-devices", "--null-devices"}, 0, "microphones:\n* NULL Capture Device  (--mic 00)\nspeakers:\n* NULL Playback Device  (--speaker 00)\n"},
		{[]string{"--user", "ann", "--password-stdin", "--device", "--null-devices", "--mic", "ffff"}, 1, `no microphone with ID "ffff"`},
		{[]string{"--user", "ann", "--password-stdin", "--device", "--null-devices", "--server", "http://127.0.0.1:1"}, 1, `devices: mic "NULL Capture Device" at 48000 Hz`},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), c.args, strings.NewReader("secret-pw\n"), &out, &errOut)
		if code != c.code || !strings.Contains(out.String()+errOut.String(), c.want) {
			t.Errorf("%v: exit %d, %q%q; want %d and %q", c.args, code, out.String(), errOut.String(), c.code, c.want)
		}
		if strings.Contains(out.String()+errOut.String(), "secret-pw") {
			t.Errorf("%v: the password was echoed", c.args)
		}
	}
}

// TestTwoAgentsTakeCallsUntilDone: --agents 2 --auto-answer --calls 2
// --record: two sipp calls, each answered by one of the two agents; the
// command exits 0 after both, and each agent's recording holds a call.
func TestTwoAgentsTakeCallsUntilDone(t *testing.T) {
	sipp := sipptest.Sipp(t)
	voice, _ := sipptest.Excerpt(t, "nominal", 36000, 3*8000)
	srv := stacktest.Start(t)
	srv.AddAgent(t, "bot1", "bots-password")
	srv.AddAgent(t, "bot2", "bots-password")
	dir := t.TempDir()
	rec := filepath.Join(dir, "heard.wav")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- run(ctx, []string{"--server", srv.URL, "--user", "bot", "--password-stdin", "--auto-answer",
			"--agents", "2", "--calls", "2", "--record", rec}, strings.NewReader("bots-password\n"), &out, &errOut)
	}()
	srv.WaitAvailable(t, 2)

	audio := make([]byte, len(voice))
	g711.EncodeULawTo(audio, voice)
	if err := sipptest.WritePCAP(filepath.Join(dir, "caller.pcap"), audio); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "caller.xml"), sipptest.CallerScenario(3500), 0o600); err != nil {
		t.Fatal(err)
	}
	// Two calls at once: both agents are needed.
	cmd := exec.CommandContext(ctx, sipp, "-sf", "caller.xml", "-s", "hushphone", "-m", "2", "-l", "2", "-r", "2", "-i", "127.0.0.1",
		"-p", sipptest.FreePort(t), "-mp", sipptest.FreePort(t), "-timeout", "40s", "-nostdin", srv.SIPAddr)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, b)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("did not exit after 2 calls: %s %s", out.String(), errOut.String())
	}
	if got := strings.Count(out.String(), "call ended"); got != 2 {
		t.Fatalf("%d calls ended: %s", got, out.String())
	}
	for _, f := range []string{"heard-1.wav", "heard-2.wav"} {
		a, err := wav.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if a.Frames() < 8000 {
			t.Errorf("%s: %d samples heard, want at least 1 s of a 3 s call", f, a.Frames())
		}
	}
}

// TestDeviceAgentTakesACall: --device --null-devices: an agent on real
// (null) sound devices answers a call; the caller gets the agent's
// microphone, the speaker gets the caller, and the agent exits 0 after
// the call with its devices' counts.
func TestDeviceAgentTakesACall(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- run(ctx, []string{"--server", srv.URL, "--user", "ann", "--password-stdin", "--auto-answer",
			"--device", "--null-devices", "--calls", "1"}, strings.NewReader("ann-password\n"), &out, &errOut)
	}()
	srv.WaitAvailable(t, 1)
	caller := sipptest.Dial(t, srv.SIPAddr, g711.ULaw, 15*time.Second)
	if _, n := caller.Listen(3 * time.Second); n < 50 {
		t.Errorf("the caller got %d packets from the agent's microphone in 3 s", n)
	}
	caller.Hangup(t)
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("did not exit after the call: %s %s", out.String(), errOut.String())
	}
	m := regexp.MustCompile(`devices: mic (\d+) frames, \d+ underruns, \d+ overruns; speaker (\d+) frames`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no device counts in %q", out.String())
	}
	if mic, _ := strconv.Atoi(m[1]); mic < 50 {
		t.Errorf("the microphone gave %d frames", mic)
	}
	if spk, _ := strconv.Atoi(m[2]); spk < 50 {
		t.Errorf("the speaker got %d frames", spk)
	}
}
