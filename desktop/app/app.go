// Package app is the desktop softphone's Go side: what the Wails window's
// UI (frontend/) calls and listens to. It wraps the agent engine (sign-in,
// the WebSocket protocol, the WebRTC call) and the sound devices (malgo),
// keeps the state the UI renders (contract.go), reconnects by itself after
// a network drop, remembers the server address, the user name and the
// private CA file (never the password) and the call history, and sends
// desktop notifications.
//
// Every exported method of App is bound to the UI; they take no context
// (Wails calls them) and bound their own work in time.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/protocol"
)

// Errors the UI shows (their text is for the agent).
var (
	ErrInput      = errors.New("check what you typed")
	ErrNotNow     = errors.New("not now")
	ErrSignedOut  = errors.New("sign in first")
	ErrNoCall     = errors.New("you have no call")
	ErrNoPayment  = errors.New("no payment is under way")
	ErrNoResponse = errors.New("the server did not answer in time")
)

// Options configure an App.
type Options struct {
	// ConfigDir holds prefs.json and history.json (default: the user's
	// config folder's hushphone/).
	ConfigDir string
	// NullDevices uses malgo's null devices (a silent microphone, a
	// speaker that discards): tests and the smoke run.
	NullDevices bool
	Logger      *slog.Logger
	// Notify shows a desktop notification (nil: notify-send when it is
	// installed, else nothing).
	Notify func(title, body string)
	// OnState, if set, sees every state the UI is sent (tests, the smoke
	// run), on the App's goroutines: it must not block.
	OnState func(State)
	// OnUIReady, if set, is called when the UI has drawn its first view
	// (it calls UIReady).
	OnUIReady func()
}

// requestTimeout bounds each request to the server.
const requestTimeout = 10 * time.Second

// maxHistory is how many calls History keeps.
const maxHistory = 200

// App is the desktop app's Go side.
type App struct {
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	emit    func(event string, data any)
	st      State
	prefs   Prefs
	history []HistoryItem
	agent   *engine.Agent
	dev     *engine.Device
	stop    context.CancelFunc // ends the signed-in run
	done    chan struct{}      // closed when the run has ended
	first   chan error         // the first connection's outcome, until it is known
	snd     *sound
	levels  chan struct{} // closed to stop the level meter ticks
	lastPay string        // the call whose payment State.Payment is
}

// New loads the preferences and history; the window comes later
// (SetEmitter).
func New(o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ConfigDir == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("app: no config folder: %w", err)
		}
		o.ConfigDir = filepath.Join(dir, "hushphone")
	}
	if err := os.MkdirAll(o.ConfigDir, 0o700); err != nil {
		return nil, fmt.Errorf("app: config folder: %w", err)
	}
	if o.Notify == nil {
		o.Notify = notifySend
	}
	a := &App{o: o, log: o.Logger, emit: func(string, any) {}}
	a.prefs = Prefs{Server: "http://127.0.0.1:8080", Theme: "system"}
	a.load("prefs.json", &a.prefs)
	a.load("history.json", &a.history)
	a.snd = &sound{app: a}
	a.st = State{Connection: SignedOut, Server: a.prefs.Server, User: a.prefs.User, Theme: a.prefs.Theme}
	return a, nil
}

// SetEmitter gives the App the window's event sender (Wails's
// runtime.EventsEmit, bound to its context), once the window is up.
func (a *App) SetEmitter(emit func(event string, data any)) {
	a.mu.Lock()
	a.emit = emit
	a.mu.Unlock()
	a.changed()
}

func (a *App) load(name string, v any) {
	b, err := os.ReadFile(filepath.Join(a.o.ConfigDir, name))
	if err != nil {
		return
	}
	if err := json.Unmarshal(b, v); err != nil {
		a.log.Warn("app: a saved file is unreadable; starting afresh", "file", name, "err", err)
	}
}

func (a *App) save(name string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return
	}
	tmp := filepath.Join(a.o.ConfigDir, name+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		a.log.Warn("app: not saved", "file", name, "err", err)
		return
	}
	if err := os.Rename(tmp, filepath.Join(a.o.ConfigDir, name)); err != nil {
		a.log.Warn("app: not saved", "file", name, "err", err)
	}
}

