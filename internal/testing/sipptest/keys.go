package sipptest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
)

// Key is one key press a caller makes: Digit (0-9, *, #, A-D) from At for
// Dur into the call's audio.
type Key struct {
	Digit   byte
	At, Dur time.Duration
}

// Type is a caller typing keys: each of digits in turn, on for on and off
// for off, from start; a space in digits is a pause of one second.
func Type(digits string, start, on, off time.Duration) []Key {
	var keys []Key
	at := start
	for i := range len(digits) {
		if digits[i] == ' ' {
			at += time.Second
			continue
		}
		keys = append(keys, Key{Digit: digits[i], At: at, Dur: on})
		at += on + off
	}
	return keys
}

// End is when the last key ends.
func End(keys []Key) time.Duration {
	var e time.Duration
	for _, k := range keys {
		e = max(e, k.At+k.Dur)
	}
	return e
}

var dtmfFreqs = map[byte][2]float64{
	'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477}, 'A': {697, 1633},
	'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477}, 'B': {770, 1633},
	'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477}, 'C': {852, 1633},
	'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477}, 'D': {941, 1633},
}

// eventCodes are RFC 4733's event codes.
var eventCodes = map[byte]byte{
	'0': 0, '1': 1, '2': 2, '3': 3, '4': 4, '5': 5, '6': 6, '7': 7, '8': 8, '9': 9,
	'*': 10, '#': 11, 'A': 12, 'B': 13, 'C': 14, 'D': 15,
}

