package trunk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/testkit"
)

// authScenario calls, answers the 401 with sipp's [authentication] (-au,
// -ap), is answered, and hangs up, answering its BYE's 401 the same way.
const authScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="digest caller">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:caller@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=caller 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[local_ip_type] [local_ip]
t=0 0
m=audio [auto_media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
]]></send>
  <recv response="100" optional="true"/>
  <recv response="401" auth="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
CSeq: 1 ACK
Contact: sip:caller@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 2 INVITE
Contact: sip:caller@[local_ip]:[local_port]
[authentication]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=caller 1 2 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[local_ip_type] [local_ip]
t=0 0
m=audio [auto_media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 ACK
Contact: sip:caller@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <pause milliseconds="300"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 3 BYE
Contact: sip:caller@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 4 BYE
Contact: sip:caller@[local_ip]:[local_port]
[authentication]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
</scenario>
`

// TestSippDigestAuth: with trunk credentials set, sipp's INVITE without
// credentials gets 401, and its retry with -au/-ap (MD5) is answered; the
// same with a wrong password is refused and offers no call.
func TestSippDigestAuth(t *testing.T) {
	bin := sipptest.Sipp(t)
	var logs testkit.SyncBuffer
	addr, got, _ := startTrunkCfg(t, Config{
		Auth:   []Credential{{Realm: "hushphone", User: "carrier", Password: "s3cret-Pa55"}},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, autoAnswer)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "auth.xml"), []byte(authScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(password, timeout string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-sf", "auth.xml", "-s", "1000", "-m", "1", "-i", "127.0.0.1",
			"-au", "carrier", "-ap", password, "-p", strconv.Itoa(freePort(t)), "-mp", strconv.Itoa(freePort(t)),
			"-timeout", timeout, "-timeout_error", "-nostdin", addr)
		cmd.Dir = dir
		cmd.WaitDelay = 5 * time.Second // a killed sipp's pipes must not hold the test
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	if err := run("s3cret-Pa55", "20s"); err != nil {
		t.Fatalf("sipp with the right password: %v", err)
	}
	got.mu.Lock()
	n := len(got.calls)
	got.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d calls offered, want 1", n)
	}
	if err := run("wrong", "3s"); err == nil {
		t.Fatal("sipp with a wrong password was answered")
	}
	got.mu.Lock()
	n = len(got.calls)
	got.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d calls offered after a wrong password, want still 1", n)
	}
	if strings.Contains(logs.String(), "s3cret") || !strings.Contains(logs.String(), "failed authentication") {
		t.Fatalf("logs:\n%s", logs.String())
	}
}

// TestAuthenticator: SHA-256 and MD5 answers to our challenge pass; a wrong
// password, an unknown user, a forged or expired nonce, another qop or
// algorithm, and junk do not.
func TestAuthenticator(t *testing.T) {
	a, err := newAuthenticator([]Credential{{Realm: "r", User: "u", Password: "p"}}, []string{"SHA-256", "MD5"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	a.now = func() time.Time { return now }
	req := sip.NewRequest(sip.INVITE, sip.Uri{User: "hushphone", Host: "127.0.0.1", Port: 5060})
	res := a.challenge(req, false)
	hs := res.GetHeaders("WWW-Authenticate")
	if res.StatusCode != 401 || len(hs) != 2 {
		t.Fatalf("challenge %v", res)
	}
	answer := func(h sip.Header, user, password string, edit func(*digest.Credentials)) *sip.Request {
		ch, err := digest.ParseChallenge(h.Value())
		if err != nil {
			t.Fatal(err)
		}
		cr, err := digest.Digest(ch, digest.Options{Method: "INVITE", URI: req.Recipient.String(), Username: user, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(cr)
		}
		r := req.Clone()
		r.AppendHeader(sip.NewHeader("Authorization", cr.String()))
		return r
	}
	for _, h := range hs {
		r := answer(h, "u", "p", nil)
		if user, err := a.verify(r); err != nil || user != "u" {
			t.Errorf("%s: %q %v", h.Value(), user, err)
		}
		// The same INVITE again is a replay.
		if _, err := a.verify(r); !errors.Is(err, errReplay) {
			t.Errorf("%s replayed: %v", h.Value(), err)
		}
	}
	// The next nonce count for the same nonce and cnonce passes.
	var first *digest.Credentials
	r1 := answer(hs[0], "u", "p", func(c *digest.Credentials) { first = c })
	if _, err := a.verify(r1); err != nil {
		t.Fatal(err)
	}
	r2 := answer(hs[0], "u", "p", func(c *digest.Credentials) {
		ch, _ := digest.ParseChallenge(hs[0].Value())
		next, err := digest.Digest(ch, digest.Options{Method: "INVITE", URI: req.Recipient.String(), Username: "u", Password: "p", Cnonce: first.Cnonce, Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		*c = *next
	})
	if _, err := a.verify(r2); err != nil {
		t.Errorf("nonce count 2: %v", err)
	}
	if !strings.HasPrefix(hs[0].Value(), "Digest ") || !strings.Contains(hs[0].Value(), "SHA-256") || !strings.Contains(hs[1].Value(), "MD5") || !strings.Contains(hs[0].Value(), `qop="auth"`) {
		t.Errorf("challenges %q, %q", hs[0].Value(), hs[1].Value())
	}
	for name, r := range map[string]*sip.Request{
		"wrong password": answer(hs[0], "u", "x", nil),
		"unknown user":   answer(hs[0], "v", "p", nil),
		"forged nonce":   answer(hs[0], "u", "p", func(c *digest.Credentials) { c.Nonce = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }),
		"other qop":      answer(hs[0], "u", "p", func(c *digest.Credentials) { c.QOP = "auth-int" }),
		"other algo":     answer(hs[0], "u", "p", func(c *digest.Credentials) { c.Algorithm = "SHA-512" }),
		"none":           req,
	} {
		if _, err := a.verify(r); !errors.Is(err, ErrAuth) {
			t.Errorf("%s: %v", name, err)
		}
	}
	junk := req.Clone()
	junk.AppendHeader(sip.NewHeader("Authorization", "Basic dTpw"))
	if _, err := a.verify(junk); !errors.Is(err, ErrAuth) {
		t.Errorf("basic: %v", err)
	}
	old := answer(hs[1], "u", "p", nil)
	now = now.Add(nonceTTL + time.Second)
	if _, err := a.verify(old); !errors.Is(err, errStale) {
		t.Errorf("expired nonce: %v", err)
	}
	if !strings.Contains(a.challenge(req, true).GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Error("no stale=true")
	}
	if _, err := newAuthenticator([]Credential{{Realm: "r", User: "u"}}, nil); !errors.Is(err, ErrAuth) {
		t.Errorf("no password: %v", err)
	}
	if _, err := newAuthenticator([]Credential{{Realm: "r", User: "u", Password: "p"}}, []string{"SHA-512"}); !errors.Is(err, ErrAuth) {
		t.Errorf("SHA-512: %v", err)
	}
	// SHA-256 only: an MD5 answer is refused.
	a256, err := newAuthenticator([]Credential{{Realm: "r", User: "u", Password: "p"}}, []string{"SHA-256"})
	if err != nil {
		t.Fatal(err)
	}
	// a's key, and the time a's challenge was made: its nonces are a256's.
	a256.key, a256.now = a.key, func() time.Time { return time.Unix(1700000000, 0) }
	if _, err := a256.verify(answer(hs[0], "u", "p", nil)); err != nil {
		t.Errorf("SHA-256 to a SHA-256-only trunk: %v", err)
	}
	if _, err := a256.verify(answer(hs[1], "u", "p", nil)); !errors.Is(err, ErrAuth) {
		t.Errorf("MD5 to a SHA-256-only trunk: %v", err)
	}
}

func TestReadCredentials(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte("# trunks\n\nin hushphone carrier pw1\nout * us pw2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in, out, err := ReadCredentials(good)
	if err != nil || len(in) != 1 || len(out) != 1 || in[0] != (Credential{"hushphone", "carrier", "pw1"}) || out[0].Realm != "*" {
		t.Fatalf("%v %v %v", in, out, err)
	}
	if s := fmt.Sprint(in[0]) + in[0].LogValue().String(); strings.Contains(s, "pw1") {
		t.Fatalf("a credential prints its password: %s", s)
	}
	for _, body := range []string{"in r u\n", "sideways r u p\n", "in * u p\n", "in r u p extra\n"} {
		bad := filepath.Join(dir, "bad")
		if err := os.WriteFile(bad, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadCredentials(bad); !errors.Is(err, ErrAuth) || strings.Contains(err.Error(), " p\n") {
			t.Errorf("%q: %v", body, err)
		}
	}
	if _, _, err := ReadCredentials(filepath.Join(dir, "missing")); !errors.Is(err, ErrAuth) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzVerify: whatever Authorization a caller sends, verify refuses it with
// ErrAuth (the fuzzer cannot guess a valid response) and never panics.
func FuzzVerify(f *testing.F) {
	f.Add(`Digest username="u", realm="r", nonce="AAAA", uri="sip:x", response="00", qop=auth, nc=00000001, cnonce="c"`)
	f.Add(`Digest username="u", realm="r", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", algorithm=SHA-256`)
	f.Add(`Basic dTpw`)
	f.Add(`Digest nc=zz`)
	a, err := newAuthenticator([]Credential{{Realm: "r", User: "u", Password: "p"}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		req := sip.NewRequest(sip.INVITE, sip.Uri{User: "hushphone", Host: "127.0.0.1"})
		req.AppendHeader(sip.NewHeader("Authorization", v))
		if _, err := a.verify(req); !errors.Is(err, ErrAuth) {
			t.Fatalf("%q: %v", v, err)
		}
	})
}