// changed sends the UI the state; call it without a.mu held.
func (a *App) changed() {
	a.mu.Lock()
	st := a.snapshot()
	emit := a.emit
	a.mu.Unlock()
	emit(EventState, st)
	if a.o.OnState != nil {
		a.o.OnState(st)
	}
}

// snapshot copies the state (a.mu held).
func (a *App) snapshot() State {
	st := a.st
	if st.Call != nil {
		c := *st.Call
		st.Call = &c
	}
	if st.Payment != nil {
		p := *st.Payment
		p.Fields = append([]protocol.PayField(nil), p.Fields...)
		st.Payment = &p
	}
	return st
}

func (a *App) setError(err error) {
	a.mu.Lock()
	a.st.Error = ""
	if err != nil {
		a.st.Error = err.Error()
	}
	a.mu.Unlock()
	a.changed()
}

// UIReady is the UI saying it has drawn its first view (the start-up
// time is measured to here).
func (a *App) UIReady() {
	if a.o.OnUIReady != nil {
		a.o.OnUIReady()
	}
}

// State is the state now (the UI asks once at start; then events).
func (a *App) State() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.snapshot()
}

// Prefs are the remembered settings.
func (a *App) Prefs() Prefs {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.prefs
}

// SetTheme sets light, dark or system.
func (a *App) SetTheme(theme string) error {
	switch theme {
	case "light", "dark", "system":
	default:
		return fmt.Errorf("%w: the theme is light, dark or system", ErrInput)
	}
	a.mu.Lock()
	a.prefs.Theme, a.st.Theme = theme, theme
	p := a.prefs
	a.mu.Unlock()
	a.save("prefs.json", p)
	a.changed()
	return nil
}

// History is the recent calls, newest first.
func (a *App) History() []HistoryItem {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]HistoryItem(nil), a.history...)
}

// SignInWithCode signs in to server as user and connects; it returns once
// the server has said hello, or with why not (wrong password, unreachable,
// a one-time code needed: State.NeedCode). code is the one-time code of an
// account with a second factor ("": none). The address and name are
// remembered; the password only in memory, to reconnect (with the session
// while the server takes it, so the code is not asked for again).
func (a *App) SignInWithCode(server, user, password, code string) error {
	server = strings.TrimRight(strings.TrimSpace(server), "/")
	user = strings.TrimSpace(user)
	host, err := checkServer(server)
	switch {
	case err != nil:
		return err
	case user == "" || password == "":
		return fmt.Errorf("%w: give your name and password", ErrInput)
	}
	a.mu.Lock()
	caPath := a.prefs.CA
	a.mu.Unlock()
	ca, err := readCA(caPath)
	if err != nil {
		return err
	}
	a.mu.Lock()
	if a.stop != nil {
		a.mu.Unlock()
		return fmt.Errorf("%w: you are signed in already: sign out first", ErrNotNow)
	}
	a.st = State{Connection: Connecting, Server: server, User: user, Theme: a.prefs.Theme, Devices: a.st.Devices}
	a.mu.Unlock()
	a.changed()

	if err := a.openDevice(); err != nil {
		a.log.Warn("app: no sound device", "err", err)
		a.setError(fmt.Errorf("no sound device: %w", err))
	}
	var otp func(context.Context) (string, error)
	if code = strings.TrimSpace(code); code != "" {
		otp = func(context.Context) (string, error) { return code, nil }
	}
	agent, err := engine.New(engine.Config{Server: server, User: user, Password: password, OTP: otp, Audio: a.snd,
		Loopback: engine.IsLoopback(host), Logger: a.log, OnEvent: a.onEvent, CA: ca})
	if err != nil {
		a.signedOut(err)
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	first := make(chan error, 1)
	done := make(chan struct{})
	a.mu.Lock()
	a.agent, a.stop, a.done, a.first = agent, stop, done, first
	a.mu.Unlock()
	go a.run(ctx, agent, done)

	select {
	case err = <-first:
	case <-time.After(requestTimeout + 5*time.Second):
		err = ErrNoResponse
	}
	if err != nil {
		stop()
		<-done
		err = friendly(err)
		a.signedOut(err)
		return err
	}
	a.mu.Lock()
	a.prefs.Server, a.prefs.User = server, user
	p := a.prefs
	a.mu.Unlock()
	a.save("prefs.json", p)
	return nil
}

// run keeps the agent connected until stopped: a dropped connection is
// tried again, with growing pauses (1 s up to 10 s); a refused sign-in
// ends it.
func (a *App) run(ctx context.Context, agent *engine.Agent, done chan struct{}) {
	defer close(done)
	pause := time.Second
	for {
		err := agent.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("the server closed the connection") //nolint:err113 // said once, here
		}
		a.mu.Lock()
		first := a.first
		a.first = nil
		a.mu.Unlock()
		if first != nil { // never connected: SignIn reports it
			first <- err
			return
		}
		if errors.Is(err, engine.ErrSignIn) {
			a.log.Warn("app: sign-in refused on reconnecting", "err", err)
			a.mu.Lock()
			a.stop = nil
			a.mu.Unlock()
			a.signedOut(fmt.Errorf("signed out: %w", friendly(err)))
			return
		}
		a.log.Info("app: connection lost; reconnecting", "err", err, "in", pause)
		a.mu.Lock()
		a.st.Connection = Reconnecting
		a.st.Error = "Connection lost: reconnecting…"
		a.st.IdleSince = nil
		a.mu.Unlock()
		a.changed()
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 10*time.Second)
		a.mu.Lock()
		a.first = nil
		a.mu.Unlock()
	}
}

