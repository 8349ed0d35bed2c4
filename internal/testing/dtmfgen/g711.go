package dtmfgen

// A tiny standard G.711 mu-law codec, kept here so the generator depends on
// nothing it is used to test.

const (
	ulawBias = 0x84
	ulawClip = 32635
)

func ulawEncode(s int16) byte {
	x := int(s)
	var sign byte
	if x < 0 {
		x = -x
		sign = 0x80
	}
	if x > ulawClip {
		x = ulawClip
	}
	x += ulawBias
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := byte(x>>(exp+3)) & 0x0f
	return ^(sign | byte(exp)<<4 | mant)
}

func ulawDecode(u byte) int16 {
	u = ^u
	exp := (u >> 4) & 7
	x := ((int(u&0x0f) << 3) + ulawBias) << exp
	x -= ulawBias
	if u&0x80 != 0 {
		return int16(-x)
	}
	return int16(x)
}

// ulawRoundTrip rounds and clips x to 16 bits and passes it through one
// mu-law encode and decode.
func ulawRoundTrip(x []float64) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = ulawDecode(ulawEncode(toInt16(v)))
	}
	return out
}

func toInt16(v float64) int16 {
	switch {
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v >= 0:
		return int16(v + 0.5)
	default:
		return int16(v - 0.5)
	}
}
