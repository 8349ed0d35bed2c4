package protocol

// ErrorCode is an error message's code: what was wrong, for the client to
// act on (the message says it in words).
type ErrorCode string

// Error codes.
const (
	CodeBadJSON       ErrorCode = "bad_json"       // not a JSON object, or a field of the wrong type
	CodeBadMessage    ErrorCode = "bad_message"    // a binary message
	CodeBadRequest    ErrorCode = "bad_request"    // a field missing or out of range
	CodeUnknownType   ErrorCode = "unknown_type"   // no such message type
	CodeForbidden     ErrorCode = "forbidden"      // not for this role
	CodeNotOffered    ErrorCode = "not_offered"    // answer or decline of a call not ringing here
	CodeNotYourCall   ErrorCode = "not_your_call"  // hangup, sdp or candidate for a call that is not this agent's
	CodeBusy          ErrorCode = "busy"           // dial while a call rings or is in progress
	CodeNotActive     ErrorCode = "not_active"     // listen to a call no agent has answered yet
	CodeLimit         ErrorCode = "limit"          // too many supervisors listen to that call
	CodeNotListening  ErrorCode = "not_listening"  // unlisten of a call not listened to
	CodeNoMicrophone  ErrorCode = "no_microphone"  // whisper or barge with a receive-only leg (offer sendrecv audio)
	CodeNoCall        ErrorCode = "no_call"        // no such call
	CodeNotRegistered ErrorCode = "not_registered" // the agent is not in the queue (reconnect)
	CodeMedia         ErrorCode = "media"          // the media side refused the SDP or candidate
	CodeNoPayment     ErrorCode = "no_payment"     // no such payment session (it may have ended)
	CodePayActive     ErrorCode = "payment_active" // pay.start on a call that has a session under way
	CodeNotReady      ErrorCode = "not_ready"      // pay.submit before every field is valid
	CodePayOver       ErrorCode = "payment_over"   // a request for a session that has ended
	CodeSubmitting    ErrorCode = "submitting"     // a request while the gateway has the payment
	CodeUnavailable   ErrorCode = "unavailable"    // the server is shutting down, or has no media
	CodeInternal      ErrorCode = "internal"       // the server failed; try again
	// The sign-in's (POST /api/v1/session, beside "error").
	CodeMFARequired ErrorCode = "mfa_required" // the password was right: send it again with the one-time code
	CodeMFAInvalid  ErrorCode = "mfa_invalid"  // the one-time code was wrong or already used
	CodeMFAEnroll   ErrorCode = "mfa_enroll"   // the account needs a second factor enrolled before it can sign in
)

// Error is an error message to send: a code and what was wrong, in words.
// Its text never repeats what the client sent.
type Error struct {
	Code    ErrorCode
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// NewError returns an *Error: an error to send back, with code and message.
func NewError(code ErrorCode, message string) *Error { return &Error{Code: code, Message: message} }

// CloseCode is a WebSocket close code the server closes a connection with.
type CloseCode int

// Close codes: the standard ones the server uses (RFC 6455), then its own.
const (
	CloseNormal        CloseCode = 1000 // normal closure (either side)
	CloseGoingAway     CloseCode = 1001 // the server is shutting down
	CloseTooSlow       CloseCode = 1008 // policy violation: the client did not read its messages fast enough
	CloseTooBig        CloseCode = 1009 // the client sent a message over MaxMessage
	CloseReplaced      CloseCode = 4000 // the same user connected again elsewhere
	CloseSessionEnded  CloseCode = 4001 // the session expired or was signed out: sign in again
	CloseNotRegistered CloseCode = 4002 // the call queue would not take the agent
)
