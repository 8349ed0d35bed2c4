// Command hushphone-agent is a headless Hushphone agent for bots, tests and
// load: it signs in, takes calls, plays a WAV file as its voice and
// records what it hears, or talks through the sound devices (--device).
// With --listen it is a supervisor listening in to calls instead, silently
// or (--mode) whispering to the agent or barging in with --play's voice.
//
//	printf '%s\n' "$PASSWORD" | hushphone-agent --server http://127.0.0.1:8080 --user NAME --password-stdin \
//	    [--otp-stdin] (the one-time code on the second line)
//	    [--auto-answer] [--record OUT.wav] [--play IN.wav] [--calls N] [--agents N]
//	    [--device [--mic ID] [--speaker ID]] [--listen [--mode listen|whisper|barge]]
//	    [--pay AMOUNT:CURRENCY] [--ca CA.pem]
//	hushphone-agent --list-devices
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/media/wav"
	"github.com/hushphone/hushphone/protocol"
)

const usage = `usage: hushphone-agent --server URL --user NAME --password-stdin [options]

Signs in to a Hushphone server as an agent (or as N agents NAME1..NAMEn,
with --agents N), becomes available and takes calls until stopped (Ctrl-C)
or until --calls N calls have ended.

  --server URL        the server (default http://127.0.0.1:8080): https://, or http:// only to this
                      machine (localhost, 127.0.0.0/8, ::1); clear text to another host is refused
  --ca FILE           trust the server's certificate if this CA (PEM) signed it, besides the
                      system's roots (a private CA)
  --user NAME         the agent's name (with --agents N: NAME1..NAMEn)
  --password-stdin    read the password from the first line of standard input
  --otp-stdin         and the one-time code (from the account's authenticator app, or a
                      recovery code) from the second line, for accounts with a second factor:
                      supervisors and admins, and agents where the server requires it
  --auto-answer       answer every call offered
  --play IN.wav       the agent's voice: an 8 kHz mono WAV, from the start on every call
  --record OUT.wav    write what the agent hears, decoded to 8 kHz mono 16-bit, calls one after
                      the other on one time line (with --agents N: OUT-1.wav ... OUT-n.wav)
  --calls N           exit 0 once N calls have ended (all agents together)
  --codec pcmu|opus   the codec offered to the server (default pcmu); opus offers Opus first,
                      transcoded to and from the 8 kHz audio here
  --agents N          run N agents in this process, for load tests
  --device            talk through the sound devices (the system's default microphone and
                      speaker) instead of --play and --record; one agent only
  --mic ID            with --device: this microphone (an ID from --list-devices)
  --speaker ID        with --device: this speaker (an ID from --list-devices)
  --listen            sign in as a supervisor and listen in to calls, one at a time, each as soon
                      as an agent has it (--record, --device and --calls apply to what is heard)
  --mode MODE         with --listen: listen (the default: silent), whisper (the agent hears
                      --play's voice, or the microphone with --device; the caller does not) or
                      barge (the agent and the caller hear it); the agent is told
  --pay AMOUNT:CURRENCY
                      take a card payment on every call answered: start a secure-pay session for
                      the card number, expiry date and security code (AMOUNT in minor units, e.g.
                      1250:GBP; 0:GBP saves the card as a token instead), submit it once the
                      caller has typed every field, print the outcome as one JSON line
                      {"result","reference","brand","last4",...}, and hang up
  --list-devices      print the microphones and speakers (* the default) and exit
  --null-devices      with --device or --list-devices: miniaudio's null devices (a silent
                      microphone, a speaker that discards), for tests without a sound card

Exit status: 0 done, 1 a failure, 2 a usage error.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hushphone-agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	server := fs.String("server", "http://127.0.0.1:8080", "")
	user := fs.String("user", "", "")
	pwStdin := fs.Bool("password-stdin", false, "")
	otpStdin := fs.Bool("otp-stdin", false, "")
	auto := fs.Bool("auto-answer", false, "")
	play := fs.String("play", "", "")
	record := fs.String("record", "", "")
	calls := fs.Int("calls", 0, "")
	agents := fs.Int("agents", 1, "")
	device := fs.Bool("device", false, "")
	mic := fs.String("mic", "", "")
	speaker := fs.String("speaker", "", "")
	list := fs.Bool("list-devices", false, "")
	null := fs.Bool("null-devices", false, "")
	listen := fs.Bool("listen", false, "")
	mode := fs.String("mode", "", "")
	codec := fs.String("codec", engine.CodecPCMU, "")
	payArg := fs.String("pay", "", "")
	caFile := fs.String("ca", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "hushphone-agent: %v\n\n%s", err, usage)
		return 2
	}
	var devOpts []engine.DeviceOption
	if *null {
		devOpts = append(devOpts, engine.WithNullDevices())
	}
	if *list {
		return listDevices(devOpts, stdout, stderr)
	}
	switch {
	case *codec != engine.CodecPCMU && *codec != engine.CodecOpus:
		fmt.Fprintf(stderr, "hushphone-agent: --codec is pcmu or opus, not %q\n\n%s", *codec, usage)
		return 2
	case (*mic != "" || *speaker != "" || *null) && !*device:
		fmt.Fprintf(stderr, "hushphone-agent: --mic, --speaker and --null-devices go with --device\n\n%s", usage)
		return 2
	case *device && (*play != "" || *record != "" || *agents != 1):
		fmt.Fprintf(stderr, "hushphone-agent: --device is one agent's sound devices: not with --play, --record or --agents\n\n%s", usage)
		return 2
	case *mode != "" && !*listen:
		fmt.Fprintf(stderr, "hushphone-agent: --mode goes with --listen\n\n%s", usage)
		return 2
	case *mode != "" && *mode != string(protocol.ModeListen) && !protocol.ListenMode(*mode).Heard():
		fmt.Fprintf(stderr, "hushphone-agent: --mode is listen, whisper or barge, not %q\n\n%s", *mode, usage)
		return 2
	case *listen && (*auto || *agents != 1 || *play != "" && !protocol.ListenMode(*mode).Heard()):
		fmt.Fprintf(stderr, "hushphone-agent: --listen is one supervisor listening: not with --auto-answer or --agents, nor --play but to whisper or barge\n\n%s", usage)
		return 2
	case *user == "":
		fmt.Fprintf(stderr, "hushphone-agent: --user is needed\n\n%s", usage)
		return 2
	case *payArg != "" && *listen:
		fmt.Fprintf(stderr, "hushphone-agent: --pay takes payments as an agent: not with --listen\n\n%s", usage)
		return 2
	case !*pwStdin:
		fmt.Fprintf(stderr, "hushphone-agent: give the password on standard input with --password-stdin (never as an argument)\n\n%s", usage)
		return 2
	case *otpStdin && *agents != 1:
		fmt.Fprintf(stderr, "hushphone-agent: --otp-stdin is one account's code: not with --agents\n\n%s", usage)
		return 2
	case *agents < 1 || *calls < 0:
		fmt.Fprintf(stderr, "hushphone-agent: --agents must be 1 or more and --calls 0 or more\n\n%s", usage)
		return 2
	}
	// Clear text to another host is refused before anything is read or
	// sent: the password would cross the network readable by anyone on
	// the way.
	if _, err := engine.CheckServer(*server); err != nil {
		fmt.Fprintf(stderr, "hushphone-agent: --server: %v\n", err)
		return 2
	}
	var ca []byte
	if *caFile != "" {
		var err error
		if ca, err = os.ReadFile(*caFile); err == nil {
			_, err = engine.CertPool(ca)
		}
		if err != nil {
			fmt.Fprintf(stderr, "hushphone-agent: --ca: %v\n", err)
			return 2
		}
	}
	var payReq *protocol.PayRequest
	if *payArg != "" {
		r, err := parsePay(*payArg)
		if err != nil {
			fmt.Fprintf(stderr, "hushphone-agent: %v\n\n%s", err, usage)
			return 2
		}
		payReq = &r
	}
	in := bufio.NewReader(stdin)
	line, err := in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintf(stderr, "hushphone-agent: reading the password: %v\n", err)
		return 1
	}
	password := strings.TrimRight(line, "\r\n")
	var otp func(context.Context) (string, error)
	if *otpStdin {
		line, err := in.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintf(stderr, "hushphone-agent: reading the one-time code: %v\n", err)
			return 1
		}
		code := strings.TrimSpace(line)
		if code == "" {
			fmt.Fprintf(stderr, "hushphone-agent: --otp-stdin: standard input's second line is empty; give the password on the first line and the code from the authenticator app on the second\n")
			return 2
		}
		otp = func(context.Context) (string, error) { return code, nil }
	}
	var voice []int16
	if *play != "" {
		if voice, err = engine.ReadMono8k(*play); err != nil {
			fmt.Fprintf(stderr, "hushphone-agent: %v\n", err)
			return 1
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var dev *engine.Device
	if *device {
		if *mic != "" {
			devOpts = append(devOpts, engine.WithMicrophone(*mic))
		}
		if *speaker != "" {
			devOpts = append(devOpts, engine.WithSpeaker(*speaker))
		}
		if dev, err = engine.OpenDevice(append(devOpts, engine.WithDeviceLogger(log))...); err != nil {
			fmt.Fprintf(stderr, "hushphone-agent: %v\n", err)
			return 1
		}
		defer func() {
			st := dev.Stats()
			fmt.Fprintf(stdout, "devices: mic %d frames, %d underruns, %d overruns; speaker %d frames, %d underruns, %d overruns\n",
				st.Mic.Frames, st.Mic.Underruns, st.Mic.Overruns, st.Speaker.Frames, st.Speaker.Underruns, st.Speaker.Overruns)
			if err := dev.Close(); err != nil {
				fmt.Fprintf(stderr, "hushphone-agent: %v\n", err)
			}
		}()
		micName, spkName := dev.Names()
		micHz, spkHz := dev.Rates()
		fmt.Fprintf(stdout, "devices: mic %q at %d Hz, speaker %q at %d Hz\n", micName, micHz, spkName, spkHz)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	ended := 0
	var wg sync.WaitGroup
	errs := make(chan error, *agents)
	for i := 1; i <= *agents; i++ {
		name := *user
		out := *record
		if *agents > 1 {
			name += strconv.Itoa(i)
			if out != "" {
				out = strings.TrimSuffix(out, filepath.Ext(out)) + "-" + strconv.Itoa(i) + filepath.Ext(out)
			}
		}
		var w *wav.Writer
		if out != "" {
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				fmt.Fprintf(stderr, "hushphone-agent: --record: %v\n", err)
				return 1
			}
			defer f.Close()
			if w, err = wav.NewWriter(f, wav.Header{Format: wav.FormatPCM16, Channels: 1, SampleRate: 8000}); err != nil {
				fmt.Fprintf(stderr, "hushphone-agent: --record: %v\n", err)
				return 1
			}
			defer func() { _ = w.Close() }()
		}
		var audio engine.Audio = engine.NewFileAudio(voice, w)
		if dev != nil {
			audio = dev
		}
		var a *engine.Agent
		var lis *listener
		var py *payer
		if payReq != nil {
			py = &payer{req: *payReq, ctx: ctx, out: stdout, agent: func() *engine.Agent { return a }, sessions: map[string]string{}}
		}
		if *listen {
			lis = &listener{heard: map[string]bool{}, out: stdout, listen: func(call string) {
				if err := a.ListenMode(ctx, call, protocol.ListenMode(*mode)); err != nil {
					fmt.Fprintf(stderr, "hushphone-agent: listen: %v\n", err)
				}
			}}
		}
		a, err = engine.New(engine.Config{
			Server: *server, User: name, Password: password, OTP: otp, AutoAnswer: *auto,
			Audio: audio, Loopback: isLoopback(*server), Logger: log, Codec: *codec, CA: ca,
			OnEvent: func(e engine.Event) {
				if py != nil {
					py.event(e)
				}
				if lis != nil && !lis.event(e) {
					return
				}
				if lis == nil && e.Type == protocol.TypeSupervisor {
					supervisorHeard(stdout, name, e)
				}
				if lis == nil && e.Type != protocol.TypeCallEnded {
					return
				}
				mu.Lock()
				ended++
				done := *calls > 0 && ended >= *calls
				mu.Unlock()
				if lis == nil {
					fmt.Fprintf(stdout, "%s: call ended\n", name)
				}
				if done {
					cancel()
				}
			},
		})
		if err != nil {
			fmt.Fprintf(stderr, "hushphone-agent: %v\n", err)
			return 2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Run(ctx); err != nil {
				if errors.Is(err, engine.ErrMFARequired) && otp == nil {
					err = fmt.Errorf("%w (give the code on standard input's second line with --otp-stdin)", err)
				}
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	code := 0
	for err := range errs {
		fmt.Fprintf(stderr, "hushphone-agent: %v\n", err)
		if errors.Is(err, engine.ErrCertificate) && *caFile == "" {
			fmt.Fprintf(stderr, "hushphone-agent: if the server's certificate comes from a private CA, give the CA's certificate with --ca FILE\n")
		}
		code = 1
	}
	return code
}

// listener is a supervisor listening in to calls one at a time: the first
// active call it has not heard yet, as soon as it is active, then the next.
type listener struct {
	listen func(call string)
	out    io.Writer

	calls     []protocol.CallSnapshot // the latest calls message
	heard     map[string]bool
	listening string
}

// event follows the supervisor's events (from the engine's goroutine) and
// reports whether one listening ended.
func (l *listener) event(e engine.Event) bool {
	ended := false
	switch e.Type {
	case protocol.TypeCalls:
		l.calls = e.Calls
	case protocol.TypeListenStarted:
		if e.Mode.Heard() {
			fmt.Fprintf(l.out, "listening to %s (%s)\n", e.Call, e.Mode)
		} else {
			fmt.Fprintf(l.out, "listening to %s\n", e.Call)
		}
	case protocol.TypeListenEnded:
		if e.Call == l.listening {
			fmt.Fprintf(l.out, "stopped listening to %s (%s)\n", e.Call, e.Reason)
			l.listening, ended = "", true
		}
	case protocol.TypeError:
		switch call := l.listening; {
		case call != "" && e.Code == protocol.CodeNotActive:
			// Taken by an agent a moment ago: ask again shortly.
			time.AfterFunc(100*time.Millisecond, func() { l.listen(call) })
		case call != "" && e.Code == protocol.CodeNoCall:
			l.listening = "" // it ended first: the next one
		}
	default:
		return false
	}
	if l.listening == "" {
		for _, c := range l.calls {
			if (c.State == protocol.CallActive || c.State == protocol.CallHeld) && !l.heard[c.Call] {
				l.listening = c.Call
				l.heard[c.Call] = true
				l.listen(c.Call)
				break
			}
		}
	}
	return ended
}

// listDevices prints the microphones and speakers, the default marked *.
func listDevices(opts []engine.DeviceOption, stdout, stderr io.Writer) int {
	mics, speakers, err := engine.ListDevices(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "hushphone-agent: %v\n", err)
		return 1
	}
	for _, l := range []struct {
		what, flag string
		devs       []engine.DeviceInfo
	}{{"microphones", "mic", mics}, {"speakers", "speaker", speakers}} {
		fmt.Fprintf(stdout, "%s:\n", l.what)
		if len(l.devs) == 0 {
			fmt.Fprintln(stdout, "  (none)")
		}
		for _, d := range l.devs {
			mark := " "
			if d.Default {
				mark = "*"
			}
			fmt.Fprintf(stdout, "%s %s  (--%s %s)\n", mark, d.Name, l.flag, d.ID)
		}
	}
	return 0
}

// isLoopback reports whether the server is on this machine (the embedded
// setup), where media runs over loopback addresses too.
func isLoopback(server string) bool {
	u, err := url.Parse(server)
	return err == nil && engine.IsLoopback(u.Hostname())
}

// parsePay reads --pay AMOUNT:CURRENCY.
func parsePay(v string) (protocol.PayRequest, error) {
	amt, cur, ok := strings.Cut(v, ":")
	n, err := strconv.ParseInt(amt, 10, 64)
	if !ok || err != nil || n < 0 || len(cur) != 3 {
		return protocol.PayRequest{}, fmt.Errorf("%w: --pay is AMOUNT:CURRENCY, the amount in minor units (e.g. 1250:GBP for 12.50; 0:GBP saves the card), not %q", errUsage, v)
	}
	return protocol.PayRequest{Amount: n, Currency: strings.ToUpper(cur), Description: "hushphone-agent --pay"}, nil
}

// payer takes a payment on each call: it starts the session when the call
// starts, submits once every field is valid, prints the outcome and hangs
// up. Its methods run on the engine's goroutine, one event at a time; the
// requests go out on their own goroutines so that none waits for another.
type payer struct {
	req   protocol.PayRequest
	ctx   context.Context //nolint:containedctx // the agent's run, which the requests belong to
	out   io.Writer
	agent func() *engine.Agent

	mu       sync.Mutex
	sessions map[string]string // call -> session id
	printed  map[string]bool   // calls whose outcome is out
}

// payOutcome is the line --pay prints for each call.
type payOutcome struct {
	Result    string `json:"result"` // approved, declined, failed, cancelled, dropped, timed_out, error
	Reference string `json:"reference,omitempty"`
	Token     string `json:"token,omitempty"`
	Brand     string `json:"brand,omitempty"`
	Last4     string `json:"last4,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Call      string `json:"call"`
	Session   string `json:"session,omitempty"`
}

