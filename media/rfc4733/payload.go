package rfc4733

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PayloadSize is the size in bytes of one telephone-event report.
const PayloadSize = 4

// MaxVolume is the largest power level the 6-bit volume field can carry
// (-63 dBm0).
const MaxVolume = 63

// Errors returned by Unmarshal and MarshalTo, always wrapped with context;
// test for them with errors.Is.
var (
	// ErrShortPayload: the payload holds fewer than PayloadSize bytes.
	ErrShortPayload = errors.New("rfc4733: telephone-event payload too short")
	// ErrVolume: the volume does not fit the 6-bit field (0-63).
	ErrVolume = errors.New("rfc4733: volume out of range")
	// ErrBufferTooSmall: the destination has room for fewer than PayloadSize bytes.
	ErrBufferTooSmall = errors.New("rfc4733: buffer too small")
)

// Payload is one telephone-event payload (RFC 4733 section 2.3):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Payload struct {
	Event    uint8  // 0-15 are DTMF 0-9 * # A-D
	End      bool   // the E bit: this report closes the event
	Volume   uint8  // 0-63, power level in -dBm0
	Duration uint16 // in timestamp units (8000 Hz for telephone-event/8000)
}

// Unmarshal parses the first event report in b.
//
// A payload shorter than PayloadSize is an error. Bytes after the first
// report are ignored: RFC 4733 section 2.5.1.5 lets a sender put several
// reports in one packet, but DTMF senders do not in practice, and every
// report of a telephone event is repeated in later packets anyway (updates
// and three end packets), so the first report is the one that matters. A
// caller that wants the others can call Unmarshal on b[PayloadSize*i:].
// The reserved R bit is ignored, as the RFC asks of receivers.
func (p *Payload) Unmarshal(b []byte) error {
	if len(b) < PayloadSize {
		return fmt.Errorf("%w: got %d bytes, need %d: check that the RTP payload type is telephone-event",
			ErrShortPayload, len(b), PayloadSize)
	}
	p.Event = b[0]
	p.End = b[1]&0x80 != 0
	p.Volume = b[1] & 0x3f
	p.Duration = binary.BigEndian.Uint16(b[2:4])
	return nil
}

// MarshalTo writes p into the first PayloadSize bytes of b, with the
// reserved bit zero, and returns the number of bytes written.
func (p Payload) MarshalTo(b []byte) (int, error) {
	if len(b) < PayloadSize {
		return 0, fmt.Errorf("%w: got %d bytes, need %d", ErrBufferTooSmall, len(b), PayloadSize)
	}
	if p.Volume > MaxVolume {
		return 0, fmt.Errorf("%w: %d, the field holds 0-%d (-dBm0)", ErrVolume, p.Volume, MaxVolume)
	}
	b[0] = p.Event
	b[1] = p.Volume
	if p.End {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:4], p.Duration)
	return PayloadSize, nil
}

// Marshal returns p encoded in a new PayloadSize-byte slice.
func (p Payload) Marshal() ([]byte, error) {
	b := make([]byte, PayloadSize)
	if _, err := p.MarshalTo(b); err != nil {
		return nil, err
	}
	return b, nil
}

// digits are the sixteen DTMF keys in event-code order (RFC 4733 section 3.2).
const digits = "0123456789*#ABCD"

// EventDigit returns the DTMF key of an event code: 0-15 map to
// "0123456789*#ABCD"; any other code is not DTMF and gives ok false.
func EventDigit(code uint8) (digit byte, ok bool) {
	if int(code) >= len(digits) {
		return 0, false
	}
	return digits[code], true
}

// DigitEvent returns the event code of a DTMF key, one of "0123456789*#ABCD"
// (a-d are accepted for A-D).
func DigitEvent(digit byte) (code uint8, ok bool) {
	switch {
	case digit >= '0' && digit <= '9':
		return digit - '0', true
	case digit == '*':
		return 10, true
	case digit == '#':
		return 11, true
	case digit >= 'A' && digit <= 'D':
		return digit - 'A' + 12, true
	case digit >= 'a' && digit <= 'd':
		return digit - 'a' + 12, true
	}
	return 0, false
}
