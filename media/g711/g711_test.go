package g711

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"testing"
)

// spandspULaw is ulaw_to_linear(i) from Debian's libspandsp-dev g711.h,
// printed by a small C program (an independent source for every code).
var spandspULaw = [256]int16{
	-32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956, // 0x00
	-23932, -22908, -21884, -20860, -19836, -18812, -17788, -16764, // 0x08
	-15996, -15484, -14972, -14460, -13948, -13436, -12924, -12412, // 0x10
	-11900, -11388, -10876, -10364, -9852, -9340, -8828, -8316, // 0x18
	-7932, -7676, -7420, -7164, -6908, -6652, -6396, -6140, // 0x20
	-5884, -5628, -5372, -5116, -4860, -4604, -4348, -4092, // 0x28
	-3900, -3772, -3644, -3516, -3388, -3260, -3132, -3004, // 0x30
	-2876, -2748, -2620, -2492, -2364, -2236, -2108, -1980, // 0x38
	-1884, -1820, -1756, -1692, -1628, -1564, -1500, -1436, // 0x40
	-1372, -1308, -1244, -1180, -1116, -1052, -988, -924, // 0x48
	-876, -844, -812, -780, -748, -716, -684, -652, // 0x50
	-620, -588, -556, -524, -492, -460, -428, -396, // 0x58
	-372, -356, -340, -324, -308, -292, -276, -260, // 0x60
	-244, -228, -212, -196, -180, -164, -148, -132, // 0x68
	-120, -112, -104, -96, -88, -80, -72, -64, // 0x70
	-56, -48, -40, -32, -24, -16, -8, 0, // 0x78
	32124, 31100, 30076, 29052, 28028, 27004, 25980, 24956, // 0x80
	23932, 22908, 21884, 20860, 19836, 18812, 17788, 16764, // 0x88
	15996, 15484, 14972, 14460, 13948, 13436, 12924, 12412, // 0x90
	11900, 11388, 10876, 10364, 9852, 9340, 8828, 8316, // 0x98
	7932, 7676, 7420, 7164, 6908, 6652, 6396, 6140, // 0xA0
	5884, 5628, 5372, 5116, 4860, 4604, 4348, 4092, // 0xA8
	3900, 3772, 3644, 3516, 3388, 3260, 3132, 3004, // 0xB0
	2876, 2748, 2620, 2492, 2364, 2236, 2108, 1980, // 0xB8
	1884, 1820, 1756, 1692, 1628, 1564, 1500, 1436, // 0xC0
	1372, 1308, 1244, 1180, 1116, 1052, 988, 924, // 0xC8
	876, 844, 812, 780, 748, 716, 684, 652, // 0xD0
	620, 588, 556, 524, 492, 460, 428, 396, // 0xD8
	372, 356, 340, 324, 308, 292, 276, 260, // 0xE0
	244, 228, 212, 196, 180, 164, 148, 132, // 0xE8
	120, 112, 104, 96, 88, 80, 72, 64, // 0xF0
	56, 48, 40, 32, 24, 16, 8, 0, // 0xF8
}

