package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/internal/testing/testkit"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/protocol"
)

// recorder is the window: it keeps every event the app emits.
type recorder struct {
	mu     sync.Mutex
	states []State
	events map[string]int
	levels []Levels
	notes  []string // desktop notifications
}

func (r *recorder) emit(name string, data any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events == nil {
		r.events = map[string]int{}
	}
	r.events[name]++
	switch v := data.(type) {
	case State:
		r.states = append(r.states, v)
	case Levels:
		r.levels = append(r.levels, v)
	}
}

func (r *recorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[name]
}

// wait waits (up to d) until the app's state satisfies ok.
func wait(t *testing.T, a *App, d time.Duration, what string, ok func(State) bool) State {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := a.State()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; state %+v call %+v payment %+v", d, what, st, st.Call, st.Payment)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newApp(t *testing.T) (*App, *recorder) {
	t.Helper()
	rec := &recorder{}
	a, err := New(Options{ConfigDir: t.TempDir(), NullDevices: true, Notify: func(_, body string) {
		rec.mu.Lock()
		rec.notes = append(rec.notes, body)
		rec.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	a.SetEmitter(rec.emit)
	t.Cleanup(a.Close)
	return a, rec
}

func TestSignInErrors(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	a, _ := newApp(t)
	for _, c := range []struct {
		server, user, pw, want string
	}{
		{"ftp://x", "ann", "pw", "server address"},
		{"http://192.0.2.1:8080", "ann", "pw", "must start with https://"},
		{srv.URL, "", "pw", "name and password"},
		{srv.URL, "ann", "wrong-password", "wrong name or password"},
		{"http://127.0.0.1:1", "ann", "ann-password", "cannot be reached"},
	} {
		err := a.SignIn(c.server, c.user, c.pw)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want %q", c.server, c.user, err, c.want)
		}
		if st := a.State(); st.Connection != SignedOut {
			t.Errorf("after a refused sign-in: %+v", st)
		}
	}
	if err := a.SignIn(srv.URL, "ann", "ann-password"); err != nil {
		t.Fatal(err)
	}
	if err := a.SignIn(srv.URL, "ann", "ann-password"); !errors.Is(err, ErrNotNow) {
		t.Errorf("signing in twice: %v", err)
	}
	st := wait(t, a, 5*time.Second, "available", func(s State) bool { return s.Presence == "available" && s.IdleSince != nil })
	if st.Connection != Connected || st.User != "ann" || st.Devices.Mic == "" {
		t.Fatalf("signed in: %+v", st)
	}
	// The address and name are remembered; the password is not.
	b, err := os.ReadFile(filepath.Join(a.o.ConfigDir, "prefs.json"))
	if err != nil || !strings.Contains(string(b), srv.URL) || strings.Contains(string(b), "ann-password") {
		t.Fatalf("prefs.json %s %v", b, err)
	}
	if err := a.SetPresence("away"); err != nil {
		t.Fatal(err)
	}
	wait(t, a, 5*time.Second, "away", func(s State) bool { return s.Presence == "away" && s.IdleSince == nil })
	if err := a.SignOut(); err != nil {
		t.Fatal(err)
	}
	if st := a.State(); st.Connection != SignedOut {
		t.Fatalf("signed out: %+v", st)
	}
	if err := a.Answer(); !errors.Is(err, ErrNoCall) {
		t.Errorf("answer with no call: %v", err)
	}
	if err := a.SetPresence("busy"); !errors.Is(err, ErrInput) {
		t.Errorf("presence busy: %v", err)
	}
}

// TestCallWithPayment: a SIP caller rings; the app rings (event and
// notification), answers, mutes, holds, takes a payment the caller types
// (by SIP INFO), and hangs up; the history has the call and its outcome.
func TestCallWithPayment(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	a, rec := newApp(t)
	if err := a.SignIn(srv.URL, "ann", "ann-password"); err != nil {
		t.Fatal(err)
	}
	srv.WaitAvailable(t, 1)
	dialed := make(chan *sipptest.Caller, 1)
	go func() { dialed <- sipptest.Dial(t, srv.SIPAddr, g711.ULaw, 15*time.Second) }()
	st := wait(t, a, 10*time.Second, "ringing", func(s State) bool { return s.Call != nil && s.Call.State == CallRinging })
	if st.Call.From != "0123456789" || rec.count(EventRing) != 1 {
		t.Fatalf("ringing: %+v, %d ring events", st.Call, rec.count(EventRing))
	}
	time.Sleep(100 * time.Millisecond) // the notification goes out on its own goroutine
	rec.mu.Lock()
	notes := append([]string(nil), rec.notes...)
	rec.mu.Unlock()
	if len(notes) != 1 || notes[0] != "Incoming call from 0123456789" {
		t.Errorf("desktop notifications %q", notes)
	}
	if err := a.Answer(); err != nil {
		t.Fatal(err)
	}
	caller := <-dialed
	wait(t, a, 10*time.Second, "active", func(s State) bool { return s.Call != nil && s.Call.State == CallActive && s.Call.Started != nil })
	if err := a.SetMute(true); err != nil {
		t.Fatal(err)
	}
	if st := a.State(); !st.Call.Muted {
		t.Fatalf("mute: %+v", st.Call)
	}
	_ = a.SetMute(false)
	if err := a.SetHold(true); err != nil {
		t.Fatal(err)
	}
	if st := a.State(); !st.Call.Held {
		t.Fatalf("hold: %+v", st.Call)
	}
	if err := a.SetHold(false); err != nil {
		t.Fatal(err)
	}
	if err := a.PressKey("5"); err != nil {
		t.Fatalf("a keypad tone in a call: %v", err)
	}
	if err := a.StartPayment(1250, "gbp", true); err != nil {
		t.Fatal(err)
	}
	wait(t, a, 5*time.Second, "a payment", func(s State) bool { return s.Payment != nil && s.Payment.State == "capturing" })
	if err := a.PressKey("5"); !errors.Is(err, ErrNotNow) {
		t.Errorf("the keypad while the caller types a card: %v", err)
	}
	for _, k := range "4242424242424242#093173712345#" {
		if err := caller.Info(byte(k)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond)
	}
	st = wait(t, a, 10*time.Second, "ready", func(s State) bool { return s.Payment != nil && s.Payment.State == "ready" })
	if st.Payment.Last4 != "4242" || st.Payment.Brand != "visa" || rec.count(EventKey) < 30 || len(st.Payment.Fields) != 4 || st.Payment.Fields[3].Field != "postal-code" {
		t.Fatalf("ready: %+v, %d key events", st.Payment, rec.count(EventKey))
	}
	if err := a.SubmitPayment(); err != nil {
		t.Fatal(err)
	}
	st = wait(t, a, 10*time.Second, "approved", func(s State) bool { return s.Payment != nil && s.Payment.State == "approved" })
	if st.Payment.Result == nil || !strings.HasPrefix(st.Payment.Result.Reference, "sb_ch_") {
		t.Fatalf("approved: %+v", st.Payment)
	}
	if err := a.CancelPayment(); !errors.Is(err, ErrNoPayment) {
		t.Errorf("cancel after the outcome: %v", err)
	}
	rec.mu.Lock()
	nLevels := len(rec.levels)
	rec.mu.Unlock()
	if nLevels < 5 {
		t.Errorf("%d level readings in the call", nLevels)
	}
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	wait(t, a, 5*time.Second, "ended", func(s State) bool { return s.Call != nil && s.Call.State == CallEnded })
	h := a.History()
	if len(h) != 1 || h[0].Number != "0123456789" || h[0].Payment != "approved" || h[0].Amount != 1250 || h[0].Currency != "GBP" || h[0].Seconds < 1 {
		t.Fatalf("history %+v", h)
	}
	// Nothing the app emitted or saved holds the card.
	rec.mu.Lock()
	var all strings.Builder
	for _, s := range rec.states {
		all.WriteString(jsonString(s))
	}
	rec.mu.Unlock()
	saved, _ := os.ReadFile(filepath.Join(a.o.ConfigDir, "history.json"))
	all.Write(saved)
	for i := 0; i+7 <= 16; i++ {
		if strings.Contains(all.String(), "4242424242424242"[i:i+7]) {
			t.Fatal("the card number is in what the app emitted or saved")
		}
	}
	// As numbers of their own: timestamps' fractions and the sound levels
	// may hold the same digits.
	for _, short := range []string{"0931", "737"} {
		if testkit.FindShort([]byte(all.String()), short) != nil {
			t.Fatal("the expiry or security code is in what the app emitted or saved")
		}
	}
}

// proxy forwards loopback TCP to target until cut: a network to drop.
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	target string
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
			go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
		}
	}()
	return p
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// TestReconnects: the network drops; the app says so, connects again by
// itself and is available again.
func TestReconnects(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	u, _ := url.Parse(srv.URL)
	p := startProxy(t, u.Host)
	a, rec := newApp(t)
	if err := a.SignIn("http://"+p.ln.Addr().String(), "ann", "ann-password"); err != nil {
		t.Fatal(err)
	}
	wait(t, a, 5*time.Second, "available", func(s State) bool { return s.Presence == "available" })
	p.cut()
	wait(t, a, 5*time.Second, "reconnecting", func(s State) bool { return s.Connection == Reconnecting && s.Error != "" })
	st := wait(t, a, 15*time.Second, "connected again", func(s State) bool { return s.Connection == Connected && s.Presence == "available" })
	if st.Error != "" {
		t.Errorf("error after reconnecting: %q", st.Error)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	seen := map[string]bool{}
	for _, s := range rec.states {
		seen[s.Connection] = true
	}
	if !seen[Connecting] || !seen[Reconnecting] || !seen[Connected] {
		t.Errorf("connection states seen: %v", seen)
	}
}

func TestDevicesAndPrefs(t *testing.T) {
	a, _ := newApp(t)
	dl, err := a.Devices()
	if err != nil || len(dl.Mics) == 0 || len(dl.Speakers) == 0 {
		t.Fatalf("devices %+v %v", dl, err)
	}
	if err := a.SetDevices(dl.Mics[0].ID, dl.Speakers[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := a.SetDevices("ffff", ""); !errors.Is(err, ErrInput) {
		t.Errorf("an unknown microphone: %v", err)
	}
	if err := a.TestTone(); err != nil {
		t.Fatal(err)
	}
	if err := a.SetTheme("dark"); err != nil || a.State().Theme != "dark" {
		t.Fatalf("theme: %v %+v", err, a.State())
	}
	if err := a.SetTheme("pink"); !errors.Is(err, ErrInput) {
		t.Errorf("theme pink: %v", err)
	}
	// A new app in the same folder remembers.
	b, err := New(Options{ConfigDir: a.o.ConfigDir, NullDevices: true})
	if err != nil {
		t.Fatal(err)
	}
	if p := b.Prefs(); p.Theme != "dark" || p.Mic != dl.Mics[0].ID {
		t.Errorf("prefs after a restart %+v", p)
	}
	if err := b.Dial("12ab"); !errors.Is(err, ErrInput) {
		t.Errorf("dial letters: %v", err)
	}
	if err := b.Dial("+44 20 7946 0000"); !errors.Is(err, ErrSignedOut) {
		t.Errorf("dial signed out: %v", err)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestDialOut: the agent dials a number through the server's outbound
// trunk to sipp (its uas scenario, echoing our audio); the call shows as
// dialling, then active once answered, with the number; keypad tones go
// out; hanging up ends it and the history has it as outbound.
func TestDialOut(t *testing.T) {
	bin := sipptest.Sipp(t)
	far := sipptest.FreeAddr(t)
	_, port, _ := net.SplitHostPort(far)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-sn", "uas", "-i", "127.0.0.1", "-p", port, "-mp", sipptest.FreePort(t),
		"-rtp_echo", "-m", "1", "-timeout", "30s", "-nostdin")
	cmd.Dir = t.TempDir()
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		probe, err := net.ListenPacket("udp", far)
		if err != nil {
			break // sipp has it
		}
		_ = probe.Close()
		if time.Now().After(deadline) {
			t.Fatal("sipp does not listen")
		}
	}
	srv := stacktest.Start(t, stacktest.WithOutbound(far))
	srv.AddAgent(t, "ann", "ann-password")
	a, _ := newApp(t)
	if err := a.SignIn(srv.URL, "ann", "ann-password"); err != nil {
		t.Fatal(err)
	}
	wait(t, a, 5*time.Second, "available", func(s State) bool { return s.Presence == "available" })
	if err := a.Dial("+44 20 7946 0000"); err != nil {
		t.Fatal(err)
	}
	st := wait(t, a, 10*time.Second, "answered", func(s State) bool { return s.Call != nil && s.Call.State == CallActive })
	if !st.Call.Outbound || st.Call.From != "+442079460000" || st.Call.Progress != "answered" || st.Call.Started == nil {
		t.Fatalf("outbound call %+v", st.Call)
	}
	if err := a.Dial("123"); !errors.Is(err, ErrNotNow) {
		t.Errorf("dialling during a call: %v", err)
	}
	if err := a.PressKey("1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	wait(t, a, 5*time.Second, "ended", func(s State) bool { return s.Call != nil && s.Call.State == CallEnded })
	if h := a.History(); len(h) != 1 || !h[0].Outbound || h[0].Number != "+442079460000" {
		t.Fatalf("history %+v", h)
	}
}

// TestSupervisorsShown: the call card lists the supervisors heard on the
// call (supervisor events): whispering, then barging, each once, in the
// order they started; one who stops goes; events for another call, or
// for an ended call, change nothing; the call's end clears the list.
func TestSupervisorsShown(t *testing.T) {
	a, _ := newApp(t)
	ev := func(typ protocol.Type, call, user string, mode protocol.ListenMode) {
		a.onEvent(engine.Event{Type: typ, Call: call, User: user, Mode: mode})
	}
	names := func() string {
		c := a.State().Call
		if c == nil {
			return "no call"
		}
		var out []string
		for _, s := range c.Supervisors {
			out = append(out, s.User+":"+string(s.Mode))
		}
		return strings.Join(out, ",")
	}
	ev(protocol.TypeCallStarted, "c1", "", "")
	for _, step := range []struct {
		call, user string
		mode       protocol.ListenMode
		want       string
	}{
		{"c1", "sue", protocol.ModeWhisper, "sue:whisper"},
		{"c1", "sam", protocol.ModeBarge, "sue:whisper,sam:barge"},
		{"c1", "sue", protocol.ModeBarge, "sam:barge,sue:barge"},
		{"c2", "tom", protocol.ModeWhisper, "sam:barge,sue:barge"},
		{"c1", "", protocol.ModeWhisper, "sam:barge,sue:barge"},
		{"c1", "sam", "", "sue:barge"},
		{"c1", "nobody", "", "sue:barge"},
	} {
		ev(protocol.TypeSupervisor, step.call, step.user, step.mode)
		if got := names(); got != step.want {
			t.Fatalf("after %s %s on %s: %q, want %q", step.user, step.mode, step.call, got, step.want)
		}
	}
	ev(protocol.TypeCallEnded, "c1", "", "")
	if got := names(); got != "" {
		t.Errorf("the call ended with supervisors %q shown", got)
	}
	// The call went to the history, saved in the background: let it be
	// written before the test's folder goes.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(a.o.ConfigDir, "history.json")); err == nil {
			break
		}
	}
	time.Sleep(100 * time.Millisecond)
	ev(protocol.TypeSupervisor, "c1", "sue", protocol.ModeWhisper)
	if got := names(); got != "" {
		t.Errorf("an ended call shows supervisors %q", got)
	}
}
