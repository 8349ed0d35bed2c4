//go:build smoke

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hushphone/hushphone/desktop/app"
	"github.com/hushphone/hushphone/protocol"
)

// smoke is the smoke run (HUSHPHONE_SMOKE=1) that build/desktop-smoke.sh
// drives: the real app, in its real window, signs in
// (HUSHPHONE_SMOKE_SERVER, _USER, _PASSWORD), answers the call that rings,
// starts a payment (HUSHPHONE_SMOKE_AMOUNT minor units of GBP, default
// 1250), submits it once the caller has typed the card, and when the
// outcome is on screen saves a screenshot of the window
// (HUSHPHONE_SMOKE_SHOT) with ImageMagick's import, prints one JSON line
// (the outcome, the start-up time to the UI's first view, the resident
// memory of the app and its web view processes during the call) and quits.
// Exit status 0 only for an approved payment and a screenshot.
//
// With HUSHPHONE_SMOKE_VIEWS=DIR it also saves the main views there, for
// the documentation: signin.png, ringing.png, capturing.png (the card
// half typed), approved.png, approved-dark.png and history.png (after
// hanging up).
type smoke struct {
	start                        time.Time
	server, user, password, shot string
	views                        string
	amount                       int64
	uiUp                         chan struct{}
	capturedShot                 bool

	mu                                   sync.Mutex
	a                                    *app.App
	quit                                 func()
	readyMS                              float64
	answered, paying, submitted, stopped bool
	code                                 int
	step                                 string
}

// smokeTimeout bounds the whole run.
const smokeTimeout = 120 * time.Second

func init() {
	newSmokeRun = func(start time.Time) smokeRun { return newSmoke(start) }
}

func newSmoke(start time.Time) *smoke {
	s := &smoke{start: start, server: os.Getenv("HUSHPHONE_SMOKE_SERVER"), user: os.Getenv("HUSHPHONE_SMOKE_USER"),
		password: os.Getenv("HUSHPHONE_SMOKE_PASSWORD"), shot: os.Getenv("HUSHPHONE_SMOKE_SHOT"), views: os.Getenv("HUSHPHONE_SMOKE_VIEWS"),
		amount: 1250, code: 1, step: "starting", uiUp: make(chan struct{})}
	if v, err := strconv.ParseInt(os.Getenv("HUSHPHONE_SMOKE_AMOUNT"), 10, 64); err == nil {
		s.amount = v
	}
	return s
}

func (s *smoke) begin(a *app.App, quit func()) {
	s.mu.Lock()
	s.a, s.quit, s.step = a, quit, "signing in"
	s.mu.Unlock()
	if s.server == "" || s.user == "" || s.password == "" || s.shot == "" {
		s.fail("set HUSHPHONE_SMOKE_SERVER, HUSHPHONE_SMOKE_USER, HUSHPHONE_SMOKE_PASSWORD and HUSHPHONE_SMOKE_SHOT")
		return
	}
	time.AfterFunc(smokeTimeout, func() {
		s.mu.Lock()
		step := s.step
		s.mu.Unlock()
		s.fail("timed out " + step)
	})
	go func() {
		if s.views != "" {
			select { // the sign-in view, drawn
			case <-s.uiUp:
			case <-time.After(10 * time.Second):
			}
			s.view("signin")
		}
		if err := a.SignIn(s.server, s.user, s.password); err != nil {
			s.fail("sign-in: " + err.Error())
			return
		}
		s.mu.Lock()
		s.step = "waiting for a call"
		s.mu.Unlock()
	}()
}

func (s *smoke) uiReady() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readyMS == 0 {
		s.readyMS = float64(time.Since(s.start).Microseconds()) / 1000
		close(s.uiUp)
	}
}

// state follows the app (from its goroutines; must not block).
func (s *smoke) state(st app.State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.a == nil {
		return
	}
	a := s.a
	switch {
	case st.Call != nil && st.Call.State == app.CallRinging && !s.answered:
		s.answered, s.step = true, "answering"
		go func() {
			s.view("ringing")
			s.do("answer", a.Answer)
		}()
	case st.Call != nil && st.Call.State == app.CallActive && !s.paying:
		s.paying, s.step = true, "starting the payment"
		go s.do("start the payment", func() error { return a.StartPayment(s.amount, "GBP", false) })
	case st.Payment != nil && st.Payment.State == protocol.PayCapturing:
		s.step = "waiting for the caller to type the card"
		if len(st.Payment.Fields) > 0 && st.Payment.Fields[0].Digits >= 10 && !s.capturedShot {
			s.capturedShot = true
			go s.view("capturing")
		}
	case st.Payment != nil && st.Payment.State == protocol.PayReady && !s.submitted:
		s.submitted, s.step = true, "submitting"
		go s.do("submit", a.SubmitPayment)
	case st.Payment != nil && (st.Payment.Final() || st.Payment.State == protocol.PayFailed):
		s.stopped = true
		p := *st.Payment
		go s.finish(string(p.State), string(p.Brand), p.Last4, p.Result)
	case st.Call != nil && st.Call.State == app.CallEnded && s.answered:
		s.stopped = true
		go s.fail("the call ended before the payment did: " + st.Call.Reason)
	}
}