// spandspALaw is alaw_to_linear(i) from the same program.
var spandspALaw = [256]int16{
	-5504, -5248, -6016, -5760, -4480, -4224, -4992, -4736, // 0x00
	-7552, -7296, -8064, -7808, -6528, -6272, -7040, -6784, // 0x08
	-2752, -2624, -3008, -2880, -2240, -2112, -2496, -2368, // 0x10
	-3776, -3648, -4032, -3904, -3264, -3136, -3520, -3392, // 0x18
	-22016, -20992, -24064, -23040, -17920, -16896, -19968, -18944, // 0x20
	-30208, -29184, -32256, -31232, -26112, -25088, -28160, -27136, // 0x28
	-11008, -10496, -12032, -11520, -8960, -8448, -9984, -9472, // 0x30
	-15104, -14592, -16128, -15616, -13056, -12544, -14080, -13568, // 0x38
	-344, -328, -376, -360, -280, -264, -312, -296, // 0x40
	-472, -456, -504, -488, -408, -392, -440, -424, // 0x48
	-88, -72, -120, -104, -24, -8, -56, -40, // 0x50
	-216, -200, -248, -232, -152, -136, -184, -168, // 0x58
	-1376, -1312, -1504, -1440, -1120, -1056, -1248, -1184, // 0x60
	-1888, -1824, -2016, -1952, -1632, -1568, -1760, -1696, // 0x68
	-688, -656, -752, -720, -560, -528, -624, -592, // 0x70
	-944, -912, -1008, -976, -816, -784, -880, -848, // 0x78
	5504, 5248, 6016, 5760, 4480, 4224, 4992, 4736, // 0x80
	7552, 7296, 8064, 7808, 6528, 6272, 7040, 6784, // 0x88
	2752, 2624, 3008, 2880, 2240, 2112, 2496, 2368, // 0x90
	3776, 3648, 4032, 3904, 3264, 3136, 3520, 3392, // 0x98
	22016, 20992, 24064, 23040, 17920, 16896, 19968, 18944, // 0xA0
	30208, 29184, 32256, 31232, 26112, 25088, 28160, 27136, // 0xA8
	11008, 10496, 12032, 11520, 8960, 8448, 9984, 9472, // 0xB0
	15104, 14592, 16128, 15616, 13056, 12544, 14080, 13568, // 0xB8
	344, 328, 376, 360, 280, 264, 312, 296, // 0xC0
	472, 456, 504, 488, 408, 392, 440, 424, // 0xC8
	88, 72, 120, 104, 24, 8, 56, 40, // 0xD0
	216, 200, 248, 232, 152, 136, 184, 168, // 0xD8
	1376, 1312, 1504, 1440, 1120, 1056, 1248, 1184, // 0xE0
	1888, 1824, 2016, 1952, 1632, 1568, 1760, 1696, // 0xE8
	688, 656, 752, 720, 560, 528, 624, 592, // 0xF0
	944, 912, 1008, 976, 816, 784, 880, 848, // 0xF8
}

// SHA-256 of linear_to_ulaw(x) and linear_to_alaw(x) from libspandsp for
// x = -32768 ... 32767 in order, one byte each: the whole encoder, exactly.
const (
	spandspULawEncodeSHA256 = "5ee7cf5f273f842d2234121e4cb0c98d6b20a99ac29026f94e05b36955b195be"
	spandspALawEncodeSHA256 = "38488f6fd710f4686360edc4d38639f96c491595ef93f8eb8d62d5e07ca6ce7b"
)

type law struct {
	name   string
	law    Law
	enc    func(int16) byte
	dec    func(byte) int16
	encTo  func([]byte, []int16) int
	decTo  func([]int16, []byte) int
	table  *[256]int16
	sha256 string
}

var laws = []law{
	{"mu-law", ULaw, EncodeULaw, DecodeULaw, EncodeULawTo, DecodeULawTo, &spandspULaw, spandspULawEncodeSHA256},
	{"A-law", ALaw, EncodeALaw, DecodeALaw, EncodeALawTo, DecodeALawTo, &spandspALaw, spandspALawEncodeSHA256},
}

func TestKnownValues(t *testing.T) {
	tests := []struct {
		law    Law
		code   byte
		linear int16
	}{
		// mu-law: 0x00 and 0x80 are the extremes, 0x7F and 0xFF both zero.
		{ULaw, 0x00, -32124},
		{ULaw, 0x80, 32124},
		{ULaw, 0x7F, 0},
		{ULaw, 0xFF, 0},
		{ULaw, 0xFE, 8},
		{ULaw, 0x7E, -8},
		{ULaw, 0xF0, 120},
		{ULaw, 0xEF, 132},
		{ULaw, 0x0F, -16764},
		{ULaw, 0x8F, 16764},
		// A-law: even bits inverted (0x55), no negative zero.
		{ALaw, 0xD5, 8},
		{ALaw, 0x55, -8},
		{ALaw, 0xD4, 24},
		{ALaw, 0x54, -24},
		{ALaw, 0xAA, 32256},
		{ALaw, 0x2A, -32256},
		{ALaw, 0x80, 5504},
		{ALaw, 0x00, -5504},
		{ALaw, 0xC5, 264},
	}
	for _, tt := range tests {
		if got := decode(tt.law, tt.code); got != tt.linear {
			t.Errorf("%v decode 0x%02X = %d, want %d", tt.law, tt.code, got, tt.linear)
		}
	}
}