func (a *App) signedOut(err error) {
	a.stopLevels()
	a.mu.Lock()
	a.agent, a.stop, a.done, a.first = nil, nil, nil, nil
	a.st.Connection, a.st.Presence, a.st.IdleSince = SignedOut, "", nil
	if a.st.Call != nil && a.st.Call.State != CallEnded {
		a.st.Call = nil
	}
	a.st.Error = ""
	if err != nil {
		a.st.Error = err.Error()
	}
	a.st.NeedCode = needsCode(err)
	a.mu.Unlock()
	a.changed()
}

// SignOut ends any call and disconnects.
func (a *App) SignOut() error {
	a.mu.Lock()
	stop, done := a.stop, a.done
	a.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	<-done
	a.signedOut(nil)
	return nil
}

// Close signs out and frees the sound devices (the window closes).
func (a *App) Close() {
	_ = a.SignOut()
	a.mu.Lock()
	dev := a.dev
	a.dev = nil
	a.mu.Unlock()
	if dev != nil {
		_ = dev.Close()
	}
}

// onEvent follows the engine's events (one at a time, from its
// goroutine).
func (a *App) onEvent(e engine.Event) {
	now := time.Now().UTC()
	var ring *Call
	var notify string
	key := false
	a.mu.Lock()
	switch e.Type {
	case protocol.TypeHello:
		a.st.Connection, a.st.Error = Connected, ""
		if first := a.first; first != nil {
			a.first = nil
			first <- nil
		}
	case protocol.TypePresence:
		a.st.Presence = protocol.AgentState(e.Status)
		if a.st.Presence == protocol.AgentAvailable && (a.st.Call == nil || a.st.Call.State == CallEnded) {
			a.st.IdleSince = &now
		} else {
			a.st.IdleSince = nil
		}
	case protocol.TypeCallOffered:
		a.st.Call = &Call{ID: e.Call, From: e.From, State: CallRinging}
		a.st.Payment = nil
		c := *a.st.Call
		ring, notify = &c, "Incoming call from "+orUnknown(e.From)
	case protocol.TypeCallWithdrawn:
		if c := a.st.Call; c != nil && c.ID == e.Call && c.State == CallRinging {
			a.endCall(c, now, e.Reason)
		}
	case protocol.TypeCallStarted:
		c := a.st.Call
		if c == nil || c.ID != e.Call {
			c = &Call{ID: e.Call, From: e.From}
			a.st.Call = c
			a.st.Payment = nil
		}
		c.Outbound, c.Held, c.Muted = e.Outbound, false, a.dev != nil && a.dev.Muted()
		if e.Outbound {
			c.State = CallDialing
		} else {
			c.State = CallActive
			if c.Started == nil {
				c.Started = &now
			}
		}
		a.st.IdleSince = nil
		a.startLevels()
	case protocol.TypeCallProgress:
		if c := a.st.Call; c != nil && c.ID == e.Call {
			c.Progress = protocol.ProgressStatus(e.Status)
			if c.Progress == protocol.ProgressAnswered {
				c.State, c.Started = CallActive, &now
			}
		}
	case protocol.TypeCallEnded:
		if c := a.st.Call; c != nil && c.ID == e.Call {
			a.endCall(c, now, e.Reason)
		}
		a.stopLevelsLocked()
	case protocol.TypeKeyPressed:
		key = true
	case protocol.TypePayProgress:
		if p := e.Payment; p != nil && (a.st.Payment == nil || a.st.Payment.ID != p.ID || p.Seq > a.st.Payment.Seq) {
			a.st.Payment = p
			a.lastPay = p.Call
			if p.Final() || p.State == protocol.PayFailed {
				a.recordPayment(p)
			}
		}
	case protocol.TypeSupervisor:
		a.supervisor(e)
	case protocol.TypeHold:
		// The server's reply to our hold: already shown.
	case protocol.TypeError:
		a.st.Error = strings.TrimSpace(e.Message)
	default:
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	a.changed()
	if key {
		a.emitRaw(EventKey, nil)
	}
	if ring != nil {
		a.emitRaw(EventRing, ring)
		go a.o.Notify("Hushphone", notify)
	}
}

func (a *App) emitRaw(event string, data any) {
	a.mu.Lock()
	emit := a.emit
	a.mu.Unlock()
	emit(event, data)
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown number"
	}
	return s
}

