package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/hushphone/hushphone/protocol"
)

// FuzzServerMessages feeds the engine's handling of server messages (what
// Run does with each message it reads: decode it, then handle it) any
// bytes, one message a line, as a hostile or broken server could send
// them. It never panics; it holds media for no more calls than maxMedia,
// never for a call the server has said ended, and when the connection
// ends (endAll) every call's goroutines stop: nothing grows, however many
// calls the server starts or starts again.
func FuzzServerMessages(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","user":"ann","role":"agent"}`,
		"{\"type\":\"call.offered\",\"call\":\"c1\",\"from\":\"+441632960001\"}\n{\"type\":\"call.started\",\"call\":\"c1\"}\n{\"type\":\"call.ended\",\"call\":\"c1\"}",
		"{\"type\":\"call.started\",\"call\":\"c1\"}\n{\"type\":\"call.started\",\"call\":\"c1\"}",
		"{\"type\":\"call.started\",\"call\":\"a\"}\n{\"type\":\"call.started\",\"call\":\"b\"}\n{\"type\":\"call.started\",\"call\":\"c\"}\n{\"type\":\"call.started\",\"call\":\"d\"}\n{\"type\":\"call.started\",\"call\":\"e\"}",
		"{\"type\":\"listen.started\",\"call\":\"c2\"}\n{\"type\":\"sdp\",\"call\":\"c2\",\"kind\":\"answer\",\"sdp\":\"v=0\\r\\n\"}\n{\"type\":\"listen.ended\",\"call\":\"c2\"}",
		"{\"type\":\"call.started\",\"call\":\"c3\"}\n{\"type\":\"candidate\",\"call\":\"c3\",\"candidate\":\"candidate:1 1 udp 1 192.0.2.1 9 typ host\"}\n{\"type\":\"candidate\",\"call\":\"c3\",\"candidate\":\"\"}",
		`{"type":"calls","calls":[{"id":"c1","state":"ringing"}]}`,
		`{"type":"pay.progress","payment":{"id":"pay_1","state":"capturing","fields":[{"field":"card-number","digits":4}]}}`,
		`{"type":"error","code":"bad_request","message":"4242 4242 4242 4242"}`,
		`{"type":"call.ended"}`,
		`{"type":42}`,
		`not json`,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := runtime.NumGoroutine()
		a, err := New(Config{Server: "http://127.0.0.1:1", User: "ann", Loopback: true, OnEvent: func(Event) {}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		lines := bytes.Split(data, []byte("\n"))
		if len(lines) > 64 {
			lines = lines[:64]
		}
		ended := map[string]bool{}
		for _, line := range lines {
			var m protocol.Message
			if err := json.Unmarshal(line, &m); err != nil {
				continue // Run ends the connection here (ErrProtocol)
			}
			_ = a.handle(ctx, m)
			switch m.Type {
			case protocol.TypeCallEnded, protocol.TypeListenEnded:
				ended[m.Call] = true
			case protocol.TypeCallStarted, protocol.TypeListenStarted:
				delete(ended, m.Call)
			}
			a.mu.Lock()
			n := len(a.calls)
			for call := range a.calls {
				if ended[call] {
					a.mu.Unlock()
					t.Fatalf("media held for call %q after the server ended it", call)
				}
			}
			a.mu.Unlock()
			if n > maxMedia {
				t.Fatalf("media for %d calls, more than %d", n, maxMedia)
			}
		}
		a.endAll()
		a.wg.Wait()
		a.mu.Lock()
		n := len(a.calls)
		a.mu.Unlock()
		if n != 0 {
			t.Fatalf("%d calls' media left after endAll", n)
		}
		// Every peer connection's goroutines stop (pion's close is
		// partly asynchronous: give it a moment).
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Fatalf("%d goroutines before, %d after the connection ended:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