func decode(l Law, b byte) int16 {
	var out [1]int16
	l.Decode(out[:], []byte{b})
	return out[0]
}

func TestKnownEncodes(t *testing.T) {
	tests := []struct {
		law  Law
		in   int16
		code byte
	}{
		{ULaw, 0, 0xFF},
		{ULaw, 1, 0xFF},
		{ULaw, -1, 0x7F},
		{ULaw, 3, 0xFF},
		{ULaw, 4, 0xFE},
		{ULaw, -3, 0x7F},
		{ULaw, -4, 0x7E},
		{ULaw, 5, 0xFE},
		{ULaw, -5, 0x7E},
		{ULaw, 32767, 0x80},
		{ULaw, -32768, 0x00},
		{ULaw, 32124, 0x80},
		{ULaw, 1000, 0xCE},
		{ULaw, -1000, 0x4E},
		{ALaw, 0, 0xD5},
		{ALaw, 15, 0xD5},
		{ALaw, 16, 0xD4},
		{ALaw, -1, 0x55},
		{ALaw, -16, 0x55},
		{ALaw, -17, 0x54},
		{ALaw, 32767, 0xAA},
		{ALaw, -32768, 0x2A},
		{ALaw, 1000, 0xFA},
		{ALaw, -1000, 0x7A},
	}
	for _, tt := range tests {
		var out [1]byte
		if tt.law.Encode(out[:], []int16{tt.in}) != 1 || out[0] != tt.code {
			t.Errorf("%v encode %d = 0x%02X, want 0x%02X", tt.law, tt.in, out[0], tt.code)
		}
	}
}

// TestDecodeMatchesSpandsp checks all 256 codes of both laws against
// libspandsp's decoder.
func TestDecodeMatchesSpandsp(t *testing.T) {
	for _, l := range laws {
		for c := range 256 {
			if got, want := l.dec(byte(c)), l.table[c]; got != want {
				t.Errorf("%s decode 0x%02X = %d, spandsp %d", l.name, c, got, want)
			}
		}
	}
}

// TestEncodeMatchesSpandsp checks every 16-bit input of both laws against
// libspandsp's encoder (through a digest of its output).
func TestEncodeMatchesSpandsp(t *testing.T) {
	for _, l := range laws {
		all := make([]byte, 0, 1<<16)
		for x := -32768; x <= 32767; x++ {
			all = append(all, l.enc(int16(x)))
		}
		sum := sha256.Sum256(all)
		if got := hex.EncodeToString(sum[:]); got != l.sha256 {
			t.Errorf("%s: encoder output differs from spandsp (sha256 %s, want %s)", l.name, got, l.sha256)
		}
	}
}

// TestEncodeMatchesReference checks the tables against the reference
// arithmetic for every input (catches a table-indexing mistake).
func TestEncodeMatchesReference(t *testing.T) {
	for x := -32768; x <= 32767; x++ {
		s := int16(x)
		if got, want := EncodeULaw(s), linearToULaw(s); got != want {
			t.Fatalf("EncodeULaw(%d) = 0x%02X, reference 0x%02X", s, got, want)
		}
		if got, want := EncodeALaw(s), linearToALaw(s); got != want {
			t.Fatalf("EncodeALaw(%d) = 0x%02X, reference 0x%02X", s, got, want)
		}
	}
}

// TestReencodeLossless: decoding and encoding again gives back every code,
// except mu-law's negative zero, which becomes positive zero (same sound).
func TestReencodeLossless(t *testing.T) {
	for _, l := range laws {
		for c := range 256 {
			b := byte(c)
			got := l.enc(l.dec(b))
			want := b
			if l.law == ULaw && b == 0x7F {
				want = 0xFF
			}
			if got != want {
				t.Errorf("%s: Encode(Decode(0x%02X)) = 0x%02X, want 0x%02X", l.name, b, got, want)
			}
			if l.dec(got) != l.dec(b) {
				t.Errorf("%s: 0x%02X re-encoded to a different value", l.name, b)
			}
		}
	}
}

