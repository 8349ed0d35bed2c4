package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/testkit"
)

// baresipPath is baresip's path. Without it the test fails under CI (which
// installs it, build/install-deps.sh) and is skipped elsewhere.
func baresipPath(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("baresip")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("baresip is missing (Debian package baresip-core, see build/install-deps.sh): %v", err)
		}
		t.Skip("baresip is missing: apt-get install --no-install-recommends baresip-core")
	}
	return path
}

// baresipModules is where Debian's baresip-core puts its modules.
const baresipModules = "/usr/lib/baresip/modules"

// baresipConfig is a headless baresip 1.0 (Debian 12): loopback only, no
// sound card, G.711 only. Its microphone is aufile playing a WAV (8 kHz
// mono 16-bit, as the codec's rate); baresip 1.0's aufile has no player,
// so the speaker is an aubridge device nothing reads, and sndfile dumps
// what baresip sends and what it receives (after decoding) to WAV files in
// snd_path. ctrl_tcp takes the commands of the menu module (dial, hangup,
// quit) as JSON and reports the call's events.
const baresipConfig = `poll_method		epoll
sip_listen		%[1]s
net_interface		127.0.0.1
call_local_timeout	30
call_max_calls		1
audio_player		aubridge,nowhere
audio_alert		aubridge,nowhere
audio_source		aufile,%[2]s
audio_level		no
ausrc_format		s16
auplay_format		s16
auenc_format		s16
audec_format		s16
audio_buffer		20-160
rtp_tos			0
rtcp_mux		no
jitter_buffer_delay	1-5
rtp_stats		no
module_path		%[3]s
module			g711.so
module			aufile.so
module			aubridge.so
module			sndfile.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		%[4]s
snd_path		%[5]s
%[6]s`

// baresip is a running baresip and a connection to its ctrl_tcp.
type baresip struct {
	t       testing.TB
	cmd     *exec.Cmd
	out     *testkit.SyncBuffer
	conn    net.Conn
	r       *bufio.Reader
	events  chan baresipMsg
	resps   chan baresipMsg
	dumps   string         // sndfile's folder
	exited  chan struct{}  // closed when baresip has exited
	readers sync.WaitGroup // read
	started time.Time
}

// baresipMsg is a message from ctrl_tcp: an event or a command's response.
type baresipMsg struct {
	Event    bool   `json:"event"`
	Class    string `json:"class"`
	Type     string `json:"type"`
	Param    string `json:"param"`
	Response bool   `json:"response"`
	OK       bool   `json:"ok"`
	Data     string `json:"data"`
}

// startBaresip runs baresip in a fresh config folder as
// <sip:caller@127.0.0.1> (no registration), playing play (an 8 kHz mono
// WAV file). It is killed when ctx ends or the test does.
func startBaresip(ctx context.Context, t testing.TB, play string) *baresip {
	t.Helper()
	return startBaresipWith(ctx, t, play, baresipOptions{})
}

// baresipOptions change startBaresip's baresip.
type baresipOptions struct {
	// config is more lines for its config file (modules, sip_cafile,
	// rtp_ports).
	config string
	// account is its account line (default
	// <sip:caller@127.0.0.1>;regint=0;audio_codecs=PCMU/8000/1).
	account string
}

