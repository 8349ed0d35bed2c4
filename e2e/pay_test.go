package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the payments audit, read as a client would

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/internal/testing/maskscore"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/internal/testing/testkit"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/wav"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/store"
)

// The card the caller types in these tests, and what must never be found
// anywhere but in the caller's keypad.
const (
	testExpiry = "0931" // September 2031
	testCVV    = "737"
)

// payScenario is one payment call: what the caller types (and how), and
// what the agent does.
type payScenario struct {
	keys    string // typed from keysAt, 100 ms on and 100 ms off; a space is a 1 s pause
	rfc4733 bool   // keys as RFC 4733 events instead of in-band tones
	amount  int64
	// agent reacts to each pay.progress; it may return requests to send.
	agent func(p *protocol.Payment, s *payRun) []func(ctx context.Context, a *engine.Agent) error
	// hangupAfter: the caller hangs up this long after the audio ends (0:
	// 20 s, by which the agent has hung up).
	hangupAfter time.Duration
	// caller, if set, places the call instead of sipp: the caller's audio
	// is pcm (the keys in-band), and it hangs up after total at most.
	caller func(ctx context.Context, t *testing.T, srv *stacktest.Stack, pcm []int16, total time.Duration)
}

// payRun is what one scenario saw.
type payRun struct {
	mu       sync.Mutex
	statuses []protocol.Payment // every pay.progress the agent got, in order
	errors   []engine.Event
	agentRaw bytes.Buffer // every message the agent got
	superRaw bytes.Buffer // every message the supervisor got
	superPay []protocol.Payment
	final    chan protocol.Payment
	submits  int
}

// keysAt is when the caller starts typing, after the answer: the agent
// has started the session by then (it does so on call.started).
const keysAt = 3 * time.Second

func submitWhenReady(p *protocol.Payment, s *payRun) []func(context.Context, *engine.Agent) error {
	if p.State != "ready" {
		return nil
	}
	s.submits++
	id := p.ID
	return []func(context.Context, *engine.Agent) error{func(ctx context.Context, a *engine.Agent) error { return a.SubmitPayment(ctx, id) }}
}

