package sdpneg

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/hushphone/hushphone/media/g711"
)

func sdpText(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// sipp's uac_pcap scenario offers PCMU with telephone-event 101.
var sippOffer = sdpText(
	"v=0", "o=user1 53655765 2353687637 IN IP4 127.0.0.1", "s=-",
	"c=IN IP4 127.0.0.1", "t=0 0",
	"m=audio 6000 RTP/AVP 0 101",
	"a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15")

// baresip offers Opus first, then G.711, then telephone-event.
var baresipOffer = sdpText(
	"v=0", "o=- 1234 5678 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
	"m=audio 10000 RTP/AVP 96 8 0 101",
	"a=rtpmap:96 opus/48000/2", "a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000",
	"a=rtpmap:101 telephone-event/8000", "a=ptime:20", "a=sendrecv")

func TestNegotiate(t *testing.T) {
	for _, c := range []struct {
		name  string
		offer []byte
		want  Offer
		err   error
	}{
		{"sipp", sippOffer, Offer{Remote: netip.MustParseAddrPort("127.0.0.1:6000"), Law: g711.ULaw, AudioPT: 0, EventPT: 101, PtimeMs: 20, Events: DefaultEvents}, nil},
		{"baresip: the offerer's first G.711", baresipOffer, Offer{Remote: netip.MustParseAddrPort("127.0.0.1:10000"), Law: g711.ALaw, AudioPT: 8, EventPT: 101, PtimeMs: 20, Events: DefaultEvents}, nil},
		{"static types without rtpmap, media-level c=, ptime 30", sdpText("v=0", "o=- 1 1 IN IP4 ::1", "s=-", "t=0 0",
			"m=audio 7000 RTP/AVP 0", "c=IN IP6 ::1", "a=ptime:30"),
			Offer{Remote: netip.MustParseAddrPort("[::1]:7000"), Law: g711.ULaw, PtimeMs: 30}, nil},
		{"hold: sendonly", sdpText("v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 8", "a=sendonly"),
			Offer{Remote: netip.MustParseAddrPort("127.0.0.1:6000"), Law: g711.ALaw, AudioPT: 8, Direction: SendOnly, PtimeMs: 20}, nil},
		{"old hold: c=0.0.0.0", sdpText("v=0", "o=- 1 2 IN IP4 0.0.0.0", "s=-", "c=IN IP4 0.0.0.0", "t=0 0",
			"m=audio 6000 RTP/AVP 0"),
			Offer{Remote: netip.MustParseAddrPort("0.0.0.0:6000"), Law: g711.ULaw, Direction: Inactive, PtimeMs: 20}, nil},
		{"video first, audio second", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=video 9000 RTP/AVP 96", "a=rtpmap:96 H264/90000", "m=audio 6000 RTP/AVP 0"),
			Offer{Remote: netip.MustParseAddrPort("127.0.0.1:6000"), Law: g711.ULaw, PtimeMs: 20}, nil},
		{"only Opus", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 96", "a=rtpmap:96 opus/48000/2"), Offer{}, ErrNotAcceptable},
		{"SRTP without a=crypto", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/SAVP 0"), Offer{}, ErrNotAcceptable},
		{"SRTP with only a suite we lack", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/SAVP 0", "a=crypto:1 F8_128_HMAC_SHA1_80 inline:"+key30), Offer{}, ErrNotAcceptable},
		{"SRTP", srtpOffer, Offer{Remote: netip.MustParseAddrPort("127.0.0.1:6000"), Law: g711.ULaw, EventPT: 101, PtimeMs: 20,
			Secure: true, Crypto: Crypto{Tag: 2, Suite: AESCM128HMACSHA180, Key: NewKey(key30Bytes)}, Events: DefaultEvents}, nil},
		{"RTP/SAVPF", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/SAVPF 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key30), Offer{}, ErrNotAcceptable},
		{"no audio", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=video 9000 RTP/AVP 96"), Offer{}, ErrNotAcceptable},
		{"port 0", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 0 RTP/AVP 0"), Offer{}, ErrNotAcceptable},
		{"no c=", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "m=audio 6000 RTP/AVP 0"), Offer{}, ErrMalformed},
		{"bad rtpmap", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 0", "a=rtpmap:x PCMU/8000"), Offer{}, ErrMalformed},
		{"rtcp-mux", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 0", "a=rtcp-mux"),
			Offer{Remote: netip.MustParseAddrPort("127.0.0.1:6000"), Law: g711.ULaw, PtimeMs: 20, RTCPMux: true}, nil},
		{"a=rtcp with an address", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 0", "a=rtcp:7001 IN IP4 127.0.0.2"),
			Offer{Remote: netip.MustParseAddrPort("127.0.0.1:6000"), Law: g711.ULaw, PtimeMs: 20, RTCP: netip.MustParseAddrPort("127.0.0.2:7001")}, nil},
		{"a=rtcp port only", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 0", "a=rtcp:6003"),
			Offer{Remote: netip.MustParseAddrPort("127.0.0.1:6000"), Law: g711.ULaw, PtimeMs: 20, RTCP: netip.MustParseAddrPort("127.0.0.1:6003")}, nil},
		{"bad a=rtcp", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 0", "a=rtcp:x"), Offer{}, ErrMalformed},
		{"a=rtcp with a bad address", sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 0", "a=rtcp:7001 IN IP4 nowhere"), Offer{}, ErrMalformed},
		{"not SDP", []byte("hello"), Offer{}, ErrMalformed},
		{"empty", nil, Offer{}, ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Negotiate(c.offer)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("error %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// TestAnswerIsAcceptedAsAnOffer: our answer is valid SDP that offers what
// was agreed, with the answering direction.
func TestAnswer(t *testing.T) {
	for _, offer := range [][]byte{sippOffer, baresipOffer} {
		o, err := Negotiate(offer)
		if err != nil {
			t.Fatal(err)
		}
		o.Direction = SendOnly
		local := netip.MustParseAddrPort("127.0.0.1:20000")
		ans := Answer(o, local, 42, 1)
		back, err := Negotiate(ans)
		if err != nil {
			t.Fatalf("our answer does not parse: %v\n%s", err, ans)
		}
		if back.Remote != local || back.Law != o.Law || back.AudioPT != o.AudioPT || back.EventPT != o.EventPT || back.Direction != RecvOnly {
			t.Fatalf("answer reads back as %+v for %+v\n%s", back, o, ans)
		}
	}
}

// TestAnswerNeverWidensTheEvents: the answer's telephone-events are those
// the offer names (RFC 4733's default 0-15 without an fmtp) that we take
// (0-16), never more (RFC 3264 6.1); an offer of none we take agrees no
// telephone-event at all.
func TestAnswerNeverWidensTheEvents(t *testing.T) {
	offer := func(fmtp string) []byte {
		lines := []string{"v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 0 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000"}
		if fmtp != "" {
			lines = append(lines, "a=fmtp:101 "+fmtp)
		}
		return sdpText(lines...)
	}
	for _, c := range []struct{ fmtp, want string }{
		{"0-15", "0-15"},
		{"", "0-15"},
		{"0-16", "0-16"},
		{"0-255", "0-16"},
		{"0-11, 16", "0-11,16"},
		{"0-9,11", "0-9,11"},
		{"0-15,32-40", "0-15"},
		{"5", "5"},
		{"32-40", ""},
		{"junk", ""},
	} {
		o, err := Negotiate(offer(c.fmtp))
		if err != nil {
			t.Fatal(err)
		}
		ans := string(Answer(o, netip.MustParseAddrPort("127.0.0.1:20000"), 1, 1))
		if c.want == "" {
			if o.EventPT != 0 || strings.Contains(ans, "telephone-event") {
				t.Errorf("fmtp %q: event type %d agreed\n%s", c.fmtp, o.EventPT, ans)
			}
			continue
		}
		if !strings.Contains(ans, "a=fmtp:101 "+c.want+"\r\n") {
			t.Errorf("fmtp %q: answered\n%s\nwant a=fmtp:101 %s", c.fmtp, ans, c.want)
		}
	}
	if got := string(MakeOffer(netip.MustParseAddrPort("127.0.0.1:20000"), 1, 1)); !strings.Contains(got, "a=fmtp:101 0-16\r\n") {
		t.Errorf("our offer:\n%s", got)
	}
}

func TestRTCPAddr(t *testing.T) {
	rtp := netip.MustParseAddrPort("127.0.0.1:6000")
	for _, c := range []struct {
		o    Offer
		want string
	}{
		{Offer{Remote: rtp}, "127.0.0.1:6001"},
		{Offer{Remote: rtp, RTCPMux: true}, "127.0.0.1:6000"},
		{Offer{Remote: rtp, RTCP: netip.MustParseAddrPort("127.0.0.2:9")}, "127.0.0.2:9"},
	} {
		if got := c.o.RTCPAddr().String(); got != c.want {
			t.Errorf("%+v: %s, want %s", c.o, got, c.want)
		}
	}
	if a := (Offer{Remote: netip.MustParseAddrPort("127.0.0.1:65535")}).RTCPAddr(); a.IsValid() {
		t.Errorf("RTCP past port 65535: %v", a)
	}
	// The answer accepts rtcp-mux, or says where our RTCP is.
	o := Offer{Remote: rtp, Law: g711.ULaw, RTCPMux: true}
	local := netip.MustParseAddrPort("127.0.0.1:20000")
	if a := string(Answer(o, local, 1, 1)); !strings.Contains(a, "a=rtcp-mux\r\n") {
		t.Errorf("muxed answer:\n%s", a)
	}
	o.RTCPMux = false
	if a := string(Answer(o, local, 1, 1)); !strings.Contains(a, "a=rtcp:20001\r\n") || strings.Contains(a, "rtcp-mux") {
		t.Errorf("answer:\n%s", a)
	}
}

func FuzzNegotiate(f *testing.F) {
	f.Add(sippOffer)
	f.Add(baresipOffer)
	f.Add([]byte("v=0\r\nm=audio 1 RTP/AVP 0\r\n"))
	f.Add(srtpOffer)
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := Negotiate(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotAcceptable) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		if o.Secure {
			o.LocalCrypto = o.Crypto // as the trunk fills it in: its tag and suite, a key, no MKI
			o.LocalCrypto.MKI, o.LocalCrypto.MKILen = 0, 0
		}
		back, err := Negotiate(Answer(o, netip.MustParseAddrPort("127.0.0.1:20000"), 1, 1))
		if err != nil {
			t.Fatalf("answer to an accepted offer does not parse: %v", err)
		}
		if back.Secure != o.Secure || back.Crypto != o.LocalCrypto {
			t.Fatalf("the answer's keys read back as %v, want %v", back.Crypto, o.LocalCrypto)
		}
	})
}

func TestOfferAndAnswer(t *testing.T) {
	local := netip.MustParseAddrPort("127.0.0.1:30000")
	offer := MakeOffer(local, 7, 1)
	o, err := Negotiate(offer)
	if err != nil {
		t.Fatalf("our offer does not parse: %v\n%s", err, offer)
	}
	if o.Remote != local || o.Law != g711.ULaw || o.EventPT != OfferEventPT || o.RTCPAddr().Port() != 30001 {
		t.Fatalf("our offer reads as %+v", o)
	}
	// The far end picks PCMA.
	o.Law, o.AudioPT = g711.ALaw, 8
	got, err := ReadAnswer(Answer(o, netip.MustParseAddrPort("127.0.0.2:40000"), 1, 1))
	if err != nil || got.Law != g711.ALaw || got.AudioPT != 8 || got.EventPT != OfferEventPT || got.Remote.Port() != 40000 {
		t.Fatalf("answer: %+v, %v", got, err)
	}
	for name, ans := range map[string][]byte{
		"dynamic audio type": sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 97", "a=rtpmap:97 PCMU/8000"),
		"other event type": sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000"),
		"junk": []byte("nope"),
	} {
		if _, err := ReadAnswer(ans); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
