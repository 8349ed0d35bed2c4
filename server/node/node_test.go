package node

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/server/config"
)

// testConfig is the embedded defaults on free loopback ports, with the
// data in a temporary folder.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.HTTP = "127.0.0.1:0"
	cfg.Metrics = "127.0.0.1:0"
	cfg.SIP = sipptest.FreeAddr(t)
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	return cfg
}

func TestTopicOrder(t *testing.T) {
	var tp topic[int]
	var got []string
	for _, name := range []string{"first", "second", "third"} {
		tp.subscribe(name, func(e int) { got = append(got, name+":"+string(rune('0'+e))) })
	}
	tp.publish(1)
	tp.publish(2)
	want := []string{"first:1", "second:1", "third:1", "first:2", "second:2", "third:2"}
	if !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	if names := tp.names(); !slices.Equal(names, []string{"first", "second", "third"}) {
		t.Errorf("names %v", names)
	}
	var empty topic[string]
	empty.publish("nobody hears it") // no subscriber: nothing happens
}

// TestDispatchOrder: who hears what, in which order. The queue's events
// reach the calls before the hub: once the hub tells an agent their call
// started, the agent's offer can come at once, and the calls must know by
// then whose call it is (else "no such call for this agent", and a call
// without audio). The payments hear them before the hub too, so a call
// that ends has ended its payment when the agent hears of it.
func TestDispatchOrder(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	n, err := New(testConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, c := range []struct {
		topic string
		got   []string
		want  []string
	}{
		{"route", n.events.route.names(), []string{"calls", "payments", "hub", "calllog"}},
		{"inbound", n.events.inbound.names(), []string{"calls"}},
		{"calls", n.events.calls.names(), []string{"hub"}},
		{"payments", n.events.payments.names(), []string{"hub"}},
		{"prompts", n.events.prompts.names(), []string{"calls"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("topic %s: subscribers %v, want %v", c.topic, c.got, c.want)
		}
	}
}

// TestRunAndClose: a node serves HTTP and SIP once New returns, Close
// stops Run and waits for it, and nothing it started outlives it: no
// goroutine, and its addresses are free again.
func TestRunAndClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := testConfig(t)
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(context.Background()) }()
	for _, url := range []string{n.URL() + "/healthz", n.MetricsURL()} {
		body := get(t, url)
		if !strings.Contains(body, "ok") && !strings.Contains(body, "hushphone_calls_active") {
			t.Errorf("GET %s: %.80q", url, body)
		}
	}
	if err := n.Run(context.Background()); !errors.Is(err, ErrRun) {
		t.Errorf("a second Run: %v, want ErrRun", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Close did not stop Run")
	}
	_ = n.Close() // again: nothing to do
	if err := n.Run(context.Background()); !errors.Is(err, ErrRun) {
		t.Errorf("Run after Close: %v, want ErrRun", err)
	}
	free(t, hostPort(n.URL()), cfg.SIP, hostPort(n.MetricsURL()))
}

// TestRunUntilCancelled: Run returns once its context is done, and the
// node is closed then.
func TestRunUntilCancelled(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := testConfig(t)
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	get(t, n.URL()+"/healthz")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return once its context was done")
	}
	if err := n.Close(); err != nil {
		t.Errorf("Close after Run: %v", err)
	}
	free(t, hostPort(n.URL()), cfg.SIP, hostPort(n.MetricsURL()))
}

// TestCloseWithoutRun releases what New built and bound.
func TestCloseWithoutRun(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := testConfig(t)
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, metrics := hostPort(n.URL()), hostPort(n.MetricsURL())
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	free(t, addr, cfg.SIP, metrics)
	// The database is closed: another node opens it.
	cfg.HTTP, cfg.Metrics = addr, metrics
	n2, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("a node on the same data and addresses: %v", err)
	}
	_ = n2.Close()
}

