package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/maskscore"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/internal/testing/testcert"
	"github.com/hushphone/hushphone/media/g711"
)

// tsharkPath is tshark's path (Debian package tshark, which
// build/install-deps.sh installs).
func tsharkPath(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("tshark")
	if err != nil {
		t.Fatalf("tshark is missing (Debian package tshark, see build/install-deps.sh): %v", err)
	}
	return path
}

// capture is tshark capturing on loopback into a file.
type capture struct {
	cmd    *exec.Cmd
	file   string
	stderr *bytes.Buffer
	done   chan struct{}
}

// startCapture runs tshark on the loopback interface with the capture
// filter filter, and waits until it captures.
func startCapture(ctx context.Context, t *testing.T, dir, filter string) *capture {
	t.Helper()
	c := &capture{file: filepath.Join(dir, "loopback.pcapng"), stderr: &bytes.Buffer{}, done: make(chan struct{})}
	c.cmd = exec.CommandContext(ctx, tsharkPath(t), "-q", "-i", "lo", "-f", filter, "-w", c.file)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = pw
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = pw.Close()
	capturing := make(chan struct{})
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(pr)
		seen := false
		for sc.Scan() {
			c.stderr.WriteString(sc.Text() + "\n")
			if !seen && strings.Contains(sc.Text(), "Capturing on") {
				seen = true
				close(capturing)
			}
		}
		_ = pr.Close()
	}()
	t.Cleanup(func() { c.stop() })
	select {
	case <-capturing:
	case <-c.done:
		t.Fatalf("tshark ended before capturing: %s", c.stderr)
	case <-time.After(15 * time.Second):
		t.Fatalf("tshark did not start capturing: %s", c.stderr)
	}
	return c
}

// stop ends the capture (as Ctrl-C does, so that the file is complete)
// and waits for tshark.
func (c *capture) stop() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	<-c.done
	_ = c.cmd.Wait()
}

// tshark runs tshark on the capture file with args, and returns its
// output's lines.
func (c *capture) tshark(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command(tsharkPath(t), append([]string{"-r", c.file}, args...)...).Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// callerRTP decodes, as RTP, the UDP packets that left port (baresip's
// RTP port) and returns their payloads as PCMU decoded to samples, and
// how many packets there were.
func (c *capture) callerRTP(t *testing.T, port int) ([]int16, int) {
	t.Helper()
	p := strconv.Itoa(port)
	var pcm []int16
	n := 0
	for _, l := range c.tshark(t, "-d", "udp.port=="+p+",rtp", "-Y", "rtp && udp.srcport=="+p, "-T", "fields", "-e", "rtp.p_type", "-e", "rtp.payload") {
		pt, payload, _ := strings.Cut(l, "\t")
		if pt != "0" {
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(payload, ":", ""))
		if err != nil {
			t.Fatalf("tshark's RTP payload %q: %v", payload, err)
		}
		n++
		pcm = append(pcm, make([]int16, len(b))...)
		g711.ULaw.Decode(pcm[len(pcm)-len(b):], b)
	}
	return pcm, n
}

// freeRTPPair is an even loopback UDP port whose odd neighbour is free
// too, for baresip's RTP and RTCP (its rtp_ports), so that the capture
// takes this call's media and no other test's.
func freeRTPPair(t *testing.T) int {
	t.Helper()
	for range 50 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := u.LocalAddr().(*net.UDPAddr).Port &^ 1
		_ = u.Close()
		a, err1 := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		b, err2 := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p+1))
		for _, c := range []net.PacketConn{a, b} {
			if c != nil {
				_ = c.Close()
			}
		}
		if err1 == nil && err2 == nil {
			return p
		}
	}
	t.Fatal("no free pair of UDP ports")
	return 0
}