// runPay runs one scenario end to end: the stack, an agent (engine) that
// answers, starts a payment on call.started and follows scenario.agent, a
// supervisor who watches, and sipp as the caller. It returns what was
// seen, the stack, and the agent's recording.
func runPay(t *testing.T, sc payScenario, opts ...stacktest.Option) (*payRun, *stacktest.Stack, string) {
	t.Helper()
	if sc.caller == nil {
		sipptest.Sipp(t)
	}
	srv := stacktest.Start(t, opts...)
	srv.AddAgent(t, "ann", "ann-password")
	srv.AddUser(t, "sue", store.RoleSupervisor, "sue-password")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	run := &payRun{final: make(chan protocol.Payment, 4)}
	dir := t.TempDir()
	recPath := filepath.Join(dir, "agent.wav")
	f, err := os.Create(recPath)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wav.NewWriter(f, wav.Header{Format: wav.FormatPCM16, Channels: 1, SampleRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	audio := engine.NewFileAudio(nil, w)
	var agent *engine.Agent
	send := func(fs []func(context.Context, *engine.Agent) error) {
		for _, fn := range fs {
			go func() {
				if err := fn(ctx, agent); err != nil && ctx.Err() == nil {
					t.Errorf("agent request: %v", err)
				}
			}()
		}
	}
	agent, err = engine.New(engine.Config{Server: srv.URL, User: "ann", Password: "ann-password", AutoAnswer: true, Audio: audio, Loopback: true,
		OnMessage: func(b []byte) {
			run.mu.Lock()
			run.agentRaw.Write(b)
			run.agentRaw.WriteByte('\n')
			run.mu.Unlock()
		},
		OnEvent: func(e engine.Event) {
			switch e.Type {
			case "call.started":
				call := e.Call
				send([]func(context.Context, *engine.Agent) error{func(ctx context.Context, a *engine.Agent) error {
					return a.StartPayment(ctx, call, protocol.PayRequest{Amount: sc.amount, Currency: "GBP", Description: "order 42", FieldTimeout: 20})
				}})
			case "pay.progress":
				run.mu.Lock()
				run.statuses = append(run.statuses, *e.Payment)
				reqs := sc.agent(e.Payment, run)
				run.mu.Unlock()
				if e.Payment.Final() {
					run.final <- *e.Payment
					reqs = append(reqs, func(ctx context.Context, a *engine.Agent) error { return a.Hangup(ctx, e.Call) })
				}
				send(reqs)
			case "error":
				run.mu.Lock()
				run.errors = append(run.errors, e)
				run.mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	super, err := engine.New(engine.Config{Server: srv.URL, User: "sue", Password: "sue-password", OTP: srv.OTP("sue"), Loopback: true,
		OnMessage: func(b []byte) {
			run.mu.Lock()
			run.superRaw.Write(b)
			run.superRaw.WriteByte('\n')
			run.mu.Unlock()
		},
		OnEvent: func(e engine.Event) {
			if e.Type == "pay.progress" {
				run.mu.Lock()
				run.superPay = append(run.superPay, *e.Payment)
				run.mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, a := range []*engine.Agent{agent, super} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Run(actx); err != nil {
				t.Errorf("agent: %v", err)
			}
		}()
	}
	srv.WaitAvailable(t, 1)

	keys := sipptest.Type(sc.keys, keysAt, 100*time.Millisecond, 100*time.Millisecond)
	total := sipptest.End(keys) + time.Second
	hang := sc.hangupAfter
	if hang == 0 {
		hang = 20 * time.Second
	}
	if sc.caller != nil {
		sc.caller(ctx, t, srv, sipptest.InBand(keys, total+hang), total+hang)
	} else {
		pcap := filepath.Join(dir, "caller.pcap")
		if sc.rfc4733 {
			err = sipptest.WriteRFC4733PCAP(pcap, keys, total)
		} else {
			err = sipptest.WritePCAPFromPCM(pcap, sipptest.InBand(keys, total))
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := sipptest.CallPCAP(ctx, t, srv.SIPAddr, pcap, total+hang); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for audio.Calls() < 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the last pay.progress
	stop()
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	return run, srv, recPath
}

// finalStatus is the session's last status the agent got.
func (r *payRun) finalStatus(t *testing.T) protocol.Payment {
	t.Helper()
	select {
	case p := <-r.final:
		return p
	default:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("the payment never ended; statuses: %s; errors: %+v", r.states(), r.errors)
	return protocol.Payment{}
}

func (r *payRun) states() string {
	var b []string
	for _, s := range r.statuses {
		b = append(b, string(s.State)+"/"+string(s.Current))
	}
	return strings.Join(b, " ")
}

// searchCardData looks for the card data typed in everything the run
// wrote and everything the agent and supervisor were sent: the card
// number, every run of 7 of its consecutive digits (all of which reach
// beyond the last four), the expiry and the security code (as numbers:
// not inside longer digit runs). It also runs the three independent DTMF
// detectors over every recording and the agent's audio: no key may be
// found in them.
func searchCardData(t *testing.T, run *payRun, srv *stacktest.Stack, agentRec, pan string, short ...string) {
	t.Helper()
	var pats []*regexp.Regexp
	for i := 0; i+7 <= len(pan); i++ {
		pats = append(pats, regexp.MustCompile(regexp.QuoteMeta(pan[i:i+7])))
	}
	bounded := []*regexp.Regexp{}
	for _, s := range short {
		bounded = append(bounded, regexp.MustCompile(`(^|[^0-9])`+regexp.QuoteMeta(s)+`([^0-9]|$)`))
	}
	check := func(what string, b []byte, text bool) {
		for _, p := range pats {
			if loc := p.FindIndex(b); loc != nil {
				t.Errorf("%s holds %d digits of the card number at byte %d", what, loc[1]-loc[0], loc[0])
			}
		}
		if !text {
			return
		}
		b = testkit.Timestamp.ReplaceAll(b, []byte("T")) // the clock's, not data
		for i, p := range bounded {
			if loc := p.FindIndex(b); loc != nil {
				// What is around it, the match itself left out, says where
				// it came from.
				t.Errorf("%s holds the card's %s at byte %d, between %q and %q", what, []string{"expiry", "security code"}[min(i, 1)],
					loc[0], b[max(0, loc[0]-40):loc[0]], b[loc[1]:min(len(b), loc[1]+40)])
			}
		}
	}
	// Every file the server wrote: the database (and its WAL), the log,
	// the recordings. Text files are also searched for the short data.
	files := 0
	err := filepath.WalkDir(srv.DataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if strings.HasSuffix(path, ".log") {
			check(path, b, true)
			return nil
		}
		check(path, b, false)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 {
		t.Fatalf("only %d files in the data directory", files)
	}
	// The database's every row, as text.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(srv.DataDir, "hushphone.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var dump bytes.Buffer
	tables, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	_ = tables.Close()
	for _, n := range names {
		rows, err := db.Query(`SELECT * FROM "` + n + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&dump, "%s: %v\n", n, vals)
		}
		_ = rows.Close()
	}
	check("the database's rows", dump.Bytes(), true)
	run.mu.Lock()
	check("what the agent was sent", run.agentRaw.Bytes(), true)
	check("what the supervisor was sent", run.superRaw.Bytes(), true)
	if run.superRaw.Len() == 0 || run.agentRaw.Len() == 0 {
		t.Error("the agent or the supervisor got nothing")
	}
	run.mu.Unlock()
	// No key in any audio: the server's recordings and the agent's.
	recs, _ := filepath.Glob(filepath.Join(srv.DataDir, "recordings", "*.wav"))
	if len(recs) == 0 {
		t.Fatal("no recording")
	}
	for _, p := range append(recs, agentRec) {
		a, err := wav.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		mono := a.Samples
		if a.Channels == 2 { // the caller's side
			mono = make([]int16, a.Frames())
			for i := range mono {
				mono[i] = a.Samples[2*i]
			}
		}
		if len(mono) < 8000 {
			t.Errorf("%s: %d samples", p, len(mono))
		}
		for _, d := range maskscore.Detectors() {
			got, err := d.FindSamples(context.Background(), mono)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > 0 {
				t.Errorf("%s finds %d key(s) in %s", d.Name, len(got), filepath.Base(p))
			}
		}
	}
}

// keysDown are the key presses the payment side got.
func keysDown(srv *stacktest.Stack) string {
	var b []byte
	for _, k := range srv.Keys() {
		if k.Phase == dtmf.KeyDown {
			b = append(b, k.Digit)
		}
	}
	return string(b)
}

// audit is the one payment row.
func audit(t *testing.T, srv *stacktest.Stack) store.Payment {
	t.Helper()
	ps, err := srv.Store.ListPayments(context.Background(), "", 0)
	if err != nil || len(ps) != 1 {
		t.Fatalf("payments %+v, %v; want one", ps, err)
	}
	return ps[0]
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkApproved: the agent got approved with a reference, brand and last
// four; the supervisor saw the same outcome; the audit row agrees and holds
// nothing more of the card.
func checkApproved(t *testing.T, run *payRun, srv *stacktest.Stack, brand, last4 string) protocol.Payment {
	t.Helper()
	p := run.finalStatus(t)
	if p.State != "approved" || p.Result == nil || p.Result.Outcome != "approved" || p.Result.Reference == "" || string(p.Brand) != brand || p.Last4 != last4 {
		t.Fatalf("final status %s; want approved %s %s with a reference (states %s)", jsonOf(p), brand, last4, run.states())
	}
	run.mu.Lock()
	var superFinal protocol.Payment
	for _, s := range run.superPay {
		if s.Seq > superFinal.Seq {
			superFinal = s
		}
	}
	run.mu.Unlock()
	if superFinal.State != "approved" || superFinal.Last4 != last4 || superFinal.ID != p.ID {
		t.Errorf("the supervisor's last status %s", jsonOf(superFinal))
	}
	a := audit(t, srv)
	if a.ID != p.ID || a.Outcome != "approved" || a.Brand != brand || a.Last4 != last4 || a.Reference != p.Result.Reference ||
		a.Agent != "ann" || a.Amount != 1250 || a.Currency != "GBP" || a.Gateway != "sandbox" || a.Ended.IsZero() {
		t.Errorf("audit row %+v", a)
	}
	return p
}

// fieldsSeen reports the field states the agent saw, in order, without
// repeats: e.g. "card-number:capturing card-number:invalid(...)".
func fieldsSeen(run *payRun, field string) []string {
	run.mu.Lock()
	defer run.mu.Unlock()
	var out []string
	for _, s := range run.statuses {
		for _, f := range s.Fields {
			if string(f.Field) != field {
				continue
			}
			v := string(f.State)
			if f.Reason != "" {
				v += "(" + string(f.Reason) + ")"
			}
			if len(out) == 0 || out[len(out)-1] != v {
				out = append(out, v)
			}
		}
	}
	return out
}

// TestPayInBand: the caller types the card as in-band tones; the agent
// watches the fields fill in and submits; the sandbox approves. Nothing of
// the card is anywhere but in the gateway's request.
func TestPayInBand(t *testing.T) {
	t.Parallel() // its own server, caller and agent: two run at once
	const pan = "4242424242424242"
	sc := payScenario{keys: pan + "#" + testExpiry + "#" + testCVV + "#", amount: 1250, agent: submitWhenReady}
	run, srv, rec := runPay(t, sc)
	p := checkApproved(t, run, srv, "visa", "4242")
	// The last # may not come: the security code completes the payment by
	// its length, and the agent hangs up on the outcome.
	if got, want := keysDown(srv), pan+"#"+testExpiry+"#"+testCVV; !strings.HasPrefix(got, want) {
		t.Errorf("the payment side got %q, want %q first", got, want)
	}
	// The agent saw digits counted up one by one, never their values.
	seen := 0
	run.mu.Lock()
	for _, s := range run.statuses {
		for _, f := range s.Fields {
			if f.Field == "card-number" && f.Digits > seen {
				seen = f.Digits
			}
		}
	}
	run.mu.Unlock()
	if seen != 16 {
		t.Errorf("the agent saw at most %d digits of the card number counted", seen)
	}
	t.Logf("approved: %s; card number went %v", p.Result.Reference, fieldsSeen(run, "card-number"))
	checkProof(t, srv)
	searchCardData(t, run, srv, rec, pan, testExpiry, testCVV)
}

// TestPayRFC4733: the same, the keys sent as RFC 4733 events.
func TestPayRFC4733(t *testing.T) {
	t.Parallel() // its own server, caller and agent: two run at once
	const pan = "4242424242424242"
	sc := payScenario{keys: pan + "#" + testExpiry + "#" + testCVV + "#", rfc4733: true, amount: 1250, agent: submitWhenReady}
	run, srv, rec := runPay(t, sc)
	checkApproved(t, run, srv, "visa", "4242")
	for _, k := range srv.Keys() {
		if k.Source != dtmf.SourceRFC4733 {
			t.Fatalf("a key from %v, want RFC 4733 only", k.Source)
		}
	}
	checkProof(t, srv)
	searchCardData(t, run, srv, rec, pan, testExpiry, testCVV)
}

// TestPayDeclined: a card the sandbox declines; the agent sees why.
func TestPayDeclined(t *testing.T) {
	t.Parallel() // its own server, caller and agent: two run at once
	const pan = "4000000000000002"
	sc := payScenario{keys: pan + "#" + testExpiry + "#" + testCVV + "#", amount: 1250, agent: submitWhenReady}
	run, srv, rec := runPay(t, sc)
	p := run.finalStatus(t)
	if p.State != "declined" || p.Result == nil || p.Result.Reason != "card_declined" || p.Last4 != "0002" {
		t.Fatalf("final status %s; want declined card_declined", jsonOf(p))
	}
	if a := audit(t, srv); a.Outcome != "declined" || a.Reason != "card_declined" || a.Last4 != "0002" {
		t.Errorf("audit row %+v", a)
	}
	searchCardData(t, run, srv, rec, pan, testExpiry, testCVV)
}

// TestPayWrongDigitRetyped: the caller slips on one digit (the Luhn check
// fails), hears the error tone, and types the number again.
func TestPayWrongDigitRetyped(t *testing.T) {
	t.Parallel() // its own server, caller and agent: two run at once
	const pan = "4242424242424242"
	sc := payScenario{keys: "4242424242424241# " + pan + "#" + testExpiry + "#" + testCVV + "#", amount: 1250, agent: submitWhenReady}
	run, srv, rec := runPay(t, sc)
	checkApproved(t, run, srv, "visa", "4242")
	seen := strings.Join(fieldsSeen(run, "card-number"), " ")
	if !strings.Contains(seen, "invalid(invalid-card-number) capturing complete") {
		t.Errorf("the card number went %s; want invalid(invalid-card-number), then capturing, then complete", seen)
	}
	run.mu.Lock()
	left := -1
	for _, s := range run.statuses {
		for _, f := range s.Fields {
			if f.Field == "card-number" && f.State == "invalid" {
				left = f.AttemptsLeft
			}
		}
	}
	run.mu.Unlock()
	if left != 2 {
		t.Errorf("after one wrong number %d attempts left, want 2", left)
	}
	// Both numbers are searched for: the wrong one too.
	searchCardData(t, run, srv, rec, pan, testExpiry, testCVV)
	searchCardData(t, run, srv, rec, "4242424242424241")
}

// TestPayCancelled: the agent cancels once the card number is in; nothing
// is charged and the digits are gone.
func TestPayCancelled(t *testing.T) {
	t.Parallel() // its own server, caller and agent: two run at once
	const pan = "5555555555554444"
	var once sync.Once
	sc := payScenario{keys: pan + "#" + testExpiry, amount: 1250,
		agent: func(p *protocol.Payment, _ *payRun) []func(context.Context, *engine.Agent) error {
			var out []func(context.Context, *engine.Agent) error
			if p.Current == "security-code" && p.State == "capturing" {
				once.Do(func() {
					id := p.ID
					out = append(out, func(ctx context.Context, a *engine.Agent) error { return a.CancelPayment(ctx, id) })
				})
			}
			return out
		}}
	run, srv, rec := runPay(t, sc)
	p := run.finalStatus(t)
	if p.State != "cancelled" || p.Result != nil || p.Brand != "mastercard" || p.Last4 != "4444" {
		t.Fatalf("final status %s; want cancelled, mastercard 4444, no result", jsonOf(p))
	}
	if a := audit(t, srv); a.Outcome != "cancelled" || a.Reference != "" {
		t.Errorf("audit row %+v", a)
	}
	searchCardData(t, run, srv, rec, pan, testExpiry)
}

// TestPayCallerHangsUp: the caller hangs up halfway through the card
// number; the session ends as dropped.
func TestPayCallerHangsUp(t *testing.T) {
	t.Parallel() // its own server, caller and agent: two run at once
	const pan = "4242424242424242"
	sc := payScenario{keys: pan[:9], amount: 1250, hangupAfter: 500 * time.Millisecond,
		agent: func(*protocol.Payment, *payRun) []func(context.Context, *engine.Agent) error { return nil }}
	run, srv, rec := runPay(t, sc)
	p := run.finalStatus(t)
	if p.State != "dropped" || p.Result != nil {
		t.Fatalf("final status %s; want dropped", jsonOf(p))
	}
	if a := audit(t, srv); a.Outcome != "dropped" || a.Last4 != "" || a.Reason != "call_ended" {
		t.Errorf("audit row %+v", a)
	}
	searchCardData(t, run, srv, rec, pan[:9])
}
