package trunk

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/testkit"
	"github.com/hushphone/hushphone/media/dtmf"
)

// kamailioConfig is a Record-Route proxy on loopback (%[1]d its port): it
// sends every new request to the trunk (%[2]d its port), stays in the path
// of the dialogs it Record-Routes, and relays in-dialog requests by their
// Route headers, both ways, as a carrier's edge proxy does.
const kamailioConfig = `#!KAMAILIO
debug=2
log_stderror=yes
children=2
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:%[1]d
alias="127.0.0.1:%[1]d"

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"

modparam("rr", "enable_full_lr", 1)

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (has_totag()) {
		if (loose_route()) {
			t_relay();
			exit;
		}
		if (is_method("ACK")) {
			if (t_check_trans()) {
				t_relay();
			}
			exit;
		}
		sl_send_reply("404", "Not here");
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			t_relay();
		}
		exit;
	}
	if (is_method("INVITE")) {
		record_route();
	}
	$du = "sip:127.0.0.1:%[2]d";
	t_relay();
}
`

// startKamailio runs Kamailio as a Record-Route proxy in front of the
// trunk at trunkAddr, until the test ends, and returns its address once it
// relays (an OPTIONS through it is answered by the trunk, with Allow).
func startKamailio(t *testing.T, trunkAddr string) string {
	t.Helper()
	bin, err := exec.LookPath("kamailio")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/kamailio"); err != nil {
			t.Fatalf("kamailio is missing (Debian package kamailio; build/install-deps.sh installs it): %v", err)
		}
	}
	_, tp, _ := strings.Cut(trunkAddr, "127.0.0.1:")
	trunkPort, _ := strconv.Atoi(tp)
	port := freePort(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, kamailioConfig, port, trunkPort), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs testkit.SyncBuffer
	cmd := exec.Command(bin, "-f", cfg, "-DD", "-E", "-Y", dir, "-w", dir, "-P", filepath.Join(dir, "kamailio.pid"), "-m", "32", "-M", "4")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its children go with it
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("kamailio:\n%s", logs.String())
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := newPeer(t, "127.0.0.1", addr)
	for i := 1; i <= 50; i++ {
		p.send("OPTIONS", dialogIDs{callID: "kamailio-up@test", fromTag: "k"}, i, "", "")
		if res, ok := p.next(100 * time.Millisecond); ok && res.code == 200 {
			if !strings.Contains(res.header("allow"), "INVITE") {
				t.Fatalf("OPTIONS through Kamailio: Allow %q", res.header("allow"))
			}
			return addr
		}
	}
	t.Fatalf("kamailio did not relay an OPTIONS within 5 s:\n%s", logs.String())
	return ""
}

// proxiedScenario calls through the proxy, checks the 200 OK's Contact
// (the trunk's own, reachable address), Allow and Supported, and keeps
// the Record-Route set and our To-tag (sipp's [peer_tag_param] would take
// the wrong one from the 481) for every in-dialog request: a re-INVITE without
// SDP (its 200 must carry Contact too; the ACK answers its offer), an
// INFO with a wrong To-tag (481, and the key must reach nobody), the
// caller's INFO key 5 (200), an in-dialog OPTIONS (200), then it waits
// for the trunk's BYE, which must reach it through the proxy.
const proxiedScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="in-dialog requests through a Record-Route proxy">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:caller@[local_ip]:[local_port]>
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
a=fmtp:101 0-15
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="sip:hushphone@127\.0\.0\.1:TRUNKPORT" search_in="hdr" header="Contact:" check_it="true" assign_to="seen"/>
      <ereg regexp="INFO" search_in="hdr" header="Allow:" check_it="true" assign_to="seen"/>
      <ereg regexp="timer" search_in="hdr" header="Supported:" check_it="true" assign_to="seen"/>
      <ereg regexp="127\.0\.0\.1:PROXYPORT" search_in="hdr" header="Record-Route:" check_it="true" assign_to="seen"/>
      <ereg regexp=";tag=([^;>]+)" search_in="hdr" header="To:" check_it="true" assign_to="seen,totag"/>
    </action>
  </recv>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>;tag=[$totag]
