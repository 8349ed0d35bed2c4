//go:build !cgo

package proof

// Available: this build has no spandsp (it was built without cgo).
const Available = false

// DetectorVersion: none without cgo.
var DetectorVersion = "unavailable (built without cgo)"

type rx struct{}

func newRx() (*rx, error) { return nil, ErrUnavailable }

func (*rx) feed([]int16) int { return 0 }

func (*rx) close() {}
