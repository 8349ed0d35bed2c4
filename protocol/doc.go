// Package protocol is Hushphone's WebSocket protocol as Go types: every
// message and its fields, the error and close codes, the reasons a call
// ends, stops ringing or stops being listened to, the agent and call
// states, and the secure-pay request and status. docs/protocol.md says
// what each means; this package is what the server (server/signal,
// server/pay, server/route) and the agent (desktop/engine, desktop/app)
// both speak, and the UI's TypeScript types (frontend/src/protocol.ts) are
// generated from it.
//
// It imports the standard library only, so that any client can use it.
// The JSON of every type is the wire's: change a tag and the protocol
// changes.
package protocol

//go:generate go run ./internal/cmd/tsgen -out ../frontend/src/protocol.ts
