//go:build !cgo

package opus

// Available: this build has no libopus.
const Available = false

// Encoder is not available without cgo.
type Encoder struct{}

// NewEncoder returns ErrUnavailable.
func NewEncoder(int) (*Encoder, error) { return nil, ErrUnavailable }

// Encode returns ErrUnavailable.
func (*Encoder) Encode([]byte, []int16) (int, error) { return 0, ErrUnavailable }

// Close does nothing.
func (*Encoder) Close() {}

// Decoder is not available without cgo.
type Decoder struct{}

// NewDecoder returns ErrUnavailable.
func NewDecoder() (*Decoder, error) { return nil, ErrUnavailable }

// Decode returns ErrUnavailable.
func (*Decoder) Decode([]int16, []byte) (int, error) { return 0, ErrUnavailable }

// Close does nothing.
func (*Decoder) Close() {}
