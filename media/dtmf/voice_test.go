package dtmf

import (
	"math"
	"math/rand/v2"
	"testing"
)

// firstMask feeds x block by block and returns the first block asking for
// masking, or -1.
func firstMask(x []int16) int {
	d := NewDetector()
	for b := 0; b+BlockSamples <= len(x); b += BlockSamples {
		if d.Block(x[b:b+BlockSamples]).Mask > 0 {
			return b / BlockSamples
		}
	}
	return -1
}

// voice is 200 ms of a steady vowel on f0 with two strong harmonics at
// amp (its formants), the harmonics beside them at amp*near and the rest
// at amp*rest.
func voice(f0 float64, strong [2]int, amp, near, rest float64) []int16 {
	out := make([]int16, 1600)
	for i := range out {
		var v float64
		for h := 1; float64(h)*f0 < 3800; h++ {
			a := amp * rest
			switch h {
			case strong[0], strong[1]:
				a = amp
			case strong[0] - 1, strong[0] + 1, strong[1] - 1, strong[1] + 1:
				a = amp * near
			}
			v += a * math.Sin(2*math.Pi*float64(h)*f0*float64(i)/SampleRate+float64(h))
		}
		out[i] = int16(max(-32768, min(32767, v)))
	}
	return out
}

// TestVoicedPairIsNoKeyPress: a steady vowel whose 4th and 7th harmonics
// sit on 852 and 1477 Hz (a fundamental of 213 Hz, the 7th 1491 Hz, 0.9 %
// off) holds that pair at 65 to 75 % of the window, purely: no masking,
// because the harmonics beside them (at -8 dB, as a formant leaves them)
// give the voice away (voiced). The
// same pair as a key press, with white noise as loud as the vowel's other
// harmonics, is masked from its first whole window.
func TestVoicedPairIsNoKeyPress(t *testing.T) {
	v := voice(213, [2]int{4, 7}, 6000, 0.4, 0.1)
	d := NewDetector()
	var share float32
	for b := 0; b+BlockSamples <= len(v); b += BlockSamples {
		if r := d.Block(v[b : b+BlockSamples]); r.Mask > 0 {
			t.Fatalf("the vowel is masked at block %d (pair share %.2f)", b/BlockSamples, d.lastShare)
		}
		share = max(share, d.lastShare)
	}
	if share < onShareUnvoiced || share >= onSharePure {
		t.Fatalf("the vowel's pair holds %.2f of the window, want it between %.2f and %.2f for this test to mean anything", share, onShareUnvoiced, onSharePure)
	}
	if d.lastShare == 0 {
		t.Fatal("the detector never judged a window")
	}

	// The key press: the pair alone, then with noise making up a third of the window (the pair at 65 to 75 %).
	r := rand.New(rand.NewPCG(3, 3))
	k := make([]int16, 1600)
	for i := range k {
		x := float64(i)
		tone := 6000*math.Sin(2*math.Pi*852*x/SampleRate) + 6000*math.Sin(2*math.Pi*1477*x/SampleRate+1)
		if i < 400 {
			tone = 0
		}
		k[i] = int16(tone + r.NormFloat64()*4100)
	}
	if b := firstMask(k); b < 0 || b > 400/BlockSamples+windowBlocks {
		t.Fatalf("the key press under noise is first masked at block %d, want by its first whole window (block %d)", b, 400/BlockSamples+windowBlocks)
	}
}
