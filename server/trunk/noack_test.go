package trunk

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/dtmf"
)

// noAckScenario calls and is answered, but never sends the ACK (a broken
// NAT, a bad Contact): it then waits for the server's BYE and answers it.
// The 200 OK's retransmissions are absorbed as sipp's retransmissions.
const noAckScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller that never ACKs">
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
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200"/>
  <recv request="BYE" timeout="60000"/>
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

// TestSippNeverAcks is the unacknowledged 200 OK with a real
// caller: sipp is answered and never ACKs. Once the 200 OK has been resent
// for 64*T1 (32 s), the trunk ends the call with BYE (RFC 3261 13.3.1.4),
// which sipp takes; the call is over (Done closes, so the queue drops it
// and no agent is handed it again) and Answer says ErrNoAck. Before the
// fix the call stayed up, and sipp timed out waiting for the BYE.
func TestSippNeverAcks(t *testing.T) {
	t.Parallel()
	bin := sipptest.Sipp(t)
	m := newCounts()
	answerErr := make(chan error, 1)
	calls := make(chan *Call, 1)
	addr, _, tr := startTrunkCfg(t, Config{Metrics: m}, func(_ *answered, c *Call) {
		calls <- c
		answerErr <- c.Answer(func([]byte) {}, func(dtmf.Event) {})
	})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "noack.xml"), []byte(noAckScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 70*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-sf", "noack.xml", "-s", "hushphone", "-m", "1", "-i", "127.0.0.1",
		"-p", strconv.Itoa(freePort(t)), "-mp", strconv.Itoa(freePort(t)), "-timeout", "60s", "-timeout_error", "-nostdin", addr)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second // a killed sipp's pipes must not hold the test
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sipp got no BYE for its unacknowledged call: %v\n%s", err, out)
	}
	t.Logf("BYE after %v", time.Since(start).Round(time.Second))
	call := <-calls
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end")
	}
	if err := <-answerErr; !errors.Is(err, ErrNoAck) {
		t.Fatalf("Answer: %v, want ErrNoAck", err)
	}
	tr.mu.Lock()
	_, left := tr.calls[call.ID]
	tr.mu.Unlock()
	if left {
		t.Error("the ended call is still among the trunk's calls")
	}
	if n := m.get(m.cut, cutNoAck); n != 1 {
		t.Errorf("%d calls cut for no ACK counted", n)
	}
}
