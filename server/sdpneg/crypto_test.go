package sdpneg

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
)

// key30Bytes is a master key and salt for the 128-bit AES_CM suites, and
// key30 the same in base64, as a=crypto carries it.
var (
	key30Bytes = []byte("0123456789abcdef0123456789abcd")
	key30      = base64.StdEncoding.EncodeToString(key30Bytes)
	key46      = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 46))
	key28      = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 28))
)

// srtpOffer is an RTP/SAVP offer as baresip's srtp-mand sends it: its
// first line a suite we do not take, then AES_CM_128_HMAC_SHA1_80.
var srtpOffer = sdpText(
	"v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
	"m=audio 6000 RTP/SAVP 0 101",
	"a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000",
	"a=crypto:1 F8_128_HMAC_SHA1_80 inline:"+key30,
	"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:"+key30,
	"a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:"+key30)

func TestParseCrypto(t *testing.T) {
	for _, c := range []struct {
		value string
		want  Crypto
		ok    bool
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, Crypto{Tag: 1, Suite: AESCM128HMACSHA180, Key: NewKey(key30Bytes)}, true},
		{"7 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^31", Crypto{Tag: 7, Suite: AESCM128HMACSHA132, Key: NewKey(key30Bytes)}, true},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4", Crypto{Tag: 1, Suite: AESCM128HMACSHA180, Key: NewKey(key30Bytes), MKI: 1, MKILen: 4}, true},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|258:2", Crypto{Tag: 1, Suite: AESCM128HMACSHA180, Key: NewKey(key30Bytes), MKI: 258, MKILen: 2}, true},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + strings.TrimRight(key30, "=") + " WSH=64", Crypto{Tag: 1, Suite: AESCM128HMACSHA180, Key: NewKey(key30Bytes)}, true},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " -FOO=1", Crypto{Tag: 1, Suite: AESCM128HMACSHA180, Key: NewKey(key30Bytes)}, true},
		{"3 AES_256_CM_HMAC_SHA1_80 inline:" + key46, Crypto{Tag: 3, Suite: AES256CMHMACSHA180, Key: NewKey(bytes.Repeat([]byte{7}, 46))}, true},
		{"4 AEAD_AES_128_GCM inline:" + key28, Crypto{Tag: 4, Suite: AEADAES128GCM, Key: NewKey(bytes.Repeat([]byte{9}, 28))}, true},
		// Passed over.
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNENCRYPTED_SRTP", Crypto{}, false},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNAUTHENTICATED_SRTP", Crypto{}, false},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNENCRYPTED_SRTCP", Crypto{}, false},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " KDR=1", Crypto{}, false},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " FOO=1", Crypto{}, false},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:1;inline:" + key30 + "|2:1", Crypto{}, false},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:9", Crypto{}, false},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|256:1", Crypto{}, false},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^x", Crypto{}, false},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key46, Crypto{}, false},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:!!!", Crypto{}, false},
		{"1 AES_CM_128_HMAC_SHA1_80 uri:" + key30, Crypto{}, false},
		{"0 AES_CM_128_HMAC_SHA1_80 inline:" + key30, Crypto{}, false},
		{"1000000000 AES_CM_128_HMAC_SHA1_80 inline:" + key30, Crypto{}, false},
		{"1 NULL_HMAC_SHA1_80 inline:" + key30, Crypto{}, false},
		{"1 AES_CM_128_HMAC_SHA1_80", Crypto{}, false},
	} {
		got, err := parseCrypto(c.value)
		if c.ok != (err == nil) || got != c.want {
			t.Errorf("%q: %v (%v), want %v", c.value, got, err, c.want)
		}
		if err != nil && !errors.Is(err, errCrypto) {
			t.Errorf("%q: error of no kind: %v", c.value, err)
		}
	}
	if b := (Crypto{MKI: 258, MKILen: 3}).MKIBytes(); !bytes.Equal(b, []byte{0, 1, 2}) {
		t.Errorf("MKI bytes %v", b)
	}
}

