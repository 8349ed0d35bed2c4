package trunk

// This file holds Busy: how a caller who waited too long is let go (a
// short busy tone, then BYE), and the busy tones.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/mix"
)

// The busy tones, in the country of the ringback tone.
var (
	// BusyUK is the UK's busy tone (BT SIN 350): 400 Hz, 0.375 s on and
	// off (here 0.38 s, a whole number of frames). The one frequency is
	// summed with itself, so each half is 3 dB under the -19 dBm0 whole.
	BusyUK = Ringback{
		Name: "uk", Freqs: [2]float64{400, 400}, Level: -22,
		Cadence: []time.Duration{380 * time.Millisecond, 380 * time.Millisecond},
	}
	// BusyUS is North America's busy tone (ANSI T1.401): 480+620 Hz,
	// 0.5 s on and off.
	BusyUS = Ringback{
		Name: "us", Freqs: [2]float64{480, 620}, Level: -19,
		Cadence: []time.Duration{500 * time.Millisecond, 500 * time.Millisecond},
	}
)

// BusyFor is the busy tone of the country whose ringback tone rb is (the
// UK's when there is none).
func BusyFor(rb *Ringback) Ringback {
	if rb != nil && rb.Name == BusyUS.Name {
		return BusyUS
	}
	return BusyUK
}

// Busy lets go a caller nobody will take: it answers the call if it is
// still waiting (the caller's keys go nowhere), stops the ringback, plays
// the busy tone (BusyFor the ringback's country) for d and hangs up with
// BYE. It returns when the BYE is answered, the caller hangs up first, or
// ctx ends (then the call is hung up at once). Whoever else sends the
// caller audio (a hold tone) must have stopped. Answering waits for the
// caller's ACK: give ctx room for it.
func (c *Call) Busy(ctx context.Context, d time.Duration) error {
	tone, err := BusyFor(c.t.cfg.Ringback).frames(c.Offer.Law)
	if err != nil {
		return err
	}
	// Answer waits for the ACK on the dialog's own clock (the unacknowledged
	// 200 ends the call), not ctx's.
	if err := c.Answer(func([]byte) {}, func(dtmf.Event) {}); err != nil && !errors.Is(err, ErrAnswered) { //nolint:contextcheck // see above
		return fmt.Errorf("busy: %w", err)
	}
	tick := time.NewTicker(mix.FrameDuration)
	defer tick.Stop()
	end := time.After(d)
play:
	for i := 0; ; i = (i + mix.FrameSamples) % len(tone) {
		if err := c.Send(tone[i : i+mix.FrameSamples]); err != nil {
			c.t.log.Debug("trunk: busy tone not sent", "call", c.ID, "err", err)
		}
		select {
		case <-tick.C:
		case <-end:
			break play
		case <-ctx.Done():
			break play
		case <-c.Done():
			return nil
		}
	}
	return c.Hangup(ctx)
}
