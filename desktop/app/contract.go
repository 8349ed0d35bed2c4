package app

import (
	"time"

	"github.com/hushphone/hushphone/protocol"
)

// The contract between the app (Go) and its UI (frontend/, TypeScript):
// the UI calls App's exported methods (window.go.app.App.Method, each a
// Promise that rejects with the error's text) and listens to the events
// below (window.runtime.EventsOn). Every state change emits EventState
// with the whole State, so the UI renders from the latest one alone.
// frontend/src/types.ts mirrors the types here; what comes from the
// protocol (the payment status, presence, reasons) it imports from
// frontend/src/protocol.ts, generated from package protocol.

// Events the app emits.
const (
	// EventState carries State: after every change.
	EventState = "state"
	// EventLevels carries Levels, ten times a second during a call.
	EventLevels = "levels"
	// EventKey carries nothing: the caller pressed a key (the agent hears
	// the flat tone). The UI pulses its indicator.
	EventKey = "key"
	// EventRing carries the ringing Call when a call starts to ring: the
	// UI plays its ring sound (the app also sends a desktop notification).
	EventRing = "ring"
)

// Connection states.
const (
	SignedOut    = "signed_out"
	Connecting   = "connecting"
	Connected    = "connected"
	Reconnecting = "reconnecting" // the connection dropped: trying again by itself
)

// Call states as the UI shows them.
const (
	CallRinging = "ringing" // offered to this agent: answer or decline
	CallDialing = "dialing" // an outbound call not answered yet
	CallActive  = "active"
	CallEnded   = "ended" // the last call, until the next rings (Reason says why)
)

// State is everything the UI shows.
type State struct {
	Connection string `json:"connection"`
	// Error is the latest problem in words for the agent ("" when none):
	// a sign-in refused, the server unreachable, a request refused. The
	// next request that succeeds clears it.
	Error  string `json:"error,omitempty"`
	Server string `json:"server,omitempty"`
	User   string `json:"user,omitempty"`
	// Presence is available, away or busy (on a call); IdleSince is when
	// the agent last became available with no call (null otherwise).
	Presence  protocol.AgentState `json:"presence,omitempty"`
	IdleSince *time.Time          `json:"idleSince,omitempty"`
	Call      *Call               `json:"call,omitempty"`
	// Payment is the call's payment session, live or just ended (null
	// when none since the call started).
	Payment *protocol.Payment `json:"payment,omitempty"`
	Devices Devices           `json:"devices"`
	Theme   string            `json:"theme"` // light, dark or system
	// NeedCode: the last sign-in was refused for want of the one-time
	// code (the account has a second factor), or with a wrong one: the
	// sign-in form asks for it (SignInWithCode).
	NeedCode bool `json:"needCode,omitempty"`
}

// Call is the agent's call.
type Call struct {
	ID       string `json:"id"`
	From     string `json:"from"` // the caller's number, or the number dialled
	Outbound bool   `json:"outbound"`
	State    string `json:"state"`
	// Progress of an outbound call: ringing, answered.
	Progress protocol.ProgressStatus `json:"progress,omitempty"`
	Started  *time.Time              `json:"started,omitempty"` // answered: the call timer counts from here
	Ended    *time.Time              `json:"ended,omitempty"`
	Reason   string                  `json:"reason,omitempty"` // why it ended: a protocol.EndReason or WithdrawReason
	Muted    bool                    `json:"muted"`
	Held     bool                    `json:"held"`
	// Supervisors are the supervisors heard on the call now (whispering
	// to the agent or barging in), in the order they started; none while
	// supervisors only listen (the agent is not told of that).
	Supervisors []Supervisor `json:"supervisors,omitempty"`
}

// Supervisor is a supervisor heard on the agent's call.
type Supervisor struct {
	User string              `json:"user"`
	Mode protocol.ListenMode `json:"mode"` // whisper or barge
}

// Devices is the sound devices in use: their names, and the IDs chosen
// (SetDevices; "" for the system's default).
type Devices struct {
	Mic       string `json:"mic"`     // the microphone's name
	Speaker   string `json:"speaker"` // the speaker's name
	MicID     string `json:"micId"`
	SpeakerID string `json:"speakerId"`
}

// Levels are the audio levels, in dBFS (-100 for silence).
type Levels struct {
	Mic     float64 `json:"mic"`     // what the agent says
	Speaker float64 `json:"speaker"` // what the agent hears
}

// Device is one sound device for the device chooser.
type Device struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Default bool   `json:"default"`
}

// DeviceList is every device the agent can choose.
type DeviceList struct {
	Mics     []Device `json:"mics"`
	Speakers []Device `json:"speakers"`
}

// HistoryItem is one past call, newest first in History.
type HistoryItem struct {
	Call     string    `json:"call"`
	Number   string    `json:"number"`
	Outbound bool      `json:"outbound"`
	Started  time.Time `json:"started"`
	Seconds  int       `json:"seconds"` // talking time; 0 if never answered
	Reason   string    `json:"reason,omitempty"`
	// Payment is the outcome of the call's last payment, if any:
	// approved, declined, failed, cancelled, dropped, timed_out.
	Payment   protocol.PaymentState `json:"payment,omitempty"`
	Amount    int64                 `json:"amount,omitempty"`
	Currency  string                `json:"currency,omitempty"`
	Reference string                `json:"reference,omitempty"`
}

// Prefs are what the app remembers between runs (in the user's config
// folder): never the password.
type Prefs struct {
	Server  string `json:"server"`
	User    string `json:"user"`
	Theme   string `json:"theme"`
	Mic     string `json:"mic,omitempty"`
	Speaker string `json:"speaker,omitempty"`
	// CA is a PEM file holding a private CA's certificate, trusted for
	// the server's certificate besides the system's roots (SetCA); ""
	// for the system's roots alone.
	CA string `json:"ca,omitempty"`
}
