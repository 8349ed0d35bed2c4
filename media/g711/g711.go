// Package g711 implements ITU-T G.711 mu-law (PCMU) and A-law (PCMA)
// companding between 16-bit linear samples and 8-bit codes.
//
// The mapping is the reference one of Sun Microsystems' public-domain g711.c,
// which spandsp (libspandsp's g711.h) also implements: the two agree with this
// package on every one of the 65536 inputs and 256 codes. Decoded values are
// the midpoints of the G.711 quantisation intervals: mu-law 0x00 decodes to
// -32124 and 0x80 to 32124, A-law 0xD5 to 8 and 0x55 to -8. The mu-law encoder
// works on the full 16-bit magnitude, so it is exactly symmetric:
// EncodeULaw(-s) == EncodeULaw(s)^0x80 for every s but 0 and -32768.
// (Encoders that first round or truncate to 14 bits, sox's for one, can pick
// the neighbouring code for samples within a few units of a decision level;
// their decoding is identical.)
//
// Every function is table-driven and allocation-free. Decoding uses one
// 256-entry table per law. Encoding uses one table per law built at package
// initialisation: 64K entries for mu-law (indexed by the whole sample) and 8K
// for A-law (indexed by s>>3, all that A-law looks at). On the machine this
// was written on, the tables encode a 20 ms frame in about 1 ns per sample,
// several times faster than finding the segment with math/bits.
//
// Re-encoding decoded audio is lossless: Encode(Decode(b)) == b for every
// A-law code and for every mu-law code except 0x7F ("negative zero"), which
// decodes to 0 like 0xFF ("positive zero") and so re-encodes as 0xFF. Both
// codes mean silence, so the decoded audio is identical.
package g711

import (
	"encoding/binary"
	"strconv"
)

// Law is a G.711 companding law.
type Law uint8

// The two G.711 laws. The zero value is no law.
const (
	ULaw Law = iota + 1 // mu-law, RTP payload type 0 (PCMU)
	ALaw                // A-law, RTP payload type 8 (PCMA)
)

// String returns "mu-law", "A-law", or "Law(N)" for an unknown value.
func (l Law) String() string {
	switch l {
	case ULaw:
		return "mu-law"
	case ALaw:
		return "A-law"
	}
	return "Law(" + strconv.Itoa(int(l)) + ")"
}

// Decode decodes codes from src into linear samples in dst using law l and
// returns the number of samples written, min(len(dst), len(src)). An unknown
// law decodes nothing and returns 0.
func (l Law) Decode(dst []int16, src []byte) int {
	switch l {
	case ULaw:
		return DecodeULawTo(dst, src)
	case ALaw:
		return DecodeALawTo(dst, src)
	}
	return 0
}

// Encode encodes linear samples from src into codes in dst using law l and
// returns the number of codes written, min(len(dst), len(src)). An unknown
// law encodes nothing and returns 0.
func (l Law) Encode(dst []byte, src []int16) int {
	switch l {
	case ULaw:
		return EncodeULawTo(dst, src)
	case ALaw:
		return EncodeALawTo(dst, src)
	}
	return 0
}

// Tables. The encode tables are indexed by the top bits of the sample as an
// unsigned value: mu-law uses 14 bits (s>>2), A-law 13 bits (s>>3), exactly
// the precision the reference encoder looks at.
var (
	ulawDecode [256]int16
	alawDecode [256]int16
	ulawEncode [1 << 16]byte
	alawEncode [1 << 13]byte
)

func init() {
	for i := range 256 {
		ulawDecode[i] = ulawToLinear(byte(i))
		alawDecode[i] = alawToLinear(byte(i))
	}
	for i := range ulawEncode {
		ulawEncode[i] = linearToULaw(int16(uint16(i)))
	}
	for i := range alawEncode {
		alawEncode[i] = linearToALaw(int16(uint16(i) << 3))
	}
}

// DecodeULaw returns the linear value of mu-law code b.
func DecodeULaw(b byte) int16 { return ulawDecode[b] }

