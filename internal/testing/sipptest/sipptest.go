// Package sipptest is test support for calls placed with sipp (Debian's
// sip-tester): a pcap of RTP that sipp plays as the caller's audio, and a
// caller scenario, and free loopback ports.
package sipptest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/internal/testing/maskscore"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
)

// WritePCAP writes mu-law audio as a pcap of RTP packets (20 ms each, 50
// per second), the way sipp's play_pcap_audio wants them: Ethernet, IPv4,
// UDP, RTP.
func WritePCAP(path string, audio []byte) error {
	var pkts []pcapPacket
	for i := 0; i+mix.FrameSamples <= len(audio); i += mix.FrameSamples {
		pkts = append(pkts, pcapPacket{us: int64(i) * 1000000 / mix.SampleRate, p: rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i / mix.FrameSamples), Timestamp: uint32(i), SSRC: 0x1234},
			Payload: audio[i : i+mix.FrameSamples],
		}})
	}
	return writePCAP(path, pkts)
}

// callerScenario calls with PCMU and telephone-event, plays caller.pcap,
// waits PAUSE ms, then hangs up.
const callerScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="Hushphone caller with in-band keys">
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
a=fmtp:101 0-15
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
CSeq: 1 ACK
Contact: sip:caller@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <nop><action><exec play_pcap_audio="caller.pcap"/></action></nop>
  <pause milliseconds="PAUSE"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: caller <sip:0123456789@[local_ip]:[local_port]>;tag=[pid]T[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: sip:caller@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
</scenario>
`

// CallerScenario is a sipp scenario (for -sf) that calls from 0123456789
// with PCMU and telephone-event, plays caller.pcap (in sipp's working
// folder), waits pauseMs, then hangs up.
func CallerScenario(pauseMs int) []byte {
	return bytes.Replace([]byte(callerScenario), []byte("PAUSE"), []byte(strconv.Itoa(pauseMs)), 1)
}

// Calls has sipp place n calls at once to sipAddr, each playing audio (8 kHz
// linear, sent as mu-law) and hanging up 1.5 s after it ends; it returns
// once sipp is done (within ctx), with sipp's output in the error if it
// failed. It needs sipp (see Sipp).
func Calls(ctx context.Context, t testing.TB, sipAddr string, audio []int16, n int) error {
	t.Helper()
	sipp := Sipp(t)
	dir := t.TempDir()
	ulaw := make([]byte, len(audio))
	g711.EncodeULawTo(ulaw, audio)
	if err := WritePCAP(filepath.Join(dir, "caller.pcap"), ulaw); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "caller.xml"), CallerScenario(len(audio)/8+1500), 0o600); err != nil {
		return fmt.Errorf("sipptest: %w", err)
	}
	nn := strconv.Itoa(n)
	cmd := exec.CommandContext(ctx, sipp, "-sf", "caller.xml", "-s", "hushphone", "-m", nn, "-l", nn, "-r", nn, "-i", "127.0.0.1",
		"-p", FreePort(t), "-mp", FreePort(t), "-timeout", "50s", "-nostdin", sipAddr)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sipptest: sipp: %w\n%s", err, out)
	}
	return nil
}

// FreeAddr is a loopback address whose port is free over UDP and TCP, for
// a SIP listener or sipp.
func FreeAddr(t testing.TB) string {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := u.LocalAddr().String()
		l, err := net.Listen("tcp", addr)
		_ = u.Close()
		if err == nil {
			_ = l.Close()
			return addr
		}
	}
	t.Fatal("no free port")
	return ""
}

// FreePort is a free loopback port, for sipp's -p and -mp.
func FreePort(t testing.TB) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(FreeAddr(t))
	return port
}

// Sipp is sipp's path. Without sipp the test fails under CI (which
// installs it) and is skipped elsewhere.
func Sipp(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("sipp")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("sipp is missing (Debian package sip-tester): %v", err)
		}
		t.Skip("sipp is missing: apt-get install sip-tester")
	}
	return path
}

// Excerpt is n samples of case name of the corpus in testdata/dtmf-corpus,
// from sample from, and the key presses wholly inside them (their times
// made relative to the excerpt). Without the corpus the test fails.
func Excerpt(t testing.TB, name string, from, n int) ([]int16, []maskscore.Tone) {
	t.Helper()
	c, err := maskscore.LoadCase(maskscore.NeedCorpus(t), name)
	if err != nil {
		t.Fatal(err)
	}
	if from < 0 || n <= 0 || from+n > len(c.Samples) {
		t.Fatalf("excerpt [%d,%d) is outside %s's %d samples", from, from+n, name, len(c.Samples))
	}
	var tones []maskscore.Tone
	for _, tn := range c.Tones {
		if tn.Start >= from && tn.End <= from+n {
			tn.Start, tn.End = tn.Start-from, tn.End-from
			tones = append(tones, tn)
		}
	}
	return c.Samples[from : from+n], tones
}