// TestDistinctLevels: mu-law has 255 distinct levels (two zeros), A-law 256.
func TestDistinctLevels(t *testing.T) {
	for _, l := range laws {
		seen := map[int16]bool{}
		for c := range 256 {
			seen[l.dec(byte(c))] = true
		}
		want := 256
		if l.law == ULaw {
			want = 255
		}
		if len(seen) != want {
			t.Errorf("%s: %d distinct levels, want %d", l.name, len(seen), want)
		}
	}
}

// TestMonotonic: the quantised value never decreases as the input grows, and
// every input lands on one of the two levels around it (never skips a level);
// inputs beyond the outermost levels clip to them.
func TestMonotonic(t *testing.T) {
	for _, l := range laws {
		levels := make([]int, 0, 256)
		for c := range 256 {
			levels = append(levels, int(l.dec(byte(c))))
		}
		slices.Sort(levels)
		levels = slices.Compact(levels)
		lo, hi := levels[0], levels[len(levels)-1]
		prev := -1 << 20
		for x := -32768; x <= 32767; x++ {
			q := int(l.dec(l.enc(int16(x))))
			if q < prev {
				t.Fatalf("%s: not monotonic at %d: %d after %d", l.name, x, q, prev)
			}
			prev = q
			switch {
			case x <= lo:
				if q != lo {
					t.Fatalf("%s: %d quantised to %d, want clip to %d", l.name, x, q, lo)
				}
			case x >= hi:
				if q != hi {
					t.Fatalf("%s: %d quantised to %d, want clip to %d", l.name, x, q, hi)
				}
			default:
				i, _ := slices.BinarySearch(levels, x) // levels[i-1] < x <= levels[i]
				if q != levels[i] && q != levels[i-1] {
					t.Fatalf("%s: %d quantised to %d, not a neighbour (%d, %d)", l.name, x, q, levels[i-1], levels[i])
				}
			}
		}
	}
}

// TestSymmetric: positive and negative halves mirror each other.
func TestSymmetric(t *testing.T) {
	for _, l := range laws {
		for c := range 128 {
			if p, n := l.dec(byte(c)|0x80), l.dec(byte(c)); p != -n {
				t.Errorf("%s: decode(0x%02X) = %d but decode(0x%02X) = %d", l.name, c|0x80, p, c, n)
			}
		}
	}
	for x := 1; x <= 32767; x++ {
		if p, n := EncodeULaw(int16(x)), EncodeULaw(int16(-x)); p != n^0x80 {
			t.Fatalf("mu-law: encode(%d) = 0x%02X, encode(%d) = 0x%02X", x, p, -x, n)
		}
		// A-law mirrors one's complement: -x-1 against x.
		if p, n := EncodeALaw(int16(x)), EncodeALaw(int16(-x-1)); p != n^0x80 {
			t.Fatalf("A-law: encode(%d) = 0x%02X, encode(%d) = 0x%02X", x, p, -x-1, n)
		}
	}
}

func TestBatchMatchesScalar(t *testing.T) {
	lin := make([]int16, 0, 1<<16)
	for x := -32768; x <= 32767; x++ {
		lin = append(lin, int16(x))
	}
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	for _, l := range laws {
		enc := make([]byte, len(lin))
		if n := l.encTo(enc, lin); n != len(lin) {
			t.Fatalf("%s: EncodeTo n = %d, want %d", l.name, n, len(lin))
		}
		enc2 := make([]byte, len(lin))
		l.law.Encode(enc2, lin)
		for i, s := range lin {
			if enc[i] != l.enc(s) || enc2[i] != enc[i] {
				t.Fatalf("%s: batch encode of %d differs", l.name, s)
			}
		}
		dec := make([]int16, 256)
		if n := l.decTo(dec, codes); n != 256 {
			t.Fatalf("%s: DecodeTo n = %d", l.name, n)
		}
		dec2 := make([]int16, 256)
		l.law.Decode(dec2, codes)
		for i, c := range codes {
			if dec[i] != l.dec(c) || dec2[i] != dec[i] {
				t.Fatalf("%s: batch decode of 0x%02X differs", l.name, c)
			}
		}
	}
}

