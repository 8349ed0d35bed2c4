package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
)

// waiterScenario is a sipp caller that waits for whatever comes: it calls
// (its media at MEDIAPORT, where the test listens), takes the 200 OK,
// acknowledges it and waits for the server's BYE.
const waiterScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="a caller nobody takes">
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
o=caller 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio MEDIAPORT RTP/AVP 0
a=rtpmap:0 PCMU/8000
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
  <recv request="BYE" timeout="30000"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:caller@[local_ip]:[local_port]>
Content-Length: 0

]]></send>
</scenario>
`

// TestCallerWaitsAtMostMaxQueueWait: a caller nobody takes used to wait
// (ringing, its media ports and goroutines held) until it hung up. Now,
// past the longest wait, it hears the busy tone for a few seconds and is
// let go with BYE; sipp, the caller, sees the whole exchange.
func TestCallerWaitsAtMostMaxQueueWait(t *testing.T) {
	t.Parallel()
	const wait = 2 * time.Second
	srv := stacktest.Start(t, stacktest.WithMaxQueueWait(wait))
	media, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	type packet struct {
		at     time.Time
		marker bool
		pcm    []int16
	}
	got := make(chan []packet, 1)
	go func() {
		var pkts []packet
		defer func() { got <- pkts }()
		buf := make([]byte, 1500)
		for {
			n, err := media.Read(buf)
			if err != nil {
				return
			}
			var p rtp.Packet
			if p.Unmarshal(buf[:n]) != nil || len(p.Payload) != mix.FrameSamples {
				continue
			}
			pcm := make([]int16, len(p.Payload))
			g711.ULaw.Decode(pcm, p.Payload)
			pkts = append(pkts, packet{at: time.Now(), marker: p.Marker, pcm: pcm})
		}
	}()

	dir := t.TempDir()
	scen := strings.Replace(waiterScenario, "MEDIAPORT", strconv.Itoa(media.LocalAddr().(*net.UDPAddr).Port), 1)
	if err := os.WriteFile(filepath.Join(dir, "waiter.xml"), []byte(scen), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, sipptest.Sipp(t), "-sf", "waiter.xml", "-s", "hushphone", "-m", "1", "-i", "127.0.0.1",
		"-p", sipptest.FreePort(t), "-timeout", "50s", "-timeout_error", "-nostdin", srv.SIPAddr)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sipp, the caller, did not get its answer and BYE: %v\n%s", err, out)
	}
	took := time.Since(start)
	time.Sleep(100 * time.Millisecond)
	_ = media.Close()
	pkts := <-got
	if took < wait || took > wait+15*time.Second {
		t.Errorf("the caller was let go after %v, want a little over %v", took, wait)
	}

	// The stream: ringback (400+450 Hz) from the first marker, the busy
	// tone (400 Hz alone) from the second, to the BYE.
	var marks []int
	for i, p := range pkts {
		if p.marker {
			marks = append(marks, i)
		}
	}
	if len(marks) != 2 {
		t.Fatalf("%d packets with %d markers, want ringback then the busy tone (2)", len(pkts), len(marks))
	}
	ring, busy := pkts[marks[0]:marks[1]], pkts[marks[1]:]
	if d := busy[len(busy)-1].at.Sub(busy[0].at); d < 2500*time.Millisecond || d > 4*time.Second {
		t.Errorf("the busy tone lasted %v, want about 3 s", d)
	}
	level := func(ps []packet, hz float64) float64 {
		var sum float64
		for _, p := range ps {
			sum += goertzel(p.pcm, hz)
		}
		return sum
	}
	if r4, r45 := level(ring, 400), level(ring, 450); r45 < r4/4 {
		t.Errorf("ringback: 450 Hz %.3g against 400 Hz %.3g, want both (400+450 Hz)", r45, r4)
	}
	if b4, b45 := level(busy, 400), level(busy, 450); b4 == 0 || b45 > b4/100 {
		t.Errorf("busy tone: 450 Hz %.3g against 400 Hz %.3g, want 400 Hz alone", b45, b4)
	}
	// On and off: some frames silent, some loud.
	var on, off int
	for _, p := range busy {
		if goertzel(p.pcm, 400) > 500 {
			on++
		} else {
			off++
		}
	}
	if on < len(busy)/3 || off < len(busy)/3 {
		t.Errorf("busy tone: %d frames on, %d off, want its cadence (half and half)", on, off)
	}
	log, err := os.ReadFile(filepath.Join(srv.DataDir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(log, []byte("queue_timeout")) {
		t.Error("the server's log does not say the call ended for waiting too long (queue_timeout)")
	}
}
