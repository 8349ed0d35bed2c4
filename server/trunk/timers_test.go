package trunk

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestRTPTimeout: a caller that vanishes without BYE (no more RTP or
// RTCP) has its call ended with BYE once RTPTimeout has passed; a caller
// on hold (a re-INVITE saying it sends nothing) is left alone until it
// resumes.
func TestRTPTimeout(t *testing.T) {
	t.Parallel()
	m := newCounts()
	const timeout = time.Second
	addr, _, _ := startTrunkCfg(t, Config{RTPTimeout: timeout, Metrics: m}, autoAnswer)

	t.Run("vanished", func(t *testing.T) {
		p := newPeer(t, "127.0.0.1", addr)
		_, ok := p.call("")
		p.sendRTP(serverRTP(t, ok), 0, 25) // half a second of audio, then nothing
		last := time.Now()
		bye, got := p.request("BYE", 5*time.Second)
		if !got {
			t.Fatal("no BYE after the caller's media stopped")
		}
		if d := time.Since(last); d < timeout-100*time.Millisecond || d > timeout+time.Second {
			t.Errorf("BYE %v after the caller's last packet, want about %v", d, timeout)
		}
		p.reply(bye, 200, "")
	})

	t.Run("on hold", func(t *testing.T) {
		p := newPeer(t, "127.0.0.1", addr)
		d, ok := p.call("")
		p.sendRTP(serverRTP(t, ok), 0, 10)
		sdp := "Content-Type: application/sdp\r\n"
		if res := p.do("INVITE", d, 2, sdp, p.offer("a=inactive\r\n")); res.code != 200 {
			t.Fatalf("hold: %d", res.code)
		}
		p.send("ACK", d, 2, "", "")
		if bye, got := p.request("BYE", 2*timeout+500*time.Millisecond); got {
			p.reply(bye, 200, "")
			t.Fatal("BYE to a caller on hold")
		}
		if res := p.do("INVITE", d, 3, sdp, p.offer("a=sendrecv\r\n")); res.code != 200 {
			t.Fatalf("resume: %d", res.code)
		}
		p.send("ACK", d, 3, "", "")
		bye, got := p.request("BYE", 3*timeout)
		if !got {
			t.Fatal("no BYE after the caller resumed and sent nothing")
		}
		p.reply(bye, 200, "")
	})
	if n := m.get(m.cut, cutRTP); n != 2 {
		t.Errorf("%d calls cut for RTP timeout counted, want 2", n)
	}
}

// TestSessionTimerCallerRefreshes: a caller asking for a session timer
// that it refreshes (RFC 4028) gets it in the 200 (Session-Expires with
// refresher=uac, Require: timer) and in the 200 to each refresh; when
// its refreshes stop, the call ends with BYE before the session expires.
// An interval under our Min-SE is answered 422.
func TestSessionTimerCallerRefreshes(t *testing.T) {
	t.Parallel()
	m := newCounts()
	addr, _, _ := startTrunkCfg(t, Config{minSE: 2 * time.Second, Metrics: m}, autoAnswer)
	p := newPeer(t, "127.0.0.1", addr)

	short := dialogIDs{callID: "se-short@test", fromTag: "caller"}
	res := p.do("INVITE", short, 1, "Content-Type: application/sdp\r\nSession-Expires: 1\r\nSupported: timer\r\n", p.offer(""))
	if res.code != 422 || res.header("min-se") != "2" {
		t.Fatalf("a 1 s session interval: %d, Min-SE %q; want 422 with Min-SE 2", res.code, res.header("min-se"))
	}
	p.send("ACK", short, 1, "", "")

	const ask = "Session-Expires: 3;refresher=uac\r\nSupported: timer\r\n"
	d, ok := p.call(ask)
	if se := ok.header("session-expires"); se != "3;refresher=uac" || ok.header("require") != "timer" {
		t.Fatalf("200 to an INVITE with a session timer: Session-Expires %q, Require %q", se, ok.header("require"))
	}
	time.Sleep(1500 * time.Millisecond)
	res = p.do("INVITE", d, 2, ask, "") // a refresh, without SDP
	if res.code != 200 || res.header("session-expires") != "3;refresher=uac" {
		t.Fatalf("refresh: %d, Session-Expires %q", res.code, res.header("session-expires"))
	}
	p.send("ACK", d, 2, "", "")
	refreshed := time.Now()
	// The next refresh never comes: BYE at the interval less a third
	// (RFC 4028 section 10): 2 s after the refresh.
	bye, got := p.request("BYE", 5*time.Second)
	if !got {
		t.Fatal("no BYE when the caller stopped refreshing")
	}
	if d := time.Since(refreshed); d < 1500*time.Millisecond || d > 3*time.Second {
		t.Errorf("BYE %v after the last refresh, want about 2 s", d)
	}
	p.reply(bye, 200, "")
	if n := m.get(m.cut, cutSession); n != 1 {
		t.Errorf("%d calls cut for session expiry counted", n)
	}
}

// TestSessionTimerWeRefresh: a session timer whose refresher is us
// (refresher=uas) is refreshed at half its interval, with UPDATE where
// the caller allows it, else with a re-INVITE (our last SDP, its version
// unchanged), which we ACK; a refresh answered 481 ends the call with BYE.
func TestSessionTimerWeRefresh(t *testing.T) {
	t.Parallel()
	addr, _, _ := startTrunkCfg(t, Config{minSE: 2 * time.Second}, autoAnswer)
	for _, c := range []struct {
		name, allow, method string
	}{
		{"UPDATE", "Allow: INVITE, ACK, BYE, CANCEL, UPDATE\r\n", "UPDATE"},
		{"re-INVITE", "Allow: INVITE, ACK, BYE, CANCEL\r\n", "INVITE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newPeer(t, "127.0.0.1", addr)
			_, ok := p.call("Session-Expires: 4;refresher=uas\r\nSupported: timer\r\n" + c.allow)
			if se := ok.header("session-expires"); se != "4;refresher=uas" {
				t.Fatalf("200: Session-Expires %q", se)
			}
			answered := time.Now()
			req, got := p.request(c.method, 4*time.Second)
			if !got {
				t.Fatalf("no %s refresh", c.method)
			}
			if d := time.Since(answered); d < 1500*time.Millisecond || d > 3*time.Second {
				t.Errorf("refresh %v after the answer, want about 2 s", d)
			}
			if se := req.header("session-expires"); !strings.HasPrefix(se, "4;refresher=uac") {
				t.Errorf("refresh's Session-Expires %q", se)
			}
			if c.method == "INVITE" && req.sdpField("o=") != ok.sdpField("o=") {
				t.Errorf("the refresh's SDP origin %q, want the answer's %q", req.sdpField("o="), ok.sdpField("o="))
			}
			p.reply(req, 200, "Session-Expires: 4;refresher=uac\r\nRequire: timer\r\n")
			if c.method == "INVITE" {
				if _, got := p.request("ACK", 2*time.Second); !got {
					t.Fatal("the 200 to our refresh was not ACKed")
				}
			}
			req, got = p.request(c.method, 4*time.Second)
			if !got {
				t.Fatalf("no second %s refresh", c.method)
			}
			p.reply(req, 481, "")
			bye, got := p.request("BYE", 3*time.Second)
			if !got {
				t.Fatal("no BYE after a refresh answered 481")
			}
			p.reply(bye, 200, "")
		})
	}
}

