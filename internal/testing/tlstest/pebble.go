package tlstest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testkit"
)

// Pebble is Let's Encrypt's ACME test server (Debian package pebble, which
// build/install-deps.sh installs), run on loopback for one test. Its DNS
// is pebble-challtestsrv, which resolves every name to 127.0.0.1, so the
// challenges it sets are real: a TLS-ALPN-01 challenge connects to
// 127.0.0.1 on the port given to StartPebble.
type Pebble struct {
	Directory string // the ACME directory's URL, for acme-ca
	CAFile    string // PEM: the CA pebble's own HTTPS certificate is issued by, for acme-ca-root
	mgmt      string // the management API's base URL
	client    *http.Client
	stops     []func()
}

// StartPebble runs pebble and its DNS until the test ends; tlsPort is
// where it connects for TLS-ALPN-01 challenges. Without pebble the test
// fails.
func StartPebble(t testing.TB, tlsPort int) *Pebble {
	t.Helper()
	bin := func(name string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s is missing (Debian package pebble; build/install-deps.sh installs it): %v", name, err)
		}
		return p
	}
	pebble, challsrv := bin("pebble"), bin("pebble-challtestsrv")
	dir := t.TempDir()
	ca := NewCA(t)
	own := ca.Issue(t, "127.0.0.1", "localhost")
	certFile, keyFile := own.Write(t, dir)
	p := &Pebble{CAFile: filepath.Join(dir, "ca.pem"),
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}}}
	WriteFile(t, p.CAFile, ca.PEM)

	dns, listen, mgmt, httpPort := free(t, "udp"), free(t, "tcp"), free(t, "tcp"), free(t, "tcp")
	conf, err := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": certFile, "privateKey": keyFile,
		"httpPort": port(httpPort), "tlsPort": tlsPort,
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
	}})
	if err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(dir, "pebble.json")
	WriteFile(t, confFile, conf)
	p.Directory, p.mgmt = "https://"+listen+"/dir", "https://"+mgmt

	run := func(env []string, name string, args ...string) {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = append(os.Environ(), env...)
		var out testkit.SyncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		var once sync.Once
		stop := func() {
			once.Do(func() {
				cancel()
				_ = cmd.Wait()
			})
		}
		p.stops = append(p.stops, stop)
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("%s:\n%s", filepath.Base(name), out.String())
			}
		})
	}
	run(nil, challsrv, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", dns,
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-management", free(t, "tcp"))
	// No random sleeps before validating, and no nonces refused at
	// random: the test is about the server, not the ACME client's retries.
	run([]string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"}, pebble, "-config", confFile, "-dnsserver", dns)

	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := p.client.Get(p.Directory)
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops pebble and its DNS before the test ends.
func (p *Pebble) Stop() {
	for _, stop := range p.stops {
		stop()
	}
}

// Roots is a pool of pebble's root, which issues its intermediate, which
// issues the certificates.
func (p *Pebble) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	for _, c := range p.certs(t, "/roots/0") {
		pool.AddCert(c)
	}
	return pool
}

// Intermediate is pebble's intermediate, the issuer of the certificates.
func (p *Pebble) Intermediate(t testing.TB) *x509.Certificate {
	t.Helper()
	return p.certs(t, "/intermediates/0")[0]
}

func (p *Pebble) certs(t testing.TB, path string) []*x509.Certificate {
	t.Helper()
	res, err := p.client.Get(p.mgmt + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("pebble %s: %d %v", path, res.StatusCode, err)
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatalf("pebble %s: no certificate", path)
	}
	return out
}

// free is a free loopback address for network (tcp or udp).
func free(t testing.TB, network string) string {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().String()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		panic(fmt.Sprintf("tlstest: %q: %v", addr, err))
	}
	n, _ := strconv.Atoi(p)
	return n
}
