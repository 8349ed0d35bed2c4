package trunk

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
)

// TestReInvite: the caller holds (a=sendonly), resumes, refreshes without
// SDP, then offers a codec we do not use. Hold and resume are answered with
// SDP mirroring the direction (recvonly, then sendrecv) and a rising
// version, on the same media port; an offerless re-INVITE gets our SDP,
// its version not below the last (RFC 3264 8); every 200 carries our
// Contact, Allow and Supported (RFC 3261 13.3.1.4, 20.5); the unusable
// offer gets 488 and the call goes on: its media flows, and
// it ends cleanly.
func TestReInvite(t *testing.T) {
	frames := make(chan struct{}, 1000)
	calls := make(chan *Call, 1)
	addr, _ := startTrunk(t, func(_ *answered, c *Call) {
		if err := c.Answer(func([]byte) {
			select {
			case frames <- struct{}{}:
			default:
			}
		}, func(dtmf.Event) {}); err != nil {
			t.Error(err)
		}
		calls <- c
	})
	caller := sipptest.Dial(t, addr, g711.ULaw, 5*time.Second)
	call := <-calls
	local := caller.Media.LocalAddr().String()
	mport := local[strings.LastIndex(local, ":")+1:]
	offer := func(pt, name, dir string) string {
		return "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + mport + " RTP/AVP " + pt +
			"\r\na=rtpmap:" + pt + " " + name + "/8000\r\na=" + dir + "\r\n"
	}
	field := func(resp, prefix string) string {
		for _, line := range strings.Split(resp, "\r\n") {
			if strings.HasPrefix(line, prefix) {
				return strings.TrimPrefix(line, prefix)
			}
		}
		return ""
	}
	ourPort := strconv.Itoa(int(call.stream.LocalAddr().Port()))
	lastVersion := 1
	for _, step := range []struct{ dir, want string }{{"sendonly", "recvonly"}, {"sendrecv", "sendrecv"}, {"inactive", "inactive"}} {
		code, resp := caller.ReInvite(t, offer("0", "PCMU", step.dir), 3*time.Second)
		if code != 200 || field(resp, "a=") == "" {
			t.Fatalf("re-INVITE %s: %d\n%s", step.dir, code, resp)
		}
		dirs := []string{}
		for _, line := range strings.Split(resp, "\r\n") {
			switch line {
			case "a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive":
				dirs = append(dirs, strings.TrimPrefix(line, "a="))
			}
		}
		o := strings.Fields(field(resp, "o="))
		v, _ := strconv.Atoi(o[2])
		m := strings.Fields(field(resp, "m=audio "))
		if len(dirs) != 1 || dirs[0] != step.want || v <= lastVersion || len(m) == 0 || m[0] != ourPort {
			t.Fatalf("re-INVITE %s: directions %v (want %s), o= %v (after version %d), m= %v\n%s", step.dir, dirs, step.want, o, lastVersion, m, resp)
		}
		lastVersion = v
		checkCapabilities(t, "re-INVITE "+step.dir, resp)
	}
	code, resp := caller.ReInvite(t, "", 3*time.Second)
	if code != 200 || field(resp, "m=audio ") == "" {
		t.Fatalf("re-INVITE without SDP: %d\n%s", code, resp)
	}
	checkCapabilities(t, "re-INVITE without SDP", resp)
	if o := strings.Fields(field(resp, "o=")); len(o) < 3 {
		t.Fatalf("re-INVITE without SDP: o= %v", o)
	} else if v, _ := strconv.Atoi(o[2]); v < lastVersion {
		t.Fatalf("re-INVITE without SDP: SDP version %d, after %d: versions only grow", v, lastVersion)
	}
	if code, _ := caller.ReInvite(t, offer("18", "G729", "sendrecv"), 3*time.Second); code != 488 {
		t.Fatalf("re-INVITE with only G.729: %d, want 488", code)
	}
	// The call goes on: the caller's audio still comes through, and it
	// hangs up cleanly.
	for len(frames) > 0 {
		<-frames
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(frames); n < 5 {
		t.Fatalf("%d frames in 300 ms after the re-INVITEs", n)
	}
	caller.Hangup(t)
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end after BYE")
	}
}

// checkCapabilities fails t unless a 2xx to INVITE (raw) carries a
// Contact naming no unspecified address, Allow and Supported.
func checkCapabilities(t *testing.T, what, raw string) {
	t.Helper()
	m := parseSIP(raw)
	if c := m.header("contact"); c == "" || strings.Contains(c, "0.0.0.0") {
		t.Errorf("%s: Contact %q", what, c)
	}
	if a := m.header("allow"); !strings.Contains(a, "INVITE") || !strings.Contains(a, "BYE") {
		t.Errorf("%s: Allow %q", what, a)
	}
	if m.header("supported") == "" && m.header("k") == "" {
		t.Errorf("%s: no Supported", what)
	}
}
