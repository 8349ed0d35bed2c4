package agentleg

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestPeerSends: whether a description has the peer send audio, from the
// audio section's direction, or the session's, or sendrecv by default.
func TestPeerSends(t *testing.T) {
	base := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	audio := "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:0 PCMU/8000\r\n"
	for _, c := range []struct {
		session, media string
		want           bool
	}{
		{"", "", true},
		{"", "a=sendrecv\r\n", true},
		{"", "a=sendonly\r\n", true},
		{"", "a=recvonly\r\n", false},
		{"", "a=inactive\r\n", false},
		{"a=recvonly\r\n", "", false},
		{"a=recvonly\r\n", "a=sendrecv\r\n", true},
	} {
		got, err := checkAudio(base + c.session + audio + c.media)
		if err != nil || got != c.want {
			t.Errorf("session %q, audio %q: sends %v (%v), want %v", c.session, c.media, got, err, c.want)
		}
	}
}

// TestSupervisorOffers: a leg answering a real peer's offer knows whether
// the peer sends audio: a receive-only offer (a supervisor with no
// microphone) does not, a sendrecv one (the agent, or a supervisor with a
// microphone) does.
func TestSupervisorOffers(t *testing.T) {
	checkGoroutines(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	api := newServerAPI(t)
	for _, recvonly := range []bool{true, false} {
		ag := newAgent(t, frameBytes, pcmuOnly, nil)
		if recvonly {
			// The microphone's track goes: the transceiver is left
			// receive-only, as a supervisor's with no microphone.
			for _, s := range ag.pc.GetSenders() {
				if err := ag.pc.RemoveTrack(s); err != nil {
					t.Fatal(err)
				}
			}
		}
		leg, err := api.NewLeg(ctx, LegParams{})
		if err != nil {
			t.Fatal(err)
		}
		if leg.PeerSends() {
			t.Error("a leg with no description yet says its peer sends")
		}
		offer, err := ag.pc.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		sdp := ag.setLocal(offer, false)
		if _, err := leg.Answer(ctx, sdp); err != nil {
			t.Fatal(err)
		}
		if got := leg.PeerSends(); got == recvonly {
			t.Errorf("a receive-only offer %v (a=recvonly in it: %v): PeerSends %v", recvonly, strings.Contains(sdp, "a=recvonly"), got)
		}
		_ = leg.Close()
		ag.close()
	}
}

// TestMDNSCandidateTaken: a browser's host candidate under an mDNS name
// is taken like any other (the leg resolves it; a test cannot, on
// loopback).
func TestMDNSCandidateTaken(t *testing.T) {
	if err := CheckCandidate("candidate:1 1 udp 2122260223 4c5e0f61-1f0b-4b8e-9c7a-0e2bd4f2e1a7.local 54321 typ host generation 0"); err != nil {
		t.Fatal(err)
	}
}
