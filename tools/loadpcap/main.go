// Command loadpcap writes what build/load-call-path.sh's sipp callers play:
// caller.pcap, SECONDS of mu-law RTP (a speech-like warble with an in-band
// DTMF key every 10 s, so the Masker has key presses to replace), and
// caller.xml, internal/testing/sipptest's caller scenario, which hangs up once it has
// played them.
//
//	go run ./tools/loadpcap -seconds 60 -dir DIR
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/g711"
)

func main() {
	os.Exit(run())
}

func run() int {
	secs := flag.Int("seconds", 60, "seconds of caller audio")
	dir := flag.String("dir", ".", "folder for caller.pcap and caller.xml")
	flag.Parse()
	if *secs < 1 {
		fmt.Fprintln(os.Stderr, "loadpcap: -seconds must be 1 or more")
		return 2
	}
	lin := audio(*secs)
	ulaw := make([]byte, len(lin))
	g711.EncodeULawTo(ulaw, lin)
	if err := sipptest.WritePCAP(filepath.Join(*dir, "caller.pcap"), ulaw); err != nil {
		fmt.Fprintln(os.Stderr, "loadpcap:", err)
		return 1
	}
	// sipp plays the pcap in the background: pause as long, and a little
	// more, before the BYE.
	if err := os.WriteFile(filepath.Join(*dir, "caller.xml"), sipptest.CallerScenario(*secs*1000+300), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "loadpcap:", err)
		return 1
	}
	return 0
}

// audio is secs seconds at 8 kHz: a voiced warble (a wandering pitch and
// its harmonics, in syllable-long bursts) at about -20 dBm0, and every 10 s
// a 120 ms DTMF key (digits 1 to 9 in turn).
func audio(secs int) []int16 {
	const rate = 8000
	dtmf := [9][2]float64{
		{697, 1209}, {697, 1336}, {697, 1477},
		{770, 1209}, {770, 1336}, {770, 1477},
		{852, 1209}, {852, 1336}, {852, 1477},
	}
	out := make([]int16, secs*rate)
	phase := 0.0
	for i := range out {
		t := float64(i) / rate
		sec := i / rate
		if k := (sec / 10) % 9; sec%10 == 5 && i%rate < rate*120/1000 {
			f := dtmf[k]
			out[i] = int16(4000 * (math.Sin(2*math.Pi*f[0]*t) + math.Sin(2*math.Pi*f[1]*t)))
			continue
		}
		f0 := 120 + 40*math.Sin(2*math.Pi*0.7*t)
		phase += 2 * math.Pi * f0 / rate
		env := math.Max(0, math.Sin(2*math.Pi*3*t)) // syllables, 6 a second
		v := math.Sin(phase) + 0.5*math.Sin(2*phase) + 0.3*math.Sin(3*phase) + 0.2*math.Sin(5*phase)
		out[i] = int16(2500 * env * v)
	}
	return out
}