// TestSRTPProfiles: which profiles NegotiateWith takes, and that an SRTP
// answer holds our key (and the plain one none).
func TestSRTPProfiles(t *testing.T) {
	for _, c := range []struct {
		offer    []byte
		profiles Profiles
		ok       bool
	}{
		{srtpOffer, AnyProfile, true}, {srtpOffer, SAVPOnly, true}, {srtpOffer, AVPOnly, false},
		{sippOffer, AnyProfile, true}, {sippOffer, AVPOnly, true}, {sippOffer, SAVPOnly, false},
	} {
		_, err := NegotiateWith(c.offer, c.profiles)
		if c.ok != (err == nil) || err != nil && !errors.Is(err, ErrNotAcceptable) {
			t.Errorf("profiles %d: %v", c.profiles, err)
		}
	}
	// Two audio streams, plain then SRTP: each policy takes its own.
	both := sdpText("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
		"m=audio 6000 RTP/AVP 0", "m=audio 6002 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key30)
	if o, err := NegotiateWith(both, SAVPOnly); err != nil || !o.Secure || o.Remote.Port() != 6002 {
		t.Errorf("SRTP only: %v %v", o, err)
	}
	if o, err := NegotiateWith(both, AVPOnly); err != nil || o.Secure || o.Remote.Port() != 6000 {
		t.Errorf("plain only: %v %v", o, err)
	}

	o, err := Negotiate(srtpOffer)
	if err != nil {
		t.Fatal(err)
	}
	ours := bytes.Repeat([]byte{0x5a}, 30)
	o.LocalCrypto = Crypto{Tag: o.Crypto.Tag, Suite: o.Crypto.Suite, Key: NewKey(ours)}
	local := netip.MustParseAddrPort("127.0.0.1:20000")
	ans := Answer(o, local, 1, 1)
	want := "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(ours) + "\r\n"
	if !strings.Contains(string(ans), "m=audio 20000 RTP/SAVP 0 101\r\n") || !strings.Contains(string(ans), want) || strings.Count(string(ans), "a=crypto") != 1 {
		t.Fatalf("SRTP answer:\n%s", ans)
	}
	back, err := NegotiateWith(ans, SAVPOnly)
	if err != nil || back.Crypto != o.LocalCrypto {
		t.Fatalf("the answer reads back as %v, %v", back, err)
	}
	plain, _ := Negotiate(sippOffer)
	if a := string(Answer(plain, local, 1, 1)); strings.Contains(a, "crypto") || strings.Contains(a, "SAVP") {
		t.Fatalf("plain answer:\n%s", a)
	}
}

// TestSRTPOfferAndAnswer: our SRTP offer, and what ReadAnswer takes back:
// an answer naming our line, and nothing else.
func TestSRTPOfferAndAnswer(t *testing.T) {
	local := netip.MustParseAddrPort("127.0.0.1:30000")
	ours := Crypto{Tag: 1, Suite: AESCM128HMACSHA180, Key: NewKey(bytes.Repeat([]byte{1}, 30))}
	offer := MakeOffer(local, 7, 1, ours)
	o, err := NegotiateWith(offer, SAVPOnly)
	if err != nil || o.Crypto != ours {
		t.Fatalf("our SRTP offer reads as %v, %v\n%s", o, err, offer)
	}
	theirs := Crypto{Tag: 1, Suite: AESCM128HMACSHA180, Key: NewKey(bytes.Repeat([]byte{2}, 30))}
	o.LocalCrypto = theirs
	got, err := ReadAnswer(Answer(o, netip.MustParseAddrPort("127.0.0.2:40000"), 1, 1), ours)
	if err != nil || !got.Secure || got.Crypto != theirs || got.LocalCrypto != ours {
		t.Fatalf("SRTP answer: %v, %v", got, err)
	}
	// A plain answer to an SRTP offer, an SRTP answer to a plain one, an
	// answer naming a line not offered: refused.
	plainAns := Answer(Offer{Law: o.Law, AudioPT: 0}, netip.MustParseAddrPort("127.0.0.2:40000"), 1, 1)
	if _, err := ReadAnswer(plainAns, ours); !errors.Is(err, ErrNotAcceptable) {
		t.Errorf("plain answer to an SRTP offer: %v", err)
	}
	if _, err := ReadAnswer(Answer(o, netip.MustParseAddrPort("127.0.0.2:40000"), 1, 1)); !errors.Is(err, ErrNotAcceptable) {
		t.Errorf("SRTP answer to a plain offer: %v", err)
	}
	o.LocalCrypto.Tag = 9
	if _, err := ReadAnswer(Answer(o, netip.MustParseAddrPort("127.0.0.2:40000"), 1, 1), ours); !errors.Is(err, ErrNotAcceptable) {
		t.Errorf("an answer naming a line not offered: %v", err)
	}
}

// TestKeysNeverPrint: however an Offer or its keys are printed or logged,
// the key's bytes are not there.
func TestKeysNeverPrint(t *testing.T) {
	o, err := Negotiate(srtpOffer)
	if err != nil {
		t.Fatal(err)
	}
	o.LocalCrypto = o.Crypto
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("offer", "offer", o, "key", o.Crypto.Key, "crypto", o.Crypto)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("offer", "offer", o, "key", o.Crypto.Key, "crypto", o.Crypto)
	out := logged.String()
	for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%X", "%s", "%q"} {
		out += fmt.Sprintf(verb, o) + fmt.Sprintf(verb, o.Crypto) + fmt.Sprintf(verb, o.Crypto.Key)
	}
	raw := string(key30Bytes)
	for _, enc := range []string{raw, key30, strings.TrimRight(key30, "="), fmt.Sprintf("%x", raw), fmt.Sprintf("%X", raw), fmt.Sprintf("%d", key30Bytes), raw[:8]} {
		if strings.Contains(out, enc) {
			t.Fatalf("the key is printed (as %q):\n%s", enc, out)
		}
	}
	if !strings.Contains(out, "[key]") {
		t.Fatalf("printed without its placeholder:\n%s", out)
	}
}

func FuzzParseCrypto(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4 WSH=64")
	f.Add("1 AEAD_AES_128_GCM inline:" + key28)
	f.Fuzz(func(t *testing.T, v string) {
		c, err := parseCrypto(v)
		if err != nil {
			if !errors.Is(err, errCrypto) {
				t.Fatalf("error of no kind: %v", err)
			}
			return
		}
		if c.Key.Len() != c.Suite.KeyLen() || c.Tag == 0 {
			t.Fatalf("accepted %v", c)
		}
		// What we write reads back the same (less any MKI, which ours lack).
		back, err := parseCrypto(c.attribute())
		c.MKI, c.MKILen = 0, 0
		if err != nil || back != c {
			t.Fatalf("%q reads back as %v, %v", c.attribute(), back, err)
		}
	})
}