// endCall marks c ended and adds it to the history (a.mu held).
func (a *App) endCall(c *Call, now time.Time, reason string) {
	if c.State == CallEnded {
		return
	}
	c.State, c.Ended, c.Reason, c.Held = CallEnded, &now, reason, false
	c.Supervisors = nil
	a.snd.held.Store(false)
	h := HistoryItem{Call: c.ID, Number: c.From, Outbound: c.Outbound, Started: now, Reason: reason}
	if c.Started != nil {
		h.Started = *c.Started
		h.Seconds = int(math.Round(now.Sub(*c.Started).Seconds()))
	}
	if p := a.st.Payment; p != nil && p.Call == c.ID {
		h.Payment, h.Amount, h.Currency = p.State, p.Amount, p.Currency
		if p.Result != nil {
			h.Reference = p.Result.Reference
		}
	}
	a.history = append([]HistoryItem{h}, a.history...)
	if len(a.history) > maxHistory {
		a.history = a.history[:maxHistory]
	}
	a.saveHistory()
}

// saveHistory writes a copy of the history in the background (a.mu held).
func (a *App) saveHistory() {
	hist := append([]HistoryItem(nil), a.history...)
	go a.save("history.json", hist)
}

// request runs f against the signed-in agent, bounded in time.
func (a *App) request(f func(ctx context.Context, ag *engine.Agent) error) error {
	a.mu.Lock()
	ag := a.agent
	conn := a.st.Connection
	a.mu.Unlock()
	if ag == nil {
		return ErrSignedOut
	}
	if conn != Connected {
		return fmt.Errorf("%w: the connection is down; it comes back by itself", ErrNotNow)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if err := f(ctx, ag); err != nil {
		return fmt.Errorf("%w: %w", ErrNotNow, err)
	}
	a.mu.Lock()
	hadError := a.st.Error != ""
	a.st.Error = ""
	a.mu.Unlock()
	if hadError {
		a.changed()
	}
	return nil
}

// call returns the call in the given states, or ErrNoCall.
func (a *App) call(states ...string) (Call, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.st.Call; c != nil {
		for _, s := range states {
			if c.State == s {
				return *c, nil
			}
		}
	}
	return Call{}, ErrNoCall
}

// SetPresence sets available or away.
func (a *App) SetPresence(status string) error {
	p := protocol.AgentState(status)
	if p != protocol.AgentAvailable && p != protocol.AgentAway {
		return fmt.Errorf("%w: available or away", ErrInput)
	}
	return a.request(func(ctx context.Context, ag *engine.Agent) error { return ag.SetPresence(ctx, p) })
}

// Answer takes the call that rings.
func (a *App) Answer() error {
	c, err := a.call(CallRinging)
	if err != nil {
		return err
	}
	return a.request(func(ctx context.Context, ag *engine.Agent) error { return ag.Answer(ctx, c.ID) })
}

// Decline lets the ringing call go to another agent.
func (a *App) Decline() error {
	c, err := a.call(CallRinging)
	if err != nil {
		return err
	}
	return a.request(func(ctx context.Context, ag *engine.Agent) error { return ag.Decline(ctx, c.ID) })
}

// Hangup ends the call (or stops dialling).
func (a *App) Hangup() error {
	c, err := a.call(CallActive, CallDialing)
	if err != nil {
		return err
	}
	return a.request(func(ctx context.Context, ag *engine.Agent) error { return ag.Hangup(ctx, c.ID) })
}

// Dial places a call to number through the server's trunk.
func (a *App) Dial(number string) error {
	number = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, number)
	if len(strings.TrimPrefix(number, "+")) == 0 || len(number) > 33 || strings.Trim(strings.TrimPrefix(number, "+"), "0123456789*#") != "" {
		return fmt.Errorf("%w: a number is digits, * and #, with an optional leading +", ErrInput)
	}
	if _, err := a.call(CallRinging, CallActive, CallDialing); err == nil {
		return fmt.Errorf("%w: end the call first", ErrNotNow)
	}
	// The call shows once the server has it (call.started, outbound).
	return a.request(func(ctx context.Context, ag *engine.Agent) error { return ag.Dial(ctx, number) })
}