Call-ID: [call_id]
[routes]
CSeq: 1 ACK
Contact: <sip:caller@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0
]]></send>
  <pause milliseconds="300"/>
  <send retrans="500"><![CDATA[
INVITE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>;tag=[$totag]
Call-ID: [call_id]
[routes]
CSeq: 2 INVITE
Contact: <sip:caller@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action>
      <ereg regexp="sip:hushphone@127\.0\.0\.1:TRUNKPORT" search_in="hdr" header="Contact:" check_it="true" assign_to="seen"/>
      <ereg regexp="m=audio" search_in="body" check_it="true" assign_to="seen"/>
    </action>
  </recv>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>;tag=[$totag]
Call-ID: [call_id]
[routes]
CSeq: 2 ACK
Contact: <sip:caller@[local_ip]:[local_port]>
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
a=fmtp:101 0-15
]]></send>
  <send retrans="500"><![CDATA[
INFO [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>;tag=not-the-dialogs
Call-ID: [call_id]
[routes]
CSeq: 3 INFO
Max-Forwards: 70
Content-Type: application/dtmf-relay
Content-Length: [len]

Signal=9
Duration=100
]]></send>
  <recv response="481"/>
  <send retrans="500"><![CDATA[
INFO [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>;tag=[$totag]
Call-ID: [call_id]
[routes]
CSeq: 4 INFO
Max-Forwards: 70
Content-Type: application/dtmf-relay
Content-Length: [len]

Signal=5
Duration=100
]]></send>
  <recv response="200"/>
  <send retrans="500"><![CDATA[
OPTIONS [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>;tag=[$totag]
Call-ID: [call_id]
[routes]
CSeq: 5 OPTIONS
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
  <recv request="BYE" timeout="10000"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
]]></send>
</scenario>
`

// TestThroughKamailio: with a real Record-Route proxy (Kamailio) between
// sipp and the trunk, the call's in-dialog requests come through the
// proxy and are taken (re-INVITE, INFO, OPTIONS), a wrong To-tag is
// refused with 481 and reaches no payment, every 2xx to INVITE carries
// our Contact, Allow and Supported, and our BYE reaches the caller by the
// Record-Route set.
func TestThroughKamailio(t *testing.T) {
	t.Parallel()
	bin := sipptest.Sipp(t)
	m := newCounts()
	keys := make(chan dtmf.Event, 16)
	calls := make(chan *Call, 1)
	addr, _, _ := startTrunkCfg(t, Config{Allow: onlyLoopbackOne, Metrics: m}, func(_ *answered, c *Call) {
		if err := c.Answer(func([]byte) {}, func(e dtmf.Event) { keys <- e }); err != nil {
			t.Error(err)
		}
		calls <- c
	})
	proxy := startKamailio(t, addr)
	_, trunkPort, _ := strings.Cut(addr, "127.0.0.1:")
	_, proxyPort, _ := strings.Cut(proxy, "127.0.0.1:")
	scenario := strings.NewReplacer("TRUNKPORT", trunkPort, "PROXYPORT", proxyPort).Replace(proxiedScenario)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "proxied.xml"), []byte(scenario), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-sf", "proxied.xml", "-s", "hushphone", "-m", "1", "-i", "127.0.0.1",
		"-p", strconv.Itoa(freePort(t)), "-mp", strconv.Itoa(freePort(t)), "-timeout", "30s", "-timeout_error", "-nostdin", proxy)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second // a killed sipp's pipes must not hold the test
	sippDone := make(chan error, 1)
	var out testkit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { sippDone <- cmd.Wait() }()
	var call *Call
	select {
	case call = <-calls:
	case err := <-sippDone:
		t.Fatalf("sipp ended before the call was answered: %v\n%s", err, out.String())
	}
	// The caller's key 5 comes through the proxy; the 9 with a wrong
	// To-tag before it must not.
	select {
	case k := <-keys:
		if k.Digit != '5' {
			t.Fatalf("key %c reached the payment, want only the caller's 5", k.Digit)
		}
	case err := <-sippDone:
		t.Fatalf("sipp ended before its INFO: %v\n%s", err, out.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("the caller's INFO did not come through the proxy\n%s", out.String())
	}
	time.Sleep(500 * time.Millisecond) // the in-dialog OPTIONS
	hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer hcancel()
	if err := call.Hangup(hctx); err != nil {
		t.Errorf("our BYE through the proxy: %v", err)
	}
	if err := <-sippDone; err != nil {
		t.Fatalf("sipp through Kamailio: %v\n%s", err, out.String())
	}
	for len(keys) > 0 {
		if k := <-keys; k.Digit != '5' {
			t.Errorf("key %c reached the payment, want only the caller's 5", k.Digit)
		}
	}
	if n := m.get(m.refused, "INFO dialog"); n != 1 {
		t.Errorf("%d INFO refusals counted, want 1 (the wrong To-tag)", n)
	}
}

// baresipConfig is a headless baresip 1.0 (Debian 12) on 127.0.0.3
// (%[1]s its SIP address): a WAV file (%[2]s) for a microphone, no sound
// card, G.711 only.
const baresipConfig = `poll_method		epoll
sip_listen		%[1]s
net_interface		127.0.0.3
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
rtcp_mux		no
rtp_stats		no
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module			aubridge.so
module_tmp		account.so
module_app		menu.so
`

// TestBaresipThroughKamailio: baresip, a second real client, calls from
// 127.0.0.3 (off the allow list, which holds only the proxy's 127.0.0.1)
// through Kamailio as its outbound proxy. Its INVITE and, when it quits,
// its BYE reach the trunk only through the proxy's Record-Route: the call
// is answered, its audio comes straight from baresip (the address its SDP
// names), and baresip's BYE ends it; a BYE straight from 127.0.0.3 would
// have been refused (403), and the call left up.
func TestBaresipThroughKamailio(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatalf("baresip is missing (Debian package baresip-core; build/install-deps.sh installs it): %v", err)
	}
	m := newCounts()
	var frames atomic.Int64
	calls := make(chan *Call, 1)
	addr, _, _ := startTrunkCfg(t, Config{Allow: onlyLoopbackOne, Metrics: m}, func(_ *answered, c *Call) {
		calls <- c
		if err := c.Answer(func([]byte) { frames.Add(1) }, func(dtmf.Event) {}); err != nil {
			t.Error(err)
		}
	})
	proxy := startKamailio(t, addr)
	dir := t.TempDir()
	sipAddr := "127.0.0.3:" + strconv.Itoa(freePort(t))
	wav := filepath.Join(dir, "tone.wav")
	if err := os.WriteFile(wav, toneWAV(10*time.Second), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), fmt.Appendf(nil, baresipConfig, sipAddr, wav), 0o600); err != nil {
		t.Fatal(err)
	}
	account := "<sip:caller@127.0.0.3>;regint=0;outbound=\"sip:" + proxy + ";lr\";audio_codecs=PCMU/8000/1\n"
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "contacts"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out testkit.SyncBuffer
	cmd := exec.CommandContext(ctx, bin, "-f", dir, "-e", "/dial sip:hushphone@"+addr, "-t", "4")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if t.Failed() {
			t.Logf("baresip:\n%s", out.String())
		}
	}()
	var call *Call
	select {
	case call = <-calls:
	case err := <-done:
		t.Fatalf("baresip ended before its call reached the trunk: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("baresip's call did not reach the trunk through the proxy")
	}
	select {
	case <-call.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("baresip's BYE through the proxy did not end the call")
	}
	<-done
	if n := frames.Load(); n < 25 {
		t.Errorf("%d frames of baresip's audio, want a few seconds' worth", n)
	}
	if n := m.get(m.refused, "BYE source") + m.get(m.refused, "BYE dialog"); n != 0 {
		t.Errorf("%d of baresip's BYEs refused", n)
	}
}

// toneWAV is a WAV file (8 kHz mono 16-bit) of d of a 440 Hz tone.
func toneWAV(d time.Duration) []byte {
	n := int(d / time.Second * 8000)
	b := make([]byte, 44, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := range n {
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(8000*math.Sin(2*math.Pi*440*float64(i)/8000))))
	}
	return b
}