func TestBatchLengths(t *testing.T) {
	tests := []struct{ dst, src, want int }{
		{0, 0, 0}, {0, 5, 0}, {5, 0, 0}, {3, 5, 3}, {5, 3, 3}, {160, 160, 160},
	}
	for _, l := range laws {
		for _, tt := range tests {
			// One guard element past dst must stay untouched.
			d16 := make([]int16, tt.dst+1)
			d16[tt.dst] = 12345
			if n := l.decTo(d16[:tt.dst], make([]byte, tt.src)); n != tt.want || d16[tt.dst] != 12345 {
				t.Errorf("%s DecodeTo(dst %d, src %d) = %d, want %d (guard %d)", l.name, tt.dst, tt.src, n, tt.want, d16[tt.dst])
			}
			d8 := make([]byte, tt.dst+1)
			d8[tt.dst] = 0xAB
			if n := l.encTo(d8[:tt.dst], make([]int16, tt.src)); n != tt.want || d8[tt.dst] != 0xAB {
				t.Errorf("%s EncodeTo(dst %d, src %d) = %d, want %d", l.name, tt.dst, tt.src, n, tt.want)
			}
			if n := l.law.Decode(d16[:tt.dst], make([]byte, tt.src)); n != tt.want {
				t.Errorf("%v.Decode(dst %d, src %d) = %d, want %d", l.law, tt.dst, tt.src, n, tt.want)
			}
			if n := l.law.Encode(d8[:tt.dst], make([]int16, tt.src)); n != tt.want {
				t.Errorf("%v.Encode(dst %d, src %d) = %d, want %d", l.law, tt.dst, tt.src, n, tt.want)
			}
		}
	}
}

func TestLaw(t *testing.T) {
	tests := []struct {
		law  Law
		name string
	}{
		{ULaw, "mu-law"}, {ALaw, "A-law"}, {0, "Law(0)"}, {9, "Law(9)"},
	}
	for _, tt := range tests {
		if got := tt.law.String(); got != tt.name {
			t.Errorf("Law(%d).String() = %q, want %q", uint8(tt.law), got, tt.name)
		}
	}
	dst16 := []int16{7, 7}
	dst8 := []byte{7, 7}
	for _, bad := range []Law{0, 3, 255} {
		if n := bad.Decode(dst16, []byte{1, 2}); n != 0 || dst16[0] != 7 {
			t.Errorf("%v.Decode = %d, want 0 and dst untouched", bad, n)
		}
		if n := bad.Encode(dst8, []int16{1, 2}); n != 0 || dst8[0] != 7 {
			t.Errorf("%v.Encode = %d, want 0 and dst untouched", bad, n)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	src16 := make([]int16, 160)
	src8 := make([]byte, 160)
	dst16 := make([]int16, 160)
	dst8 := make([]byte, 160)
	for _, l := range laws {
		allocs := testing.AllocsPerRun(100, func() {
			l.decTo(dst16, src8)
			l.encTo(dst8, src16)
			l.law.Decode(dst16, src8)
			l.law.Encode(dst8, src16)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per frame, want 0", l.name, allocs)
		}
	}
}

// frame is 20 ms (160 samples) of a 440 Hz tone at about -9 dBm0, the kind
// of level a call carries.
func frame() []int16 {
	f := make([]int16, 160)
	for i := range f {
		f[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return f
}

func BenchmarkDecodeULawTo(b *testing.B) { benchDecode(b, DecodeULawTo) }
func BenchmarkDecodeALawTo(b *testing.B) { benchDecode(b, DecodeALawTo) }
func BenchmarkEncodeULawTo(b *testing.B) { benchEncode(b, EncodeULawTo) }
func BenchmarkEncodeALawTo(b *testing.B) { benchEncode(b, EncodeALawTo) }

func BenchmarkLawDecode(b *testing.B) {
	l := ULaw
	benchDecode(b, l.Decode)
}

func BenchmarkLawEncode(b *testing.B) {
	l := ALaw
	benchEncode(b, l.Encode)
}

func benchDecode(b *testing.B, fn func([]int16, []byte) int) {
	src := make([]byte, 160)
	EncodeULawTo(src, frame())
	dst := make([]int16, 160)
	b.ReportAllocs()
	b.SetBytes(160)
	for b.Loop() {
		fn(dst, src)
	}
}

func benchEncode(b *testing.B, fn func([]byte, []int16) int) {
	src := frame()
	dst := make([]byte, 160)
	b.ReportAllocs()
	b.SetBytes(160)
	for b.Loop() {
		fn(dst, src)
	}
}