// SetMute mutes or unmutes the microphone.
func (a *App) SetMute(on bool) error {
	a.mu.Lock()
	dev := a.dev
	if a.st.Call != nil {
		a.st.Call.Muted = on
	}
	a.mu.Unlock()
	if dev != nil {
		dev.SetMute(on)
	}
	a.snd.muted.Store(on)
	a.changed()
	return nil
}

// SetHold puts the call on hold (the caller hears the hold tone; the
// agent hears nothing and is not heard) or takes it off.
func (a *App) SetHold(on bool) error {
	c, err := a.call(CallActive)
	if err != nil {
		return err
	}
	if err := a.request(func(ctx context.Context, ag *engine.Agent) error { return ag.Hold(ctx, c.ID, on) }); err != nil {
		return err
	}
	a.snd.held.Store(on)
	a.mu.Lock()
	if a.st.Call != nil && a.st.Call.ID == c.ID {
		a.st.Call.Held = on
	}
	a.mu.Unlock()
	a.changed()
	return nil
}

// PressKey sends a keypad tone to the far end (an automated menu on a
// call the agent placed, say). Refused while a payment is under way: the
// caller's keys are the card's then.
func (a *App) PressKey(key string) error {
	if len(key) != 1 || !strings.Contains("0123456789*#", key) {
		return fmt.Errorf("%w: a key is 0-9, * or #", ErrInput)
	}
	if _, err := a.call(CallActive); err != nil {
		return err
	}
	a.mu.Lock()
	p := a.st.Payment
	a.mu.Unlock()
	if p != nil && !p.Final() {
		return fmt.Errorf("%w: the keypad is off while the caller types a payment", ErrNotNow)
	}
	a.snd.press(key[0])
	return nil
}

// notifySend shows a desktop notification with notify-send, if it is
// installed.
func notifySend(title, body string) {
	path, err := exec.LookPath("notify-send")
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = exec.CommandContext(ctx, path, "--app-name=Hushphone", "--urgency=critical", title, body).Run() //nolint:gosec // a fixed program, our own words
}
