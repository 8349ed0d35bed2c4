// Package rfc4733 reads and writes RFC 4733 telephone-event payloads and
// turns a stream of them into key presses: exactly one per event, however
// many packets carry it, however they are lost, repeated or reordered.
//
// # The payload
//
// Payload is one 4-byte event report: event code, E (end) bit, volume and
// duration. Unmarshal reads the first report of a packet and ignores the
// reserved bit; MarshalTo writes one. Codes 0-15 are the DTMF keys
// 0-9 * # A-D (EventDigit, DigitEvent).
//
// # How a sender reports one key press
//
// A key press is one event. Every packet of the event carries the RTP
// timestamp of the event's start; the duration grows with each update
// (every 50 ms or so); the last packet has the E bit and is sent three
// times. An event longer than the 16-bit duration field (0xFFFF units, 8.2 s
// at 8000 Hz) goes on in a new segment: the sender stops using the old
// timestamp and carries on with a new one 0xFFFF later, same event code, E
// bit clear, duration counted again from the new timestamp (RFC 4733
// section 2.5.1.3). The RTP marker bit flags the first packet of an event,
// but it is lost with that packet, so the Receiver never looks at it: it
// does not even take it as an input.
//
// # The Receiver's rules
//
// The Receiver follows one RTP stream (one SSRC: call Reset when it changes)
// and identifies an event by its RTP timestamp, compared in serial-number
// arithmetic so that timestamps wrap around 2^32 correctly.
//
//   - A packet with a timestamp newer than the current event's starts a new
//     event: Start, or StartEnd if its E bit is set. Whichever packet of the
//     event arrives first starts it, so losing the first packets (and the
//     marker) only makes the Start late.
//   - Packets with the current event's timestamp update its duration; the
//     first with the E bit ends it (End). The repeated end packets, and any
//     late or reordered packet of an event that has ended, produce nothing.
//   - A packet with a timestamp older than the current event's is late and
//     produces nothing. (Older by more than 2^18 units is not lateness but a
//     restarted stream: it starts a new event.)
//   - A new timestamp with the same event code, about 0xFFFF after the
//     current segment (within 0x1000 units), while that segment has been
//     seen to last at least 0xDFFF units and the event has not ended with an
//     E bit, is the next segment of a long event: no new key press; the End
//     reports the duration summed over all segments. This holds even if the
//     event timed out across the boundary: the new segment is then absorbed
//     silently. The same key pressed again (with a new timestamp) after a
//     shorter event is a second key press, even when the first one's end
//     packets were lost.
//   - An event whose end packets are all lost is ended by the timeout
//     (WithTimeout, DefaultTimeout after its last packet, measured on the
//     caller's clock) in Tick or Packet, with TimedOut set; or, sooner, by
//     the next event's first packet, which reports the old event's End in
//     Change.Prev before the new event's Start in the same Change.
//   - Events that are not DTMF (codes 16 and up) are tracked like the
//     others, so that they end a DTMF event and old packets stay old, but
//     they are never reported.
//
// So each event gives exactly one Start (or StartEnd) and at most one End,
// and a Start is never reported while another press is open.
package rfc4733