// TestBaresipPaysOverTLSWithSRTP: baresip, a real SIP client, calls an
// agent over SIP over TLS (sip:...;transport=tls, trusting our test CA)
// with mandatory SRTP (mediaenc=srtp-mand) against --trunk-srtp required,
// and types a card as in-band tones; the agent takes the payment. The
// payment is approved with the keys typed (they reached the payment side
// through SRTP), the agent's audio and the recording hold no key (masked),
// nothing of the card is anywhere, no SRTP key is in the server's log, and
// tshark, capturing on loopback, sees no SIP and no RTP in clear: the
// caller's packets, decoded as RTP, carry no key any DTMF detector finds.
//
// baresip is given our test CA (sip_cafile), but baresip 1.0 with
// Debian 12's libre does not check the server's certificate: a call to a
// server whose certificate another CA signed goes ahead just the same.
// What this test shows is the encryption, not baresip's side of the
// authentication (the trunk's own outbound calls do check: TestDialOverTLS
// in server/trunk).
//
// The control, the same call over plain SIP and RTP, shows what the
// capture would see without TLS and SRTP: the INVITE, and the card's
// tones in the caller's RTP (before TLS and SRTP on the trunk, the only
// way a caller could pay).
func TestBaresipPaysOverTLSWithSRTP(t *testing.T) {
	baresipPath(t)
	tsharkPath(t)
	const pan = "4242424242424242"
	for _, secure := range []bool{true, false} {
		name := "sips+srtp"
		if !secure {
			name = "plain (control)"
		}
		t.Run(name, func(t *testing.T) {
			cert := testcert.New(t)
			var opts []stacktest.Option
			if secure {
				opts = append(opts, stacktest.WithSIPTLS(cert.CertFile, cert.KeyFile, "required"))
			}
			rtpPort := freeRTPPair(t)
			var capt *capture
			var sipPort string
			dir := t.TempDir()
			caller := func(ctx context.Context, t *testing.T, srv *stacktest.Stack, pcm []int16, total time.Duration) {
				t.Helper()
				play := filepath.Join(dir, "caller.wav")
				if err := maskscore.WriteWAV(play, pcm); err != nil {
					t.Fatal(err)
				}
				sipAddr := srv.SIPAddr
				o := baresipOptions{config: fmt.Sprintf("rtp_ports\t\t%d-%d\n", rtpPort, rtpPort+1)}
				target := "sip:agent@" + sipAddr
				if secure {
					sipAddr = srv.SIPTLSAddr
					o.config += "module\t\t\tsrtp.so\nsip_cafile\t\t" + cert.CAFile + "\n"
					o.account = "<sip:caller@127.0.0.1;transport=tls>;regint=0;mediaenc=srtp-mand;audio_codecs=PCMU/8000/1"
					target = "sip:agent@" + sipAddr + ";transport=tls"
				}
				_, sipPort, _ = net.SplitHostPort(sipAddr)
				capt = startCapture(ctx, t, dir, fmt.Sprintf("udp portrange %d-%d or port %s", rtpPort, rtpPort+1, sipPort))
				b := startBaresipWith(ctx, t, play, o)
				b.command(ctx, "dial", target)
				b.waitEvent(ctx, "CALL_ESTABLISHED")
				cctx, cancel := context.WithTimeout(ctx, total)
				defer cancel()
				b.waitEvent(cctx, "CALL_CLOSED") // the agent hangs up on the payment's outcome
				b.quit(ctx)
				capt.stop()
			}
			sc := payScenario{keys: pan + "#" + testExpiry + "#" + testCVV + "#", amount: 1250, agent: submitWhenReady, caller: caller}
			run, srv, rec := runPay(t, sc, opts...)
			checkApproved(t, run, srv, "visa", "4242")
			if got, want := keysDown(srv), pan+"#"+testExpiry+"#"+testCVV; !strings.HasPrefix(got, want) {
				t.Errorf("the payment side got %q, want %q first", got, want)
			}
			searchCardData(t, run, srv, rec, pan, testExpiry, testCVV)

			// What the server logged: the call over TLS with SRTP, and
			// no SDES key (a=crypto's inline: is where keys are).
			logged, err := os.ReadFile(filepath.Join(srv.DataDir, "server.log"))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(logged, []byte("inline:")) || bytes.Contains(logged, []byte("a=crypto")) {
				t.Error("the server's log holds an a=crypto line")
			}
			if srtpClosed := bytes.Contains(logged, []byte(`"msg":"trunk: call's SRTP closed"`)); srtpClosed != secure {
				t.Errorf("the log says the call had SRTP: %v", srtpClosed)
			}

			// What the wire carried.
			raw, err := os.ReadFile(capt.file)
			if err != nil {
				t.Fatal(err)
			}
			sip := capt.tshark(t, "-Y", "sip")
			samples, packets := capt.callerRTP(t, rtpPort)
			if packets < 200 {
				t.Fatalf("tshark saw %d RTP packets from baresip: the capture missed the call\n%s", packets, capt.stderr)
			}
			found, err := maskscore.Detectors()[1].FindSamples(context.Background(), samples)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("tshark: %d bytes captured, %d SIP messages in clear, %d RTP packets from baresip, in which multimon-ng finds %q",
				len(raw), len(sip), packets, found)
			if secure {
				hello := capt.tshark(t, "-d", "tcp.port=="+sipPort+",tls", "-Y", "tls.handshake.type == 1")
				if len(hello) == 0 {
					t.Error("tshark sees no TLS handshake on the SIP-over-TLS port")
				}
				if len(sip) > 0 || bytes.Contains(raw, []byte("INVITE ")) || bytes.Contains(raw, []byte("a=crypto")) || bytes.Contains(raw, []byte("m=audio")) {
					t.Errorf("SIP in clear on the wire: %q", sip)
				}
				if found != "" {
					t.Errorf("the caller's RTP, in clear, carries keys: %q", found)
				}
			} else {
				if len(sip) == 0 || !strings.Contains(found, pan[:8]) {
					t.Errorf("the control call's capture shows %d SIP messages and keys %q: the capture or its analysis is broken", len(sip), found)
				}
			}
		})
	}
}
