package protocol

// AgentState is an agent's state: presence's status, and an agent's in an
// agents message. Agents choose available or away; the server sets the
// rest.
type AgentState string

// Agent states.
const (
	AgentAvailable AgentState = "available" // waiting for a call
	AgentAway      AgentState = "away"      // not taking calls (every agent starts away)
	AgentRinging   AgentState = "ringing"   // being offered a call
	AgentBusy      AgentState = "busy"      // on a call
	AgentOffline   AgentState = "offline"   // disconnected (a call held for their rejoin, or gone)
)

// CallState is a call's state in a calls message.
type CallState string

// Call states.
const (
	CallQueued  CallState = "queued"  // waiting for an agent
	CallRinging CallState = "ringing" // offered to an agent
	CallActive  CallState = "active"  // answered
	CallHeld    CallState = "held"    // the agent dropped; waiting for them to rejoin
)

// HoldStatus is a hold message's status.
type HoldStatus string

// Hold statuses.
const (
	HoldOn  HoldStatus = "on"  // the caller hears the hold tone instead of the agent
	HoldOff HoldStatus = "off" // back to talking
)

// ProgressStatus is call.progress's status: how a call an agent placed is
// going.
type ProgressStatus string

// Progress statuses.
const (
	ProgressRinging  ProgressStatus = "ringing"  // the far end rings
	ProgressAnswered ProgressStatus = "answered" // the far end answered
)

// EndReason is why a call ended: call.ended's reason.
type EndReason string

// End reasons.
const (
	EndAgent      EndReason = "agent"       // the agent hung up
	EndCallerGone EndReason = "caller_gone" // the caller (or the far end of a call the agent placed) hung up
	EndAgentGone  EndReason = "agent_gone"  // the agent of a call they placed dropped and did not rejoin in time
	EndBusy       EndReason = "busy"        // the number dialled was busy
	EndNoAnswer   EndReason = "no_answer"   // the number dialled did not answer
	EndRejected   EndReason = "rejected"    // the number dialled does not exist or refused the call
	EndFailed     EndReason = "failed"      // the call could not be placed
	// EndQueueTimeout: the caller waited longer than the longest wait
	// allowed (the max-queue-wait setting) and heard a busy tone.
	EndQueueTimeout EndReason = "queue_timeout"
)

// WithdrawReason is why a call stopped ringing for an agent:
// call.withdrawn's reason.
type WithdrawReason string

// Withdraw reasons.
const (
	WithdrawTimeout    WithdrawReason = "timeout"     // the offer rang out
	WithdrawDeclined   WithdrawReason = "declined"    // the agent declined
	WithdrawAway       WithdrawReason = "away"        // the agent went away while it rang
	WithdrawCallerGone WithdrawReason = "caller_gone" // the caller hung up
	WithdrawAgentGone  WithdrawReason = "agent_gone"  // the agent disconnected
)

// ListenEndReason is why a supervisor stopped hearing a call:
// listen.ended's reason.
type ListenEndReason string

// Listen-end reasons.
const (
	ListenEndSupervisor ListenEndReason = "supervisor" // the supervisor sent unlisten
	ListenEndCallEnded  ListenEndReason = "call_ended" // the call ended
)

// ListenMode is how a supervisor takes part in a call they listen to:
// listen's, listen.started's and supervisor's mode.
type ListenMode string

// Listen modes.
const (
	ModeListen  ListenMode = "listen"  // silent: nobody hears the supervisor, the agent is not told
	ModeWhisper ListenMode = "whisper" // the agent hears the supervisor; the caller does not
	ModeBarge   ListenMode = "barge"   // the agent and the caller hear the supervisor
)

// Heard reports whether the supervisor is heard in mode m (whisper or
// barge): the agent is told of these.
func (m ListenMode) Heard() bool { return m == ModeWhisper || m == ModeBarge }
