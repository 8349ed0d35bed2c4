// Command paycaller is a caller for trying secure pay: it has sipp call a
// Hushphone server and type a card on the keypad, as in-band tones or as
// RFC 4733 events, starting a few seconds after an agent answers (time
// for the agent to start the payment), then waits for the agent to hang
// up. It needs sipp (Debian's sip-tester). `make demo-pay` runs it
// against `make run` with a headless agent taking the payment.
//
//	go run ./tools/paycaller [--sip 127.0.0.1:5060] [--type 4242424242424242#0931737] [--rfc4733] [--after 3s]
package main

import (
	"context"
	"flag"
	"fmt"
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
	if err := run(*sip, *keys, *rfc, *after, *wait); err != nil {
		fmt.Fprintf(os.Stderr, "paycaller: %v\n", err)
		os.Exit(1)
	}
}

func run(sip, typed string, rfc bool, after, wait time.Duration) error {
	for i := range len(typed) {
		if c := typed[i]; (c < '0' || c > '9') && c != '*' && c != '#' && c != ' ' {
			return fmt.Errorf("--type: %q is not a keypad key", c)
		}
	}
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
	total := sipptest.End(ks) + time.Second
	pcap := filepath.Join(dir, "caller.pcap")
	if rfc {
		err = sipptest.WriteRFC4733PCAP(pcap, ks, total)
	} else {
		err = sipptest.WritePCAPFromPCM(pcap, sipptest.InBand(ks, total))
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "caller.xml"), sipptest.AnsweredScenario(int((total + wait).Milliseconds())), 0o600); err != nil {
		return fmt.Errorf("scenario: %w", err)
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
