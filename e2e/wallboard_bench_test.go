package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/server/config"
	"github.com/hushphone/hushphone/server/store"
)

// queuedCallers sends INVITEs over bare UDP from conn that wait in the
// queue (no agent answers them); cancel sends the CANCEL for one.
type queuedCallers struct {
	conn  *net.UDPConn
	to    *net.UDPAddr
	local string
	port  int
	sip   string
	// answers counts the server's answers (100 Trying, 200 for a CANCEL...).
	answers atomic.Int32
}

func newQueuedCallers(t testing.TB, srv *stacktest.Stack) *queuedCallers {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	to, err := net.ResolveUDPAddr("udp", srv.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	q := &queuedCallers{conn: conn, to: to, local: conn.LocalAddr().String(), port: conn.LocalAddr().(*net.UDPAddr).Port, sip: srv.SIPAddr}
	go func() { // count (and drop) what the server answers
		buf := make([]byte, 4096)
		for {
			if _, _, err := conn.ReadFromUDP(buf); err != nil {
				return
			}
			q.answers.Add(1)
		}
	}()
	return q
}

func (q *queuedCallers) request(method string, i int, body string) []byte {
	id := strconv.Itoa(i)
	msg := method + " sip:hushphone@" + q.sip + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + q.local + ";branch=z9hG4bK-board-" + id + "\r\n" +
		"From: <sip:0123456789@" + q.local + ">;tag=board" + id + "\r\n" +
		"To: <sip:hushphone@" + q.sip + ">\r\n" +
		"Call-ID: board-" + id + "@" + q.local + "\r\n" +
		"CSeq: 1 " + method + "\r\nContact: <sip:0123456789@" + q.local + ">\r\nMax-Forwards: 70\r\n"
	if body != "" {
		msg += "Content-Type: application/sdp\r\n"
	}
	return []byte(msg + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

// invite queues caller i.
func (q *queuedCallers) invite(t testing.TB, i int) {
	sdp := fmt.Sprintf("v=0\r\no=- %d 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", i, q.port+2)
	if _, err := q.conn.WriteToUDP(q.request("INVITE", i, sdp), q.to); err != nil {
		t.Fatal(err)
	}
}

// cancel: caller i gives up.
func (q *queuedCallers) cancel(t testing.TB, i int) {
	if _, err := q.conn.WriteToUDP(q.request("CANCEL", i, ""), q.to); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkWallboard500Calls measures what following the board costs
// with 500 callers waiting, while 10 a second give up and 10 new ones
// arrive (each op is one such second): the bytes a second each supervisor
// gets (its WebSocket's changes, and today's figures from /api/v1/stats
// every 1.5 s, as the console fetches them while calls come and go), and
// the process's CPU (the server; the supervisors here only count bytes)
// with 0, 1 and 10 supervisors watching.
//
//	go test -run '^$' -bench Wallboard500 -benchtime 10x ./e2e
func BenchmarkWallboard500Calls(b *testing.B) {
	for _, sups := range []int{0, 1, 10} {
		b.Run(fmt.Sprintf("supervisors=%d", sups), func(b *testing.B) { benchWallboard(b, sups) })
	}
}

func benchWallboard(b *testing.B, sups int) {
	const n, churn = 500, 10
	srv := stacktest.Start(b, stacktest.WithoutRingback(), stacktest.WithConfig(func(c *config.Config) {
		c.MaxCalls, c.InviteRate = 2*n, 0
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	q := newQueuedCallers(b, srv)
	for i := range n {
		q.invite(b, i)
		if i%50 == 49 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	var bytes atomic.Int64
	for s := range sups {
		name := "sup" + strconv.Itoa(s)
		srv.AddUser(b, name, store.RoleSupervisor, name+"-password")
		code, err := srv.Code(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		token := restSignIn(b, srv.URL, name, name+"-password", code).token
		ws, res, err := websocket.Dial(ctx, srv.URL+"/api/v1/ws?token="+token, nil)
		if res != nil && res.Body != nil {
			_ = res.Body.Close()
		}
		if err != nil {
			b.Fatal(err)
		}
		ws.SetReadLimit(1 << 20)
		b.Cleanup(func() { _ = ws.CloseNow() })
		go func() {
			for {
				_, m, err := ws.Read(ctx)
				if err != nil {
					return
				}
				bytes.Add(int64(len(m)))
			}
		}()
		// The console fetches today's figures at most every 1.5 s while
		// calls come and go: so does each supervisor here.
		go func() {
			t := time.NewTicker(1500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				bytes.Add(int64(len(statsOnce(ctx, srv.URL, token))))
			}
		}()
	}
	time.Sleep(3 * time.Second) // the snapshots, and the last arrivals
	startBytes, startCPU, start := bytes.Load(), cpuTime(b), time.Now()
	b.ResetTimer()
	next, gone := n, 0
	for range b.N {
		round := time.Now()
		for range churn {
			q.cancel(b, gone)
			q.invite(b, next)
			gone++
			next++
		}
		time.Sleep(time.Until(round.Add(time.Second)))
	}
	b.StopTimer()
	secs := time.Since(start).Seconds()
	if sups > 0 {
		b.ReportMetric(float64(bytes.Load()-startBytes)/secs/float64(sups), "B/s/supervisor")
	}
	b.ReportMetric(float64(cpuTime(b)-startCPU)/float64(time.Millisecond)/secs, "cpu-ms/s")
}

// statsOnce is GET /api/v1/stats's body ("" on an error: the benchmark
// measures, the tests check the figures).
func statsOnce(ctx context.Context, base, token string) []byte {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/stats", nil)
	if err != nil {
		return nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return b
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