func (s *smoke) do(what string, f func() error) {
	if err := f(); err != nil {
		s.fail(what + ": " + err.Error())
	}
}

// report is the JSON line the smoke run prints.
type report struct {
	OK        bool    `json:"ok"`
	Result    string  `json:"result,omitempty"`
	Reference string  `json:"reference,omitempty"`
	Brand     string  `json:"brand,omitempty"`
	Last4     string  `json:"last4,omitempty"`
	Error     string  `json:"error,omitempty"`
	ReadyMS   float64 `json:"ready_ms"` // process start to the UI's first view
	// Memory during the call: the resident set of the app and its web view
	// processes added up (shared libraries counted in each), their
	// proportional set (shared pages divided among them: what they cost
	// together), the app's own process alone, and what Go holds of it.
	RSSMB      float64 `json:"rss_mb"`
	PSSMB      float64 `json:"pss_mb"`
	MainRSSMB  float64 `json:"main_rss_mb"`
	GoSysMB    float64 `json:"go_sys_mb"`
	Screenshot string  `json:"screenshot,omitempty"`
}

func (s *smoke) finish(result, brand, last4 string, res *protocol.PayResult) {
	time.Sleep(1500 * time.Millisecond) // the outcome drawn
	r := report{Result: result, Brand: brand, Last4: last4}
	r.memory()
	if res != nil {
		r.Reference = res.Reference
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := os.MkdirAll(filepath.Dir(s.shot), 0o750); err != nil {
		r.Error = "screenshot: " + err.Error()
	} else if out, err := exec.CommandContext(ctx, "import", "-window", "root", "-crop", //nolint:gosec // our own arguments
		strconv.Itoa(width)+"x"+strconv.Itoa(height)+"+0+0", "+repage", s.shot).CombinedOutput(); err != nil {
		r.Error = "screenshot (ImageMagick's import): " + err.Error() + ": " + strings.TrimSpace(string(out))
	} else {
		r.Screenshot = s.shot
	}
	r.OK = result == string(protocol.PayApproved) && r.Screenshot != ""
	if s.views != "" {
		s.view("approved")
		s.mu.Lock()
		a := s.a
		s.mu.Unlock()
		_ = a.SetTheme("dark")
		time.Sleep(700 * time.Millisecond)
		s.view("approved-dark")
		_ = a.SetTheme("light")
		_ = a.Hangup()
		time.Sleep(1500 * time.Millisecond)
		s.view("history")
	}
	s.report(r)
}

// view saves the window as DIR/name.png (HUSHPHONE_SMOKE_VIEWS), after a
// moment for the UI to draw; a failure is only logged.
func (s *smoke) view(name string) {
	if s.views == "" {
		return
	}
	time.Sleep(800 * time.Millisecond)
	if err := os.MkdirAll(s.views, 0o750); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "import", "-window", "root", "-crop", //nolint:gosec // our own arguments
		strconv.Itoa(width)+"x"+strconv.Itoa(height)+"+0+0", "+repage", filepath.Join(s.views, name+".png")).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "hushphone: smoke: view %s: %v: %s\n", name, err, out)
	}
}

func (s *smoke) fail(msg string) {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	r := report{Error: msg}
	r.memory()
	s.report(r)
}

var reportOnce sync.Once

func (s *smoke) report(r report) {
	reportOnce.Do(func() {
		s.mu.Lock()
		r.ReadyMS = s.readyMS
		if r.OK {
			s.code = 0
		}
		quit := s.quit
		s.mu.Unlock()
		b, _ := json.Marshal(r)
		_, _ = os.Stdout.Write(append(b, '\n'))
		if quit != nil {
			quit()
		}
	})
}

func (s *smoke) exitCode() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.code
}

func (r *report) memory() {
	r.RSSMB, r.PSSMB, r.MainRSSMB = treeMemMB(os.Getpid())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.GoSysMB = float64(ms.Sys) / (1 << 20)
}

// treeMemMB is the resident and proportional memory of pid and every
// process under it (WebKitGTK's web and network processes), in MB, and
// pid's own resident memory, from /proc.
func treeMemMB(pid int) (rss, pss, own float64) {
	parent := map[int]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		p, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so from the last ')'.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 {
			pp, _ := strconv.Atoi(f[1])
			parent[p] = pp
		}
	}
	in := func(p int) bool {
		for p > 1 {
			if p == pid {
				return true
			}
			p = parent[p]
		}
		return false
	}
	field := func(file, name string) float64 {
		f, err := os.Open(file)
		if err != nil {
			return 0
		}
		defer func() { _ = f.Close() }()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), name); ok {
				n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				return n / 1024
			}
		}
		return 0
	}
	for p := range parent {
		if !in(p) {
			continue
		}
		dir := filepath.Join("/proc", strconv.Itoa(p))
		r := field(filepath.Join(dir, "status"), "VmRSS:")
		rss += r
		pss += field(filepath.Join(dir, "smaps_rollup"), "Pss:")
		if p == pid {
			own = r
		}
	}
	return rss, pss, own
}
