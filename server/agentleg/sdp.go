package agentleg

// This file reads the peer's session description: whether it has usable
// audio, and whether the peer sends it.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// errNoCodec and errNoAudio say why a description was refused.
var (
	errNoAudio = errors.New("no audio section; the agent must offer audio")
	errNoCodec = errors.New("neither PCMU/8000 nor opus/48000/2 in the audio section; the agent must offer one of them")
)

// checkAudio parses a description and checks that an audio section offers
// PCMU (static payload type 0 or an rtpmap to PCMU/8000) or Opus (an
// rtpmap to opus/48000/2). sends is whether the peer sends audio in that
// section: its direction (or the session's; sendrecv when neither says)
// is sendrecv or sendonly.
func checkAudio(s string) (sends bool, err error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(s); err != nil {
		return false, fmt.Errorf("unparsable SDP: %w", err)
	}
	dir := direction(sd.Attributes, "sendrecv")
	audio := false
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		audio = true
		d := direction(m.Attributes, dir)
		sends := d == "sendrecv" || d == "sendonly"
		for _, f := range m.MediaName.Formats {
			if f == "0" {
				return sends, nil
			}
		}
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			if v := strings.ToUpper(a.Value); strings.Contains(v, " PCMU/8000") || strings.Contains(v, " OPUS/48000/2") {
				return sends, nil
			}
		}
	}
	if !audio {
		return false, errNoAudio
	}
	return false, errNoCodec
}

// direction is the direction attribute among attrs, or def when there is
// none.
func direction(attrs []sdp.Attribute, def string) string {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return def
}

// PeerSends reports whether the peer's description (its offer or answer)
// has it send audio (sendrecv or sendonly): a supervisor who offered
// receive-only has nothing to whisper with. False before the description.
func (l *Leg) PeerSends() bool { return l.sends.Load() }