// TestReadSessionAsk: the session timer's headers, long and compact.
func TestReadSessionAsk(t *testing.T) {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Host: "x"})
	req.AppendHeader(sip.NewHeader("x", "1800 ; refresher=uas"))
	req.AppendHeader(sip.NewHeader("Min-SE", "120"))
	req.AppendHeader(sip.NewHeader("k", "100rel, Timer"))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, UPDATE"))
	a := readSessionAsk(req)
	if a.interval != 1800*time.Second || a.refresher != "uas" || a.minSE != 120*time.Second || !a.supported || !a.update {
		t.Fatalf("%+v", a)
	}
	for _, c := range []struct {
		ask  sessionAsk
		want session
	}{
		{sessionAsk{}, session{}},
		{sessionAsk{supported: true}, session{}},
		{sessionAsk{interval: time.Minute}, session{interval: time.Minute, weRefresh: true}},
		{sessionAsk{interval: time.Minute, refresher: "uac"}, session{interval: time.Minute, weRefresh: true}}, // a proxy asked: the caller cannot refresh
		{sessionAsk{interval: time.Minute, supported: true}, session{interval: time.Minute, require: true}},
		{sessionAsk{interval: time.Minute, supported: true, refresher: "uas", update: true}, session{interval: time.Minute, weRefresh: true, require: true, update: true}},
		{sessionAsk{interval: time.Minute, minSE: 2 * time.Minute, supported: true}, session{interval: 2 * time.Minute, require: true}},
	} {
		if got := agreeSession(c.ask, 0); got != c.want {
			t.Errorf("%+v: %+v, want %+v", c.ask, got, c.want)
		}
	}
	if got := agreeSession(sessionAsk{supported: true}, time.Minute); got.interval != time.Minute || got.weRefresh {
		t.Errorf("a refresh without Session-Expires from a caller that supports it: %+v", got)
	}
}
