// Package e2e holds end-to-end tests in which SIP clients that are not
// ours call the whole server stack (internal/testing/stacktest) and a Go agent
// (desktop/engine) answers: baresip today. Its helpers, in the test files,
// run baresip headless on loopback and measure tones in what each side
// heard.
package e2e
