package engine

import (
	"context"

	"github.com/hushphone/hushphone/protocol"
)

// A supervisor or admin listens in to calls: Listen (silent), or
// ListenMode to whisper to the agent or barge in (the agent, and for a
// barge the caller, hear the supervisor's Audio Mic). The peer connection
// is the same in every mode: it is offered both ways once, and while only
// listening it sends silence, so changing the mode is one message.

// Listen asks to listen in to a call (supervisors and admins; the call
// must be active), silently: once the server agrees, what the call sounds
// like goes to the Audio's Speaker, between CallStarted and CallEnded.
// Listening to a call again makes it silent again.
func (a *Agent) Listen(ctx context.Context, call string) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypeListen, Call: call})
}

// ListenMode listens in to a call in mode, or changes the mode of a call
// listened to already: protocol.ModeListen (silent), ModeWhisper (the
// agent hears the Audio's Mic) or ModeBarge (the agent and the caller
// do). The server's listen.started (an Event, with the Mode) says it took
// it; an error event (no_microphone, not_active, ...) that it did not.
func (a *Agent) ListenMode(ctx context.Context, call string, mode protocol.ListenMode) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypeListen, Call: call, Mode: mode})
}

// Unlisten stops listening to a call.
func (a *Agent) Unlisten(ctx context.Context, call string) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypeUnlisten, Call: call})
}

// listenStarted follows the server's listen.started: the first starts the
// call's media, a later one (a mode change) turns the microphone on or
// off.
func (a *Agent) listenStarted(ctx context.Context, m protocol.Message) error {
	heard := m.Mode.Heard()
	if c := a.media(m.Call); c != nil {
		c.heard.Store(heard)
		return nil
	}
	return a.startMedia(ctx, m.Call, true, heard)
}