// TestNewErrors: settings that cannot work are refused by New, with the
// sentinel that names what is wrong and a message naming the setting, and
// a refused New leaves nothing behind.
func TestNewErrors(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		name string
		set  func(*config.Config)
		err  error
		says string
	}{
		{"sip on every address", func(c *config.Config) { c.SIP = "0.0.0.0:" + sipptest.FreePort(t) }, ErrMediaIP, "set media-ip"},
		{"http in use", func(c *config.Config) { c.HTTP = busy.Addr().String() }, ErrListen, "choose another http address"},
		{"metrics in use", func(c *config.Config) { c.Metrics = busy.Addr().String() }, ErrListen, "choose another metrics address"},
		{"plain http on every address", func(c *config.Config) { c.HTTP = "0.0.0.0:0" }, ErrInsecureHTTP, "set insecure-http"},
		{"plain http on a name", func(c *config.Config) { c.HTTP = "hushphone.example.com:0" }, ErrInsecureHTTP, "set tls-cert and tls-key (or acme-domain and acme-email)"},
		{"plain http on every IPv6 address", func(c *config.Config) { c.HTTP = "[::]:0" }, ErrInsecureHTTP, "put http on 127.0.0.1"},
		{"metrics on every address without a token", func(c *config.Config) { c.Metrics = "0.0.0.0:0" }, ErrMetrics, "set metrics-token"},
		{"metrics' token in clear", func(c *config.Config) { c.Metrics, c.MetricsToken = ":0", tokenFile(t, "0123456789abcdef") }, ErrInsecureHTTP, "its token would cross the network in clear"},
		{"metrics' token short", func(c *config.Config) { c.MetricsToken = tokenFile(t, "0123456789") }, ErrMetrics, "at least 16 characters"},
		{"metrics' token readable", func(c *config.Config) { c.MetricsToken = looseFile(t, "0123456789abcdef") }, ErrMetrics, "chmod 600"},
		{"tls-cert alone", func(c *config.Config) { c.TLSCert = tokenFile(t, "x") }, ErrTLS, "tls-cert and tls-key go together"},
		{"tls-key readable by group and others", func(c *config.Config) { c.TLSCert, c.TLSKey = testCertFiles(t, 0o644) }, ErrTLS, "chmod 600"},
		{"tls-key not the certificate's", func(c *config.Config) { c.TLSCert, c.TLSKey = mismatched(t) }, ErrTLS, "the key the certificate's"},
		{"tls-cert and acme-domain", func(c *config.Config) {
			c.TLSCert, c.TLSKey = testCertFiles(t, 0o600)
			c.ACMEDomains = []string{"hushphone.example.com"}
		}, ErrTLS, "not both"},
		{"acme-domain without acme-email", func(c *config.Config) { c.ACMEDomains = []string{"hushphone.example.com"} }, ErrTLS, "acme-domain needs acme-email"},
		{"stripe without its key", func(c *config.Config) { c.Gateway = "stripe" }, ErrGateway, "gateway-secret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t)
			c.set(&cfg)
			n, err := New(cfg, nil)
			if err == nil {
				_ = n.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q, want %v saying %q", err, c.err, c.says)
			}
			if strings.Contains(err.Error(), "--") {
				t.Errorf("error %q names a command-line flag", err)
			}
			// Nothing is left bound: a node with the same SIP address starts.
			if !errors.Is(c.err, ErrMediaIP) {
				cfg2 := testConfig(t)
				cfg2.SIP = cfg.SIP
				n2, err := New(cfg2, nil)
				if err != nil {
					t.Fatalf("the refused node left its SIP address bound: %v", err)
				}
				_ = n2.Close()
			}
		})
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	http.DefaultClient.CloseIdleConnections()
	return string(b)
}

// hostPort is a URL's host:port.
func hostPort(u string) string {
	_, rest, _ := strings.Cut(u, "://")
	hp, _, _ := strings.Cut(rest, "/")
	return hp
}

// free checks the node let go of its addresses: HTTP and metrics over
// TCP, SIP over UDP and TCP.
func free(t *testing.T, httpAddr, sipAddr, metricsAddr string) {
	t.Helper()
	for _, a := range []struct{ network, addr string }{{"tcp", httpAddr}, {"tcp", sipAddr}, {"udp", sipAddr}, {"tcp", metricsAddr}} {
		var err error
		if a.network == "udp" {
			var c net.PacketConn
			if c, err = net.ListenPacket(a.network, a.addr); err == nil {
				_ = c.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen(a.network, a.addr); err == nil {
				_ = l.Close()
			}
		}
		if err != nil {
			t.Errorf("%s %s still bound: %v", a.network, a.addr, err)
		}
	}
}