// Tone is total of a sine at hz, amp its peak (a 16-bit sample's scale),
// 8 kHz.
func Tone(total time.Duration, hz, amp float64) []int16 {
	pcm := make([]int16, int(total.Seconds()*8000))
	for i := range pcm {
		pcm[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	return pcm
}

// humAmp is the quiet background's peak: -40 dBm0, so the line is never
// digital silence.
const humAmp = 227

// InBand is total of caller audio with keys as in-band DTMF tones (each
// frequency at -10 dBm0) over a quiet background (a 150 Hz hum at -40
// dBm0, so the line is never digital silence).
func InBand(keys []Key, total time.Duration) []int16 {
	pcm := Tone(total, 150, humAmp)
	n := len(pcm)
	const amp = 7180 // -10 dBm0
	for _, k := range keys {
		f := dtmfFreqs[k.Digit]
		s := int(k.At.Seconds() * 8000)
		e := min(n, s+int(k.Dur.Seconds()*8000))
		for i := s; i < e; i++ {
			t := float64(i-s) / 8000
			pcm[i] = int16(amp*math.Sin(2*math.Pi*f[0]*t) + amp*math.Sin(2*math.Pi*f[1]*t))
		}
	}
	return pcm
}

// WriteRFC4733PCAP writes total of a caller's RTP as a pcap for sipp's
// play_pcap_audio: mu-law background audio (as InBand's, without tones),
// and each key as RFC 4733 events (payload type 101) in place of the
// audio while it is down, sent every 20 ms with the end packet three
// times, as phones send them.
func WriteRFC4733PCAP(path string, keys []Key, total time.Duration) error {
	return WriteRFC4733PCAPOver(path, keys, InBand(nil, total))
}

// WriteRFC4733PCAPOver is WriteRFC4733PCAP over the background audio bg
// (8 kHz linear), as long as bg.
func WriteRFC4733PCAPOver(path string, keys []Key, bg []int16) error {
	ulaw := make([]byte, len(bg))
	g711.EncodeULawTo(ulaw, bg)
	var pkts []pcapPacket
	seq := uint16(0)
	add := func(us int64, p rtp.Packet) {
		p.Version, p.SSRC, p.SequenceNumber = 2, 0x1234, seq
		seq++
		pkts = append(pkts, pcapPacket{us: us, p: p})
	}
	frames := len(ulaw) / mix.FrameSamples
	for f := 0; f < frames; f++ {
		us := int64(f) * 20000
		ts := uint32(f * mix.FrameSamples)
		var down *Key
		for i := range keys {
			s := int(keys[i].At.Seconds() * mix.SampleRate / mix.FrameSamples)
			e := s + int(keys[i].Dur.Seconds()*mix.SampleRate/mix.FrameSamples)
			if f >= s && f < e {
				down = &keys[i]
				if f == e-1 { // the key's last frame: its end, three times
					for range 3 {
						add(us, eventPacket(*down, s, f, true))
					}
				} else {
					add(us, eventPacket(*down, s, f, false))
				}
			}
		}
		if down == nil {
			add(us, rtp.Packet{Header: rtp.Header{PayloadType: 0, Timestamp: ts}, Payload: ulaw[f*mix.FrameSamples : (f+1)*mix.FrameSamples]})
		}
	}
	return writePCAP(path, pkts)
}

func eventPacket(k Key, startFrame, frame int, end bool) rtp.Packet {
	dur := uint16((frame - startFrame + 1) * mix.FrameSamples)
	flags := byte(10) // volume -10 dBm0
	if end {
		flags |= 0x80
	}
	return rtp.Packet{
		Header:  rtp.Header{PayloadType: 101, Timestamp: uint32(startFrame * mix.FrameSamples), Marker: frame == startFrame && !end},
		Payload: []byte{eventCodes[k.Digit], flags, byte(dur >> 8), byte(dur)},
	}
}

type pcapPacket struct {
	us int64
	p  rtp.Packet
}

// writePCAP writes RTP packets, each at its time, as a pcap (Ethernet,
// IPv4, UDP, RTP), the way sipp's play_pcap_audio wants them.
func writePCAP(path string, pkts []pcapPacket) error {
	var b bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1) // Ethernet
	b.Write(hdr)
	for _, pk := range pkts {
		r, err := pk.p.Marshal()
		if err != nil {
			return fmt.Errorf("sipptest: %w", err)
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
		us := 1_000_000_000 + pk.us // the capture starts at second 1000
		le.PutUint32(rec[0:], uint32(us/1000000))
		le.PutUint32(rec[4:], uint32(us%1000000))
		le.PutUint32(rec[8:], uint32(len(frame)))
		le.PutUint32(rec[12:], uint32(len(frame)))
		b.Write(rec)
		b.Write(frame)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("sipptest: %w", err)
	}
	return nil
}

// CallPCAP has sipp place one call to sipAddr that plays the pcap at
// pcapPath (WritePCAP, WriteRFC4733PCAP) and hangs up hangup after the
// call is answered; it returns once sipp is done (within ctx). A call the
// server ends first (the agent hung up) is not a failure.
func CallPCAP(ctx context.Context, t testing.TB, sipAddr, pcapPath string, hangup time.Duration) error {
	t.Helper()
	sipp := Sipp(t)
	dir := t.TempDir()
	b, err := os.ReadFile(pcapPath)
	if err != nil {
		return fmt.Errorf("sipptest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "caller.pcap"), b, 0o600); err != nil {
		return fmt.Errorf("sipptest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "caller.xml"), AnsweredScenario(int(hangup.Milliseconds())), 0o600); err != nil {
		return fmt.Errorf("sipptest: %w", err)
	}
	cmd := exec.CommandContext(ctx, sipp, "-sf", "caller.xml", "-s", "hushphone", "-m", "1", "-i", "127.0.0.1",
		"-p", FreePort(t), "-mp", FreePort(t), "-timeout", strconv.Itoa(int(hangup.Seconds())+30)+"s", "-nostdin", sipAddr)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sipptest: sipp: %w\n%s", err, out)
	}
	return nil
}

// AnsweredScenario is a sipp scenario (for -sf) like CallerScenario that
// also takes the server's BYE: it plays caller.pcap, then waits up to
// pauseMs for a BYE (answering 200), and otherwise hangs up itself.
func AnsweredScenario(pauseMs int) []byte {
	s := CallerScenario(pauseMs)
	i := bytes.Index(s, []byte("  <pause milliseconds="))
	j := bytes.Index(s, []byte("  <send retrans=\"500\"><![CDATA[\nBYE"))
	if i < 0 || j < 0 {
		return s
	}
	var b bytes.Buffer
	b.Write(s[:i])
	fmt.Fprintf(&b, `  <recv request="BYE" timeout="%d" ontimeout="1"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
]]></send>
  <pause milliseconds="0" next="2"/>
  <label id="1"/>
`, pauseMs)
	end := bytes.Index(s, []byte("</scenario>"))
	b.Write(s[j:end])
	b.WriteString("  <label id=\"2\"/>\n</scenario>\n")
	return b.Bytes()
}

// WritePCAPFromPCM is WritePCAP for 8 kHz linear audio, sent as mu-law.
func WritePCAPFromPCM(path string, pcm []int16) error {
	ulaw := make([]byte, len(pcm))
	g711.EncodeULawTo(ulaw, pcm)
	return WritePCAP(path, ulaw)
}
