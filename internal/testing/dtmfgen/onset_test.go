package dtmfgen

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRecordings reads testdata/voices: mu-law WAVs at 8 kHz, voices and
// music, each with sound in it.
func TestRecordings(t *testing.T) {
	recs, err := Recordings()
	if err != nil {
		t.Fatal(err)
	}
	voices, music := 0, 0
	for _, r := range recs {
		if r.Music {
			music++
		} else {
			voices++
		}
		x := make([]float64, len(r.Samples))
		for i, v := range r.Samples {
			x[i] = float64(v)
		}
		if lvl := dBm0Of(activePower(x)); len(x) < 10*SampleRate || lvl < -40 || lvl > -3 {
			t.Errorf("%s: %d samples at %.1f dBm0 active", r.Name, len(x), lvl)
		}
	}
	if voices < 5 || music < 1 {
		t.Fatalf("%d voices and %d pieces of music, want 5 and 1", voices, music)
	}
}

// TestGenerateOnset checks the onset cases are what they say: the
// background at each onset at the level asked, onsets all across the frame,
// and the background absent after (before) the onset where placed so.
func TestGenerateOnset(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	noise := whiteNoise(r, 20*SampleRate, -20)
	bg := OnsetBackground{Name: "white", Samples: ulawRoundTrip(noise)}
	for _, place := range Placements {
		c, err := GenerateOnset(bg, place, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Tones) != len(OnsetLevelsDB)*onsetPerLevel || len(c.Presses) != len(c.Tones) {
			t.Fatalf("%s: %d tones, %d presses", c.Name, len(c.Tones), len(c.Presses))
		}
		var offsets [8]int
		for i, tn := range c.Tones {
			p := c.Presses[i]
			offsets[p.Offset/20]++
			x := make([]float64, len(c.Speech))
			for j, v := range c.Speech {
				x[j] = float64(v)
			}
			var w []float64
			switch place {
			case PlaceBefore:
				w = x[tn.Start-320 : tn.Start-16]
			case PlaceAfter:
				w = x[tn.Start+16 : tn.Start+320]
			default:
				w = x[tn.Start-160 : tn.Start+160]
			}
			got := 10 * math.Log10(meanSquare(w)/tonePower(tn))
			if math.Abs(got-p.LevelDB) > 1.5 {
				t.Errorf("%s: tone %d: background at %.1f dB re the tone, want %.0f", c.Name, i, got, p.LevelDB)
			}
			var silent []float64
			switch place {
			case PlaceBefore:
				silent = x[tn.Start : tn.End+400]
			case PlaceAfter:
				silent = x[tn.Start-400 : tn.Start]
			}
			if silent != nil && dBm0Of(meanSquare(silent)) > -55 {
				t.Errorf("%s: tone %d: background at %.1f dBm0 where it should be silent", c.Name, i, dBm0Of(meanSquare(silent)))
			}
			if tn.Expect == ExpectReject {
				t.Errorf("%s: tone %d is a reject", c.Name, i)
			}
		}
		for k, n := range offsets {
			if n == 0 {
				t.Errorf("%s: no onset at %d-%d in the frame", c.Name, 20*k, 20*k+19)
			}
		}
	}
}
