package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/maskscore"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/wav"
	"github.com/hushphone/hushphone/server/store"
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
		{[]string{"--user", "sue", "--password-stdin", "--listen", "--auto-answer"}, 2, "--listen is one supervisor listening"},
		{[]string{"--user", "sue", "--password-stdin", "--listen", "--agents", "3"}, 2, "--listen is one supervisor listening"},
		{[]string{"--user", "sue", "--password-stdin", "--listen", "--play", "in.wav"}, 2, "--listen is one supervisor listening"},
		{[]string{"--user", "sue", "--password-stdin", "--listen", "--mode", "shout"}, 2, "--mode is listen, whisper or barge"},
		{[]string{"--user", "ann", "--password-stdin", "--mode", "whisper"}, 2, "--mode goes with --listen"},
		{[]string{"--user", "sue", "--password-stdin", "--listen", "--mode", "whisper", "--play", "/no/such.wav"}, 1, "no/such.wav"},
		{[]string{"--user", "ann", "--password-stdin", "--pay", "12.50:GBP"}, 2, "--pay is AMOUNT:CURRENCY"},
		{[]string{"--user", "sue", "--password-stdin", "--pay", "1:GBP", "--listen"}, 2, "--pay takes payments as an agent"},
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
	sipptest.Sipp(t) // skip early without sipp
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

	// Two calls at once: both agents are needed.
	if err := sipptest.Calls(ctx, t, srv.SIPAddr, voice, 2); err != nil {
		t.Fatal(err)
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

// TestSupervisorListensToCalls: --listen --record --calls 2: a supervisor
// listens in to two calls, one after the other, each as soon as an agent
// (this command too, playing a 1000 Hz voice) has it, and exits 0 after
// both; what it recorded holds the agent's voice.
func TestSupervisorListensToCalls(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	srv.AddUser(t, "sue", store.RoleSupervisor, "sue-password")
	dir := t.TempDir()
	voice := make([]int16, 10*8000)
	for i := range voice {
		voice[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	if err := maskscore.WriteWAV(filepath.Join(dir, "voice.wav"), voice); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(dir, "sue.wav")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	agentDone, supDone := make(chan int, 1), make(chan int, 1)
	var agentOut, agentErr, supOut, supErr bytes.Buffer
	go func() {
		agentDone <- run(ctx, []string{"--server", srv.URL, "--user", "ann", "--password-stdin", "--auto-answer",
			"--play", filepath.Join(dir, "voice.wav"), "--calls", "2"}, strings.NewReader("ann-password\n"), &agentOut, &agentErr)
	}()
	// A supervisor has a second factor: its code goes on the second line.
	otp, err := srv.Code(ctx, "sue")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		supDone <- run(ctx, []string{"--server", srv.URL, "--user", "sue", "--password-stdin", "--otp-stdin", "--listen",
			"--record", rec, "--calls", "2"}, strings.NewReader("sue-password\n"+otp+"\n"), &supOut, &supErr)
	}()
	srv.WaitAvailable(t, 1)
	for i := range 2 {
		if i > 0 {
			srv.WaitAvailable(t, 1) // the agent, back from the first call
		}
		caller := sipptest.Dial(t, srv.SIPAddr, g711.ULaw, 15*time.Second)
		if _, n := caller.Listen(3 * time.Second); n < 50 {
			t.Errorf("the caller got %d packets from the agent in 3 s", n)
		}
		caller.Hangup(t)
		caller.Close()
	}
	for who, done := range map[string]chan int{"agent": agentDone, "supervisor": supDone} {
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("%s: exit %d: %s %s %s %s", who, code, agentOut.String(), agentErr.String(), supOut.String(), supErr.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("%s did not exit after 2 calls", who)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^listening to `).FindAllString(supOut.String(), -1)); n != 2 {
		t.Errorf("the supervisor listened to %d calls: %s", n, supOut.String())
	}
	a, err := wav.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	var loud int
	for i := 0; i+160 <= len(a.Samples); i += 160 {
		var c, q float64
		for j, v := range a.Samples[i : i+160] {
			w := 2 * math.Pi * 1000 * float64(j) / 8000
			c += float64(v) * math.Cos(w)
			q += float64(v) * math.Sin(w)
		}
		if 2*math.Hypot(c, q)/160 > 4000 {
			loud++
		}
	}
	if loud < 200 { // 4 s of two 3 s calls
		t.Errorf("the supervisor heard the agent's voice in %d blocks of 20 ms, want most of both calls", loud)
	}
	t.Logf("supervisor: %d of %d blocks with the agent's voice; %s", loud, a.Frames()/160, strings.TrimSpace(supOut.String()))
}

// TestPay: --pay 1250:GBP --auto-answer --calls 1: sipp types a card in
// band; the agent takes the payment, prints the outcome as one JSON line,
// hangs up, and exits 0 once the call has ended. Then --pay 0:GBP saves a
// card as a token. Nothing printed holds more of the card than its last four.
func TestPay(t *testing.T) {
	sipptest.Sipp(t)
	for _, c := range []struct {
		pay, pan, want string
	}{
		{"1250:GBP", "4242424242424242", `"result":"approved","reference":"sb_ch_`},
		{"0:gbp", "5555555555554444", `"result":"approved","reference":"sb_tok_`},
		{"990:EUR", "4000000000009995", `"result":"declined"`},
	} {
		t.Run(c.pay, func(t *testing.T) {
			t.Parallel() // a server, caller and agent of its own
			srv := stacktest.Start(t)
			srv.AddAgent(t, "bot", "bots-password")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			done := make(chan int, 1)
			var out, errOut bytes.Buffer
			go func() {
				done <- run(ctx, []string{"--server", srv.URL, "--user", "bot", "--password-stdin", "--auto-answer",
					"--calls", "1", "--pay", c.pay}, strings.NewReader("bots-password\n"), &out, &errOut)
			}()
			srv.WaitAvailable(t, 1)
			keys := sipptest.Type(c.pan+"#0931737", 3*time.Second, 100*time.Millisecond, 100*time.Millisecond)
			total := sipptest.End(keys) + time.Second
			pcap := filepath.Join(t.TempDir(), "caller.pcap")
			if err := sipptest.WritePCAPFromPCM(pcap, sipptest.InBand(keys, total)); err != nil {
				t.Fatal(err)
			}
			if err := sipptest.CallPCAP(ctx, t, srv.SIPAddr, pcap, total+20*time.Second); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("did not exit after the call: %s %s", out.String(), errOut.String())
			}
			var line string
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.HasPrefix(l, "{") {
					if line != "" {
						t.Fatalf("two outcome lines: %s", out.String())
					}
					line = l
				}
			}
			last4 := c.pan[len(c.pan)-4:]
			brand := map[byte]string{'4': "visa", '5': "mastercard"}[c.pan[0]]
			if !strings.Contains(line, c.want) || !strings.Contains(line, `"brand":"`+brand+`","last4":"`+last4+`"`) {
				t.Fatalf("outcome %q; want %s, %s and %s", line, c.want, brand, last4)
			}
			for i := 0; i+7 <= len(c.pan); i++ {
				if strings.Contains(out.String()+errOut.String(), c.pan[i:i+7]) {
					t.Fatalf("the output holds %s of the card number", c.pan[i:i+7])
				}
			}
			t.Logf("%s", line)
		})
	}
}

// TestOTPStdin: an agent with a second factor signs in with --otp-stdin
// (the code on standard input's second line), against a real server;
// without it the error says to use it; a wrong code is refused.
func TestOTPStdin(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	srv.EnrolMFA(t, "ann")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name    string
		args    []string
		stdin   string
		code    int
		errText string
	}{
		{"no --otp-stdin", nil, "ann-password\n", 1, "--otp-stdin"},
		{"wrong code", []string{"--otp-stdin"}, "ann-password\n000000\n", 1, "wrong code"},
		{"no second line", []string{"--otp-stdin"}, "ann-password\n", 2, "second line is empty"},
		{"with --agents", []string{"--otp-stdin", "--agents", "2"}, "ann-password\n123456\n", 2, "not with --agents"},
	} {
		var out, errOut bytes.Buffer
		args := append([]string{"--server", srv.URL, "--user", "ann", "--password-stdin"}, tc.args...)
		if code := run(ctx, args, strings.NewReader(tc.stdin), &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.errText) {
			t.Errorf("%s: exit %d, stderr %q; want %d with %q", tc.name, code, errOut.String(), tc.code, tc.errText)
		}
		if strings.Contains(out.String()+errOut.String(), "ann-password") {
			t.Errorf("%s: the password was shown", tc.name)
		}
	}
	// The right code: ann signs in and becomes available.
	otp, err := srv.Code(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan int, 1)
	var errOut bytes.Buffer
	go func() {
		done <- run(runCtx, []string{"--server", srv.URL, "--user", "ann", "--password-stdin", "--otp-stdin"},
			strings.NewReader("ann-password\n"+otp+"\n"), io.Discard, &errOut)
	}()
	srv.WaitAvailable(t, 1)
	stop()
	if code := <-done; code != 0 {
		t.Errorf("with the right code: exit %d: %s", code, errOut.String())
	}
}
