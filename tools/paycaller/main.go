// Command paycaller is a caller for trying secure pay: it has sipp call a
// Hushphone server and type a card on the keypad, as in-band tones or as
// RFC 4733 events, starting a few seconds after an agent answers (time
// for the agent to start the payment), then waits for the agent to hang
// up. It needs sipp (Debian's sip-tester). `make demo-pay` runs it
// against `make run` with a headless agent taking the payment.
//
//	go run ./tools/paycaller [--sip 127.0.0.1:5060] [--type 4242424242424242#0931737] [--rfc4733] [--after 3s]
//
// With --write DIR it only writes the call for a sipp run elsewhere (the
// console's smoke runs, build/console-smoke/): DIR/caller.pcap (the
// caller's audio, at least --length long, with the keys in it) and
// DIR/caller.xml (the scenario: it plays caller.pcap once answered, takes
// the server's BYE for --wait after it, then hangs up itself). --tone HZ
// and --tone-dbfs set the caller's audio to a tone instead of the quiet
// hum (keys then go as RFC 4733 events).
//
//	go run ./tools/paycaller --write DIR [--type KEYS --after 18s --rfc4733] [--length 16s] [--wait 2s] [--tone 300 --tone-dbfs -12]
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
)

func main() {
	sip := flag.String("sip", "127.0.0.1:5060", "the server's SIP address")
	keys := flag.String("type", "4242424242424242#0931737", "the keys the caller types (0-9, *, #; a space pauses 1 s)")
	rfc := flag.Bool("rfc4733", false, "send the keys as RFC 4733 events instead of in-band tones")
	after := flag.Duration("after", 3*time.Second, "how long after the answer the caller starts typing")
	wait := flag.Duration("wait", 30*time.Second, "how long the caller stays on after typing, if the agent does not hang up")
	free := flag.Bool("free-port", false, "print a loopback port free over UDP and TCP (for a server's --sip or --http) and exit")
	write := flag.String("write", "", "write caller.pcap and caller.xml into this folder for a sipp run elsewhere, and exit")
	length := flag.Duration("length", 0, "with --write: the caller's audio is at least this long")
	toneHz := flag.Float64("tone", 0, "with --write: the caller's audio is a tone at this frequency (Hz) instead of the quiet hum")
	toneDB := flag.Float64("tone-dbfs", -12, "with --write and --tone: the tone's level in dBFS")
	flag.Parse()
	if *free {
		p, err := freeBoth()
		if err != nil {
			fmt.Fprintf(os.Stderr, "paycaller: %v\n", err)
			os.Exit(1)
		}
		fmt.Println(p)
		return
	}
	if *write != "" {
		if _, err := writeCall(*write, *keys, *rfc, *after, *wait, *length, *toneHz, *toneDB); err != nil {
			fmt.Fprintf(os.Stderr, "paycaller: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*sip, *keys, *rfc, *after, *wait); err != nil {
		fmt.Fprintf(os.Stderr, "paycaller: %v\n", err)
		os.Exit(1)
	}
}

func checkKeys(typed string) error {
	for i := range len(typed) {
		if c := typed[i]; (c < '0' || c > '9') && c != '*' && c != '#' && c != ' ' {
			return fmt.Errorf("--type: %q is not a keypad key", c)
		}
	}
	return nil
}

// writeCall writes dir/caller.pcap, the caller typing typed from after
// (as in-band tones over the hum, or RFC 4733 events over the hum or over
// a tone at toneHz, toneDB dBFS), at least length long, and
// dir/caller.xml, which waits wait after the audio for the server's BYE.
// It returns the audio's length.
func writeCall(dir, typed string, rfc bool, after, wait, length time.Duration, toneHz, toneDB float64) (time.Duration, error) {
	if err := checkKeys(typed); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("folder: %w", err)
	}
	ks := sipptest.Type(typed, after, 100*time.Millisecond, 100*time.Millisecond)
	total := length
	if len(ks) > 0 {
		total = max(total, sipptest.End(ks)+time.Second)
	}
	pcap := filepath.Join(dir, "caller.pcap")
	var err error
	switch {
	case toneHz != 0:
		err = sipptest.WriteRFC4733PCAPOver(pcap, ks, sipptest.Tone(total, toneHz, 32767*math.Pow(10, toneDB/20)))
	case rfc:
		err = sipptest.WriteRFC4733PCAP(pcap, ks, total)
	default:
		err = sipptest.WritePCAPFromPCM(pcap, sipptest.InBand(ks, total))
	}
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "caller.xml"), sipptest.AnsweredScenario(int((total + wait).Milliseconds())), 0o600); err != nil {
		return 0, fmt.Errorf("scenario: %w", err)
	}
	return total, nil
}

func run(sip, typed string, rfc bool, after, wait time.Duration) error {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		return fmt.Errorf("sipp is missing (apt-get install sip-tester): %w", err)
	}
	dir, err := os.MkdirTemp("", "paycaller-")
	if err != nil {
		return fmt.Errorf("temporary folder: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	ks := sipptest.Type(typed, after, 100*time.Millisecond, 100*time.Millisecond)
	total, err := writeCall(dir, typed, rfc, after, wait, 0, 0, 0)
	if err != nil {
		return err
	}
	p1, err := freePort()
	if err != nil {
		return err
	}
	p2, err := freePort()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, total+wait+30*time.Second)
	defer cancel()
	how := "in-band tones"
	if rfc {
		how = "RFC 4733 events"
	}
	fmt.Printf("calling %s; %d keys as %s from %s after the answer\n", sip, len(ks), how, after)
	cmd := exec.CommandContext(ctx, sipp, "-sf", "caller.xml", "-s", "hushphone", "-m", "1", "-i", "127.0.0.1",
		"-p", p1, "-mp", p2, "-timeout", strconv.Itoa(int((total+wait).Seconds())+20)+"s", "-nostdin", sip)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sipp: %w\n%s", err, out)
	}
	fmt.Println("the call is over")
	return nil
}

// freePort is a free loopback UDP port.
func freePort() (string, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return "", fmt.Errorf("a free port: %w", err)
	}
	defer func() { _ = c.Close() }()
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port), nil //nolint:forcetypeassert // a UDP socket's address
}

// freeBoth is a loopback port free over both UDP and TCP.
func freeBoth() (string, error) {
	for range 50 {
		p, err := freePort()
		if err != nil {
			return "", err
		}
		var lc net.ListenConfig
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:"+p)
		if err == nil {
			_ = l.Close()
			return p, nil
		}
	}
	return "", fmt.Errorf("no port free over both UDP and TCP")
}
