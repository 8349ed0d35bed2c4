package trunk

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testkit"
)

// TestJunkStaysOutOfTheLogs: what sipgo cannot parse is logged without its
// bytes, at info level: a malformed key press or a card number sent to the
// SIP port (as junk over UDP and TCP) never reaches the log, whose record
// says only that a message was dropped and how long it was.
func TestJunkStaysOutOfTheLogs(t *testing.T) {
	var logs testkit.SyncBuffer
	// No timestamps: their digits (a millisecond of .737, say) would be
	// found by the search below, and failed it now and then.
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: noTime}))
	addr, _, _ := startTrunkCfg(t, Config{Logger: log}, func(_ *answered, c *Call) { _ = c.Reject(480, "No") })
	junk := []string{
		"INFO 4242424242424242 SIP/2.0\r\n\r\nSignal=7\r\n",
		"INVITE sip:x SIP/2.0\r\nVia: 4000000000000002\r\nContent-Length: 9\r\n\r\n4242 4242 4242 4242",
		"\x16\x03\x01 4111111111111111 1229 737",
	}
	u, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for _, j := range junk {
		if _, err := u.Write([]byte(j)); err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte(j))
		_ = c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "sip: failed to parse") < len(junk) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := logs.String()
	if n := strings.Count(out, "sip: failed to parse"); n < len(junk) {
		t.Fatalf("%d parse failures logged for %d junk datagrams:\n%s", n, len(junk), out)
	}
	for _, secret := range []string{"4242", "0000000", "4111", "1229", "737", "Signal"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
	if strings.Contains(out, "level=ERROR") {
		t.Errorf("junk from the network logged as the server's error:\n%s", out)
	}
}