// startBaresipWith is startBaresip with o.
func startBaresipWith(ctx context.Context, t testing.TB, play string, o baresipOptions) *baresip {
	t.Helper()
	if o.account == "" {
		o.account = "<sip:caller@127.0.0.1>;regint=0;audio_codecs=PCMU/8000/1"
	}
	path := baresipPath(t)
	dir := t.TempDir()
	dumps := filepath.Join(dir, "dumps")
	if err := os.Mkdir(dumps, 0o755); err != nil {
		t.Fatal(err)
	}
	ctrl := sipptest.FreeAddr(t)
	cfg := fmt.Sprintf(baresipConfig, sipptest.FreeAddr(t), play, baresipModules, ctrl, dumps, o.config)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(o.account+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "contacts"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b := &baresip{t: t, out: &testkit.SyncBuffer{}, dumps: dumps,
		events: make(chan baresipMsg, 64), resps: make(chan baresipMsg, 8)}
	b.cmd = exec.CommandContext(ctx, path, "-f", dir)
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	b.started = time.Now()
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	b.exited = exited
	go func() { _ = b.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = b.cmd.Process.Kill()
			<-exited
		}
		if b.conn != nil {
			_ = b.conn.Close()
		}
		b.readers.Wait()
		if t.Failed() {
			t.Logf("baresip's output:\n%s", statusLine.ReplaceAllString(b.out.String(), ""))
		}
	})

	// ctrl_tcp listens once baresip has read its config and modules.
	var d net.Dialer
	for {
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		conn, err := d.DialContext(cctx, "tcp", ctrl)
		cancel()
		if err == nil {
			b.conn = conn
			break
		}
		select {
		case <-exited:
			t.Fatal("baresip exited at start")
		case <-ctx.Done():
			t.Fatalf("baresip's ctrl_tcp did not listen on %s: %v", ctrl, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	b.r = bufio.NewReader(b.conn)
	b.readers.Add(1)
	go b.read()
	return b
}

// read sorts ctrl_tcp's netstrings ("LEN:JSON,") into events and
// responses until the connection closes.
func (b *baresip) read() {
	defer b.readers.Done()
	defer close(b.events)
	for {
		n, err := b.r.ReadString(':')
		if err != nil {
			return
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(n, ":")))
		if err != nil || size < 0 || size > 1<<20 {
			return
		}
		body := make([]byte, size+1)
		if _, err := io.ReadFull(b.r, body); err != nil || body[size] != ',' {
			return
		}
		var m baresipMsg
		if err := json.Unmarshal(body[:size], &m); err != nil {
			continue
		}
		if m.Response {
			select {
			case b.resps <- m:
			default:
			}
			continue
		}
		select {
		case b.events <- m:
		default: // nobody waits for that many events
		}
	}
}

// command runs a long command of baresip's menu (e.g. "dial", "hangup")
// and waits for its response.
func (b *baresip) command(ctx context.Context, command, params string) {
	b.t.Helper()
	msg, err := json.Marshal(map[string]string{"command": command, "params": params, "token": command})
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := fmt.Fprintf(b.conn, "%d:%s,", len(msg), msg); err != nil {
		b.t.Fatalf("baresip %s: %v", command, err)
	}
	select {
	case r := <-b.resps:
		if !r.OK {
			b.t.Fatalf("baresip %s %s: %s", command, params, r.Data)
		}
	case <-ctx.Done():
		b.t.Fatalf("baresip %s: no response: %v", command, ctx.Err())
	}
}

// waitEvent waits for a call event of type typ (e.g. CALL_ESTABLISHED)
// and fails the test on CALL_CLOSED when another was awaited.
func (b *baresip) waitEvent(ctx context.Context, typ string) baresipMsg {
	b.t.Helper()
	for {
		select {
		case e, ok := <-b.events:
			if !ok {
				b.t.Fatalf("baresip's ctrl_tcp closed while waiting for %s", typ)
			}
			b.t.Logf("baresip, %v in: %s %s", time.Since(b.started).Round(time.Millisecond), e.Type, e.Param)
			if e.Type == typ {
				return e
			}
			if e.Type == "CALL_CLOSED" {
				b.t.Fatalf("baresip's call closed (%s) while waiting for %s", e.Param, typ)
			}
		case <-ctx.Done():
			b.t.Fatalf("baresip: no %s: %v", typ, ctx.Err())
		}
	}
}

// quit asks baresip to quit and waits until it has: sndfile's files are
// complete then.
func (b *baresip) quit(ctx context.Context) {
	b.t.Helper()
	msg := `{"command":"quit"}`
	if _, err := fmt.Fprintf(b.conn, "%d:%s,", len(msg), msg); err != nil {
		b.t.Fatalf("baresip quit: %v", err)
	}
	select {
	case <-b.exited:
	case <-ctx.Done():
		b.t.Fatalf("baresip did not quit: %v", ctx.Err())
	}
}

// statusLine is the call status that baresip's menu prints every 100 ms.
var statusLine = regexp.MustCompile(`\[\d+:\d\d:\d\d\] audio=\d+/\d+ \(bit/s\)\s*`)

// dump is the path of sndfile's WAV of one direction: "dec" (what
// baresip heard, after decoding) or "enc" (what it sent).
func (b *baresip) dump(dir string) string {
	b.t.Helper()
	m, err := filepath.Glob(filepath.Join(b.dumps, "*-"+dir+".wav"))
	if err != nil || len(m) != 1 {
		entries, _ := os.ReadDir(b.dumps)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		b.t.Fatalf("baresip's %s dump: %v %v (the folder holds %v)", dir, m, err, names)
	}
	return m[0]
}
