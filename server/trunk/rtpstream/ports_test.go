package rtpstream

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
)

// TestRTPPortRange: with a range, RTP and RTCP ports come from it as even
// and odd pairs until it is used up; then a clear error.
func TestRTPPortRange(t *testing.T) {
	lo := uint16(12000 + (os.Getpid()%1000)*8) // 8 ports below the ephemeral range, apart for parallel runs
	hi := lo + 5                               // pairs at lo, lo+2, lo+4
	ip := netip.MustParseAddr("127.0.0.1")
	var conns []*net.UDPConn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	seen := map[int]bool{}
	for range 3 {
		rtp, rtcp, err := listenRTP(ip, true, lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, rtp, rtcp)
		p := rtp.LocalAddr().(*net.UDPAddr).Port
		q := rtcp.LocalAddr().(*net.UDPAddr).Port
		if p%2 != 0 || q != p+1 || p < int(lo) || q > int(hi) || seen[p] {
			t.Fatalf("ports %d and %d from %d-%d (had %v)", p, q, lo, hi, seen)
		}
		seen[p] = true
	}
	if _, _, err := listenRTP(ip, true, lo, hi); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("a fourth pair from a range of three: %v, want ErrNoPorts", err)
	}
	if _, _, err := listenRTP(ip, false, lo+1, lo+1); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("a range with no even port: %v, want ErrNoPorts", err)
	}
}