func (p *payer) do(f func(a *engine.Agent) error) {
	go func() {
		if err := f(p.agent()); err != nil && p.ctx.Err() == nil {
			fmt.Fprintf(p.out, "hushphone-agent: pay: %v\n", err)
		}
	}()
}

func (p *payer) print(o payOutcome) {
	p.mu.Lock()
	if p.printed == nil {
		p.printed = map[string]bool{}
	}
	done := p.printed[o.Call]
	p.printed[o.Call] = true
	p.mu.Unlock()
	if done {
		return
	}
	b, err := json.Marshal(o)
	if err != nil {
		return
	}
	fmt.Fprintf(p.out, "%s\n", b)
}

func (p *payer) event(e engine.Event) {
	switch e.Type {
	case protocol.TypeCallStarted:
		call := e.Call
		p.do(func(a *engine.Agent) error { return a.StartPayment(p.ctx, call, p.req) })
	case protocol.TypePayProgress:
		pm := e.Payment
		if pm == nil {
			return
		}
		p.mu.Lock()
		p.sessions[pm.Call] = pm.ID
		p.mu.Unlock()
		switch {
		case pm.State == protocol.PayReady:
			p.do(func(a *engine.Agent) error { return a.SubmitPayment(p.ctx, pm.ID) })
		case pm.State == protocol.PayFailed || pm.Final():
			o := payOutcome{Result: string(pm.State), Brand: string(pm.Brand), Last4: pm.Last4, Call: pm.Call, Session: pm.ID}
			if r := pm.Result; r != nil {
				o.Reference, o.Token, o.Reason = r.Reference, r.Token, r.Reason
			}
			p.print(o)
			if pm.State == protocol.PayFailed {
				p.do(func(a *engine.Agent) error { return a.CancelPayment(p.ctx, pm.ID) })
			}
			if pm.State != protocol.PayDropped {
				p.do(func(a *engine.Agent) error { return a.Hangup(p.ctx, pm.Call) })
			}
		}
	case protocol.TypeError:
		switch e.Code {
		case protocol.CodePayActive, protocol.CodePayOver, protocol.CodeNotReady, protocol.CodeNoPayment, protocol.CodeBadRequest:
			fmt.Fprintf(p.out, "hushphone-agent: pay: the server refused: %s: %s\n", e.Code, e.Message)
		}
	case protocol.TypeCallEnded:
		p.mu.Lock()
		id := p.sessions[e.Call]
		delete(p.sessions, e.Call)
		p.mu.Unlock()
		p.print(payOutcome{Result: string(protocol.PayDropped), Reason: "the call ended first", Call: e.Call, Session: id})
	}
}

// errUsage: a flag's value is wrong.
var errUsage = errors.New("bad flag value")

// supervisorHeard prints, for an agent, that a supervisor whispers or
// barged in on its call, or stopped.
func supervisorHeard(out io.Writer, agent string, e engine.Event) {
	switch e.Mode {
	case protocol.ModeWhisper:
		fmt.Fprintf(out, "%s: %s is whispering on %s\n", agent, e.User, e.Call)
	case protocol.ModeBarge:
		fmt.Fprintf(out, "%s: %s has joined %s (barge)\n", agent, e.User, e.Call)
	default:
		fmt.Fprintf(out, "%s: %s is no longer heard on %s\n", agent, e.User, e.Call)
	}
}
