package trunk

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/internal/maskscore"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/server/callerleg"
)

// writePCAP writes mu-law audio as a pcap of RTP packets (20 ms each, 50
// per second), the way sipp's play_pcap_audio wants them: Ethernet, IPv4,
// UDP, RTP.
func writePCAP(t *testing.T, path string, audio []byte) {
	t.Helper()
	var b bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1) // Ethernet
	b.Write(hdr)
	for i := 0; i+160 <= len(audio); i += 160 {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i / 160), Timestamp: uint32(i), SSRC: 0x1234}, Payload: audio[i : i+160]}
		r, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		udp := make([]byte, 8)
		binary.BigEndian.PutUint16(udp[0:], 6000)
		binary.BigEndian.PutUint16(udp[2:], 6002)
		binary.BigEndian.PutUint16(udp[4:], uint16(8+len(r)))
		ip := make([]byte, 20)
		ip[0], ip[8], ip[9] = 0x45, 64, 17
		binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(r)))
		copy(ip[12:], []byte{127, 0, 0, 1})
		copy(ip[16:], []byte{127, 0, 0, 1})
		eth := make([]byte, 14)
		eth[12], eth[13] = 0x08, 0x00
		frame := append(append(append(eth, ip...), udp...), r...)
		rec := make([]byte, 16)
		us := int64(i) * 1000000 / 8000
		le.PutUint32(rec[0:], uint32(1000+us/1000000))
		le.PutUint32(rec[4:], uint32(us%1000000))
		le.PutUint32(rec[8:], uint32(len(frame)))
		le.PutUint32(rec[12:], uint32(len(frame)))
		b.Write(rec)
		b.Write(frame)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// uacScenario calls with PCMU and plays one pcap, then hangs up.
const uacScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
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

// TestSippInBandKeysAreMasked: sipp streams 8 s of the corpus's nominal
// case (speech and key presses, in-band) as the caller; what the trunk
// gives out is judged with the corpus measures, and each key is reported
// once with its digit.
func TestSippInBandKeysAreMasked(t *testing.T) {
	bin := sipp(t)
	dir, err := maskscore.CorpusDir()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	c, err := maskscore.LoadCase(dir, "nominal")
	if err != nil {
		t.Fatal(err)
	}
	// 8 s from 4.5 s: several key presses between sentences.
	from, n := 36000, 64000
	in := c.Samples[from : from+n]
	var tones []maskscore.Tone
	for _, tn := range c.Tones {
		if tn.Start >= from && tn.End <= from+n {
			tn.Start -= from
			tn.End -= from
			tones = append(tones, tn)
		}
	}
	if len(tones) < 5 {
		t.Fatalf("only %d key presses in the excerpt", len(tones))
	}
	audio := make([]byte, n)
	g711.EncodeULawTo(audio, in)

	work := t.TempDir()
	writePCAP(t, filepath.Join(work, "caller.pcap"), audio)
	scen := bytes.Replace([]byte(uacScenario), []byte("PAUSE"), []byte(strconv.Itoa(n/8+1000)), 1)
	if err := os.WriteFile(filepath.Join(work, "caller.xml"), scen, 0o644); err != nil {
		t.Fatal(err)
	}

	var out []byte
	var keys []dtmf.Event
	lat := &latencies{}
	addr, got := startTrunkWith(t, lat, func(got *answered, call *Call) {
		_ = call.Answer(func(f []byte) {
			got.mu.Lock()
			out = append(out, f...)
			got.mu.Unlock()
		}, func(e dtmf.Event) {
			got.mu.Lock()
			keys = append(keys, e)
			got.mu.Unlock()
		})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-sf", "caller.xml", "-s", "hushphone", "-m", "1", "-i", "127.0.0.1",
		"-p", strconv.Itoa(freePort(t)), "-mp", strconv.Itoa(freePort(t)), "-timeout", "40s", "-timeout_error", "-nostdin", addr)
	cmd.Dir = work
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, log.String())
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.calls) != 1 || got.calls[0].From != "0123456789" {
		t.Fatalf("calls %v", got.calls)
	}

	// What the trunk gave out, back on the input's time line.
	heard := make([]int16, len(out))
	g711.DecodeULawTo(heard, out)
	if len(heard) < n {
		t.Fatalf("%d samples out for %d in", len(heard), n)
	}
	rep, err := maskscore.Score(in, heard[:n], tones, maskscore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("through sipp and the trunk: %s", rep)
	for _, p := range rep.Problems(maskscore.DefaultLimits()) {
		t.Error(p)
	}
	var downs []byte
	for _, k := range keys {
		if k.Phase == dtmf.KeyDown {
			downs = append(downs, k.Digit)
		}
	}
	var want []byte
	for _, tn := range tones {
		if tn.Expect == maskscore.ExpectDetect {
			want = append(want, tn.Digit[0])
		}
	}
	if string(downs) != string(want) {
		t.Fatalf("keys %q, want %q", downs, want)
	}
	// The server's added latency, frame by frame: the look-ahead and the
	// processing.
	lat.mu.Lock()
	d := append([]time.Duration(nil), lat.d...)
	lat.mu.Unlock()
	if len(d) < 300 || lat.offered != 1 || lat.ended != 1 {
		t.Fatalf("metrics: %d latencies, %d offered, %d ended", len(d), lat.offered, lat.ended)
	}
	slices.Sort(d)
	p50, p99 := d[len(d)/2], d[len(d)*99/100]
	t.Logf("added latency over %d frames: p50 %v, p99 %v", len(d), p50, p99)
	if p50 < 20*time.Millisecond || p99 > 60*time.Millisecond {
		t.Errorf("added latency p50 %v p99 %v: want the 20 ms look-ahead and well under 60 ms", p50, p99)
	}
	// Independent detectors find nothing in what was given out.
	for _, d := range maskscore.Detectors() {
		base, err := d.FindSamples(ctx, maskscore.SpeechOnly(&maskscore.Case{Samples: in, Tones: tones}))
		if err != nil {
			t.Fatal(err)
		}
		found, err := d.FindSamples(ctx, heard[rep.Delay:][:n-rep.Delay])
		if err != nil {
			t.Fatal(err)
		}
		if extra := maskscore.ExtraDigits(base, found); extra != "" {
			t.Errorf("%s finds %d digit(s) beyond the speech alone", d.Name, len(extra))
		}
	}
}

// latencies records what the trunk reports, as server/metrics would.
type latencies struct {
	mu             sync.Mutex
	d              []time.Duration
	offered, ended int
}

func (l *latencies) CallOffered() { l.mu.Lock(); l.offered++; l.mu.Unlock() }

func (l *latencies) CallEnded(callerleg.Stats) { l.mu.Lock(); l.ended++; l.mu.Unlock() }

func (l *latencies) AddedLatency(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }
