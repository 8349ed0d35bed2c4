package dtmfgen

import (
	"math"
	"math/rand/v2"
)

// Music for talk-off, in sections of 8-15 s, each in its own key, tempo
// and tuning (up to 30 cents off A440), arranged either as a band (a chord
// pad, a bass line, a melody, sometimes with a harmony a third below, in
// harmonic timbres with vibrato, and sometimes drums) or as a duet of two
// nearly pure voices high up, where the DTMF frequencies are: the hardest
// music for a detector.
//
// Music can hold a real DTMF pair (two pure partials a row and a column
// apart), which no detector may reject; talk-off material must not. So every
// eighth is checked: no DTMF row and column pair of partials (within 4 % plus
// the vibrato depth) may carry more than 35 % of the power sounding in it.
// A melody note that would is drawn again, and in the end replaced by a rest.

type timbre []float64 // relative amplitude of harmonics 1, 2, ...

var timbres = []timbre{
	{1, 0.25, 0.08}, // flute-like
	{1, 0.05, 0.5, 0.05, 0.3, 0.03, 0.2, 0.02, 0.1},        // clarinet-like: odd harmonics
	{1, 0.5, 0.33, 0.25, 0.2, 0.17, 0.14, 0.12, 0.11, 0.1}, // string-like: 1/k
	{1, 0.7, 0.5, 0.2, 0.3, 0.1, 0.15, 0.05},               // reed / voice-like
	{1, 0.1, 0.02},                                         // whistle-like, nearly pure
}

type note struct {
	start, slots int     // in eighths
	midi         float64 // pitch
	gain         float64 // linear amplitude of the fundamental
	timbre       timbre
	vibHz, vib   float64 // vibrato rate and relative depth
}

func midiHz(m float64) float64 { return 440 * math.Pow(2, (m-69)/12) }

var (
	majorScale = []int{0, 2, 4, 5, 7, 9, 11}
	minorScale = []int{0, 2, 3, 5, 7, 8, 10}
	dtmfLow    = []float64{697, 770, 852, 941}
	dtmfHigh   = []float64{1209, 1336, 1477, 1633}
)

// music renders n samples of music at an arbitrary level.
func music(r *rand.Rand, n int) []float64 {
	x := make([]float64, 0, n)
	for len(x) < n {
		m := min(n-len(x), secs(r, 8, 15))
		if n-len(x)-m < 4*SampleRate {
			m = n - len(x) // no short last section
		}
		p := musicPiece(r, m, r.IntN(2) == 0)
		fade(p, SampleRate/50)
		x = append(x, p...)
	}
	return x
}

// musicPiece renders n samples of one piece, as a band or as a duet.
func musicPiece(r *rand.Rand, n int, duet bool) []float64 {
	bpm := 70 + r.Float64()*80
	slot := int(SampleRate * 60 / bpm / 2) // samples per eighth
	slots := n/slot + 2
	root := 48 + r.IntN(12)
	scale := majorScale
	if r.IntN(2) == 0 {
		scale = minorScale
	}
	degree := func(d int) int { // scale degree (any integer) to a MIDI offset
		o := d / 7
		d %= 7
		if d < 0 {
			d += 7
			o--
		}
		return 12*o + scale[d]
	}
	detune := (r.Float64()*60 - 30) / 100
	melTimbre := pick(r, timbres)
	harmony := r.IntN(2) == 0
	melody, lowest, highest := root+12, 0, 12 // MIDI of degree 0, degree range
	if duet {
		melTimbre = pick(r, timbres[len(timbres)-1:]) // whistle
		if r.IntN(2) == 0 {
			melTimbre = timbres[0] // flute
		}
		harmony = true
		melody, lowest, highest = root+24, 0, 9
	}
	vibHz, vib := 4.5+2*r.Float64(), 0.003+0.012*r.Float64()

	var notes []note
	// Chord pad and bass, one chord per bar of eight eighths; a bar whose
	// chord would sound DTMF-like is tried with other chords and octaves,
	// and in the end left to the bass alone.
	progression := []int{0, 3, 4, 5, 1}
	for bar := 0; bar*8 < slots && !duet; bar++ {
		d := pick(r, progression)
		var bass []note
		step := pick(r, []int{2, 4, 8})
		for s := 0; s < 8; s += step {
			bass = append(bass, note{start: bar*8 + s, slots: step, midi: detune + float64(root-12+degree(d)), gain: 0.5, timbre: timbre{1, 0.5, 0.3, 0.15, 0.1}})
		}
		if !musicSafe(notes, bass, bar*8, 8) {
			continue
		}
		notes = append(notes, bass...)
		for try := range 6 {
			if try > 0 {
				d = pick(r, progression)
			}
			octave := 12 * (1 - try%2)
			var chord []note
			for _, k := range []int{0, 2, 4} {
				chord = append(chord, note{start: bar * 8, slots: 8, midi: detune + float64(root+octave+degree(d+k)), gain: 0.25, timbre: timbre{1, 0.3, 0.1, 0.05, 0.03}})
			}
			if musicSafe(notes, chord, bar*8, 8) {
				notes = append(notes, chord...)
				break
			}
		}
	}

	// Melody, checked slot by slot against what already sounds.
	cur := (lowest + highest) / 2 // scale degree above the melody's root
	for s := 0; s < slots; {
		length := pick(r, []int{1, 1, 2, 2, 2, 3, 4, 6})
		length = min(length, slots-s)
		if r.IntN(8) == 0 { // rest
			s += length
			continue
		}
		placed := false
		for try := 0; try < 8 && !placed; try++ {
			c := cur + r.IntN(7) - 3
			c = max(lowest, min(c, highest))
			m := note{start: s, slots: length, midi: detune + float64(melody+degree(c)), gain: 0.6 + 0.3*r.Float64(), timbre: melTimbre, vibHz: vibHz, vib: vib}
			add := []note{m}
			if harmony {
				h := m
				h.midi = detune + float64(melody+degree(c-pick(r, []int{2, 2, 4})))
				h.gain *= 0.6
				add = append(add, h)
			}
			if musicSafe(notes, add, s, length) {
				notes = append(notes, add...)
				cur = c
				placed = true
			}
		}
		s += length
	}

	x := make([]float64, n)
	for _, nt := range notes {
		renderNote(r, x, nt, slot)
	}
	if !duet && r.IntN(2) == 0 {
		drums(r, x, slot)
	}
	return x
}

// musicSafe reports whether adding notes add at slots [s, s+length) keeps
// every slot free of a DTMF-like pair. A note is counted in the slot after
// it ends too, for its release.
func musicSafe(notes, add []note, s, length int) bool {
	for k := s; k < s+length+1; k++ {
		type partial struct{ f, p, tol float64 }
		var ps []partial
		var total float64
		for _, set := range [][]note{notes, add} {
			for _, nt := range set {
				if k < nt.start || k > nt.start+nt.slots {
					continue
				}
				f0 := midiHz(nt.midi)
				for h, a := range nt.timbre {
					f := f0 * float64(h+1)
					if f > 3800 {
						break
					}
					p := (nt.gain * a) * (nt.gain * a) / 2
					total += p
					ps = append(ps, partial{f, p, 0.04 + nt.vib})
				}
			}
		}
		near := func(target float64) float64 {
			var sum float64
			for _, p := range ps {
				if math.Abs(p.f/target-1) < p.tol {
					sum += p.p
				}
			}
			return sum
		}
		for _, lo := range dtmfLow {
			pl := near(lo)
			if pl == 0 {
				continue
			}
			for _, hi := range dtmfHigh {
				if ph := near(hi); ph > 0 && pl+ph > total*0.35 {
					return false
				}
			}
		}
	}
	return true
}

// renderNote adds one note with an attack-decay-sustain-release envelope
// and delayed vibrato.
func renderNote(r *rand.Rand, x []float64, nt note, slot int) {
	start := nt.start * slot
	on := nt.slots * slot
	attack := int(SampleRate * (0.005 + 0.025*r.Float64()))
	decay := int(SampleRate * 0.08)
	release := int(SampleRate * (0.03 + 0.05*r.Float64()))
	sustain := 0.6 + 0.3*r.Float64()
	f0 := midiHz(nt.midi)
	phase := r.Float64() * 2 * math.Pi
	for i := 0; i < on+release; i++ {
		j := start + i
		if j >= len(x) {
			return
		}
		var env float64
		switch {
		case i < attack:
			env = float64(i) / float64(attack)
		case i < attack+decay:
			env = 1 - (1-sustain)*float64(i-attack)/float64(decay)
		default:
			env = sustain
		}
		if i >= on {
			env *= 1 - float64(i-on)/float64(release)
		}
		f := f0
		if nt.vib > 0 {
			onset := min(1, float64(i)/(0.15*SampleRate))
			f *= 1 + nt.vib*onset*math.Sin(2*math.Pi*nt.vibHz*float64(i)/SampleRate)
		}
		phase += 2 * math.Pi * f / SampleRate
		var v float64
		for h, a := range nt.timbre {
			if f0*float64(h+1) > 3800 {
				break
			}
			v += a * math.Sin(float64(h+1)*phase)
		}
		x[j] += nt.gain * env * v
	}
}

// drums adds a kick on beats 1 and 3 and a hi-hat on every eighth.
func drums(r *rand.Rand, x []float64, slot int) {
	for s := 0; s*slot < len(x); s++ {
		at := s * slot
		if s%4 == 0 {
			n := SampleRate / 8
			phase := 0.0
			for i := 0; i < n && at+i < len(x); i++ {
				t := float64(i) / SampleRate
				f := 50 + 100*math.Exp(-t*30)
				phase += 2 * math.Pi * f / SampleRate
				x[at+i] += 1.2 * math.Exp(-t*20) * math.Sin(phase)
			}
		}
		n := SampleRate / 25
		var prev float64
		for i := 0; i < n && at+i < len(x); i++ {
			w := r.NormFloat64()
			x[at+i] += 0.08 * math.Exp(-float64(i)/(0.008*SampleRate)) * (w - prev) // crude high-pass
			prev = w
		}
	}
}