// DecodeALaw returns the linear value of A-law code b.
func DecodeALaw(b byte) int16 { return alawDecode[b] }

// EncodeULaw returns the mu-law code of linear sample s.
func EncodeULaw(s int16) byte { return ulawEncode[uint16(s)] }

// EncodeALaw returns the A-law code of linear sample s.
func EncodeALaw(s int16) byte { return alawEncode[uint16(s)>>3] }

// DecodeULawTo decodes mu-law codes from src into dst and returns the number
// of samples written, min(len(dst), len(src)).
func DecodeULawTo(dst []int16, src []byte) int {
	return decodeTo(dst, src, &ulawDecode)
}

// DecodeALawTo decodes A-law codes from src into dst and returns the number
// of samples written, min(len(dst), len(src)).
func DecodeALawTo(dst []int16, src []byte) int {
	return decodeTo(dst, src, &alawDecode)
}

// decodeTo looks codes up in tab, eight at a time from one 64-bit load
// (twice as fast as one byte at a time), then one at a time.
func decodeTo(dst []int16, src []byte, tab *[256]int16) int {
	n := min(len(dst), len(src))
	i := 0
	for ; i+8 <= n; i += 8 {
		v := binary.LittleEndian.Uint64(src[i:])
		d := dst[i : i+8 : i+8]
		d[0] = tab[byte(v)]
		d[1] = tab[byte(v>>8)]
		d[2] = tab[byte(v>>16)]
		d[3] = tab[byte(v>>24)]
		d[4] = tab[byte(v>>32)]
		d[5] = tab[byte(v>>40)]
		d[6] = tab[byte(v>>48)]
		d[7] = tab[byte(v>>56)]
	}
	for ; i < n; i++ {
		dst[i] = tab[src[i]]
	}
	return n
}

// EncodeULawTo encodes linear samples from src into mu-law codes in dst and
// returns the number of codes written, min(len(dst), len(src)).
func EncodeULawTo(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = ulawEncode[uint16(s)]
	}
	return n
}

// EncodeALawTo encodes linear samples from src into A-law codes in dst and
// returns the number of codes written, min(len(dst), len(src)).
func EncodeALawTo(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = alawEncode[uint16(s)>>3]
	}
	return n
}

// The reference algorithms below (after Sun's public-domain g711.c, the
// same arithmetic as spandsp's g711.h) fill the tables at init; they are not
// used on the hot path.

const ulawBias = 0x84 // bias added to the magnitude before mu-law segmenting

// linearToULaw is the reference mu-law encoder.
func linearToULaw(s int16) byte {
	v := int(s)
	mask := byte(0xFF)
	if v < 0 {
		v = -v
		mask = 0x7F
	}
	v += ulawBias
	seg := segment(v, 0xFF)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	return (byte(seg<<4) | byte(v>>(seg+3))&0x0F) ^ mask
}

// ulawToLinear is the reference mu-law decoder.
func ulawToLinear(b byte) int16 {
	b = ^b
	t := (int(b&0x0F)<<3 + ulawBias) << ((b & 0x70) >> 4)
	if b&0x80 != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}

// linearToALaw is the reference A-law encoder.
func linearToALaw(s int16) byte {
	v := int(s) >> 3
	mask := byte(0xD5)
	if v < 0 {
		v = -v - 1
		mask = 0x55
	}
	seg := segment(v, 0x1F)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	q := v >> seg
	if seg < 2 {
		q = v >> 1
	}
	return (byte(seg<<4) | byte(q)&0x0F) ^ mask
}

// alawToLinear is the reference A-law decoder.
func alawToLinear(b byte) int16 {
	b ^= 0x55
	t := int(b&0x0F) << 4
	switch seg := (b & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t = (t + 0x108) << (seg - 1)
	}
	if b&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// segment returns the index of the first of the eight segments, whose ends
// are end0, 2*end0+1, 4*end0+3, ..., that holds v, or 8 if none does.
func segment(v, end0 int) int {
	seg := 0
	for end := end0; seg < 8 && v > end; end = end<<1 | 1 {
		seg++
	}
	return seg
}
