package dtmfgen

import (
	"context"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"
)

// SuiteSpecs is the standard set of cases for a seed, before generation.
// Every case gets its own seed from the suite's seed and its name, so
// changing one case leaves the others as they were.
func SuiteSpecs(seed int64) []Spec {
	var specs []Spec
	add := func(s Spec, tune func(r *rand.Rand, s *Spec)) {
		s.Seed = caseSeed(seed, s.Name)
		if tune != nil {
			tune(rand.New(rand.NewPCG(uint64(s.Seed), 1)), &s)
		}
		specs = append(specs, s)
	}
	exact := R(-0.003, 0.003) // a real phone's frequency error
	nominal := Press{Ms: R(50, 150), DBm0: R(-20, -6), Ref: RefWeaker, TwistDB: R(-2, 2), LowOffset: exact, HighOffset: exact}
	with := func(p Press, f func(*Press)) Press { f(&p); return p }

	add(Spec{Name: "gen-nominal", Bursts: 3, PerBurst: 5, Presses: []Press{nominal}}, nil)

	add(Spec{Name: "gen-fast", Bursts: 3, PerBurst: 8, Presses: []Press{
		with(nominal, func(p *Press) { p.Ms, p.GapMs, p.DBm0 = R(40), R(40), R(-16, -6) }), // exactly at the limit
		with(nominal, func(p *Press) { p.Ms, p.GapMs, p.DBm0 = R(41, 48), R(40, 52), R(-16, -6) }),
	}}, nil)

	quiet := func(level float64, ref LevelRef, twist Range) Press {
		return with(nominal, func(p *Press) { p.DBm0, p.Ref, p.TwistDB = R(level), ref, twist })
	}
	add(Spec{Name: "gen-quiet", Bursts: 3, PerBurst: 5, Presses: []Press{
		quiet(-26, RefLow, R(0)),        // both at -26
		quiet(-26, RefWeaker, R(0, 4)),  // low at -26, high above
		quiet(-26, RefWeaker, R(-8, 0)), // high at -26, low above
		quiet(-26, RefWeaker, R(4)),     // -26 / -22
		quiet(-26, RefWeaker, R(-8)),    // -18 / -26
		quiet(-26, RefWeaker, R(-2, 2)), // weaker at -26, stronger near
		with(nominal, func(p *Press) { p.DBm0 = R(-26, -23) }),
	}}, nil)

	loud := func(level Range, ref LevelRef, twist Range) Press {
		return with(nominal, func(p *Press) { p.DBm0, p.Ref, p.TwistDB = level, ref, twist })
	}
	add(Spec{Name: "gen-loud", Bursts: 3, PerBurst: 4, Presses: []Press{
		loud(R(0), RefLow, R(0)), // 0 dBm0 each: clips in mu-law, as on a real line
		loud(R(-1, 0), RefStronger, R(-1, 1)),
		loud(R(-2), RefLow, R(0)),
		loud(R(-2), RefWeaker, R(0, 2)),
		loud(R(-2), RefWeaker, R(-2, 0)),
	}}, nil)

	twist := func(level Range, t Range) Press {
		return with(nominal, func(p *Press) { p.DBm0, p.Ref, p.TwistDB = level, RefLow, t })
	}
	add(Spec{Name: "gen-twist", Bursts: 4, PerBurst: 4, Presses: []Press{
		twist(R(-18, -6), R(4)),     // detect: high 4 dB above
		twist(R(-14, -4), R(-8)),    // detect: high 8 dB below
		twist(R(-14, -6), R(-8, 4)), // detect
		twist(R(-16, -6), R(6)),     // either
		twist(R(-14, -4), R(-10)),   // either
		twist(R(-16, -6), R(5)),     // either
		twist(R(-14, -4), R(-9)),    // either
	}}, nil)

	offset := func(lo, hi Range) Press {
		return with(nominal, func(p *Press) { p.DBm0, p.LowOffset, p.HighOffset = R(-16, -6), lo, hi })
	}
	var offsets, offtols []Press
	for _, sl := range []float64{-1, 1} {
		for _, sh := range []float64{-1, 1} {
			offsets = append(offsets,
				offset(R(sl*0.015), R(sh*0.015)), // detect
				offset(R(sl*0.025), R(sh*0.025)), // either
			)
			offtols = append(offtols, offset(R(sl*0.035, sl*0.05), R(sh*0.035, sh*0.05)))
		}
		offsets = append(offsets, offset(R(-0.015, 0.015), R(-0.015, 0.015)))
		offtols = append(offtols,
			offset(R(sl*0.035, sl*0.05), exact), // the low frequency alone off
			offset(exact, R(sl*0.035, sl*0.05)), // the high frequency alone off
		)
	}
	add(Spec{Name: "gen-offset", Bursts: 4, PerBurst: 5, Presses: offsets}, nil)
	add(Spec{Name: "gen-offtol", Bursts: 3, PerBurst: 4, Presses: offtols}, nil)

	add(Spec{Name: "gen-noisy", Bursts: 3, PerBurst: 5, NoiseSNR: 15}, func(r *rand.Rand, s *Spec) {
		// All presses near one level, so most sit close to 15 dB SNR.
		c := R(-16, -8).draw(r)
		s.Presses = []Press{with(nominal, func(p *Press) { p.DBm0, p.Ref = R(c-1, c+1), RefLow })}
	})

	add(Spec{Name: "gen-long", Bursts: 3, PerBurst: 2, Presses: []Press{
		with(nominal, func(p *Press) { p.Ms, p.GapMs = R(500, 2000), R(150, 600) }),
	}}, nil)

	add(Spec{Name: "gen-short", Bursts: 3, PerBurst: 6, Presses: []Press{
		with(nominal, func(p *Press) { p.Ms, p.DBm0 = R(10, 22.9), R(-16, -4) }), // reject
		with(nominal, func(p *Press) { p.Ms, p.DBm0 = R(10, 22.9), R(-16, -4) }), // reject
		with(nominal, func(p *Press) { p.Ms, p.DBm0 = R(23, 39.9), R(-16, -4) }), // either
	}}, nil)

	// Speech under the presses, 10-28 dB below them: a sixth "either" (SNR
	// under 15 dB), unless the levels' limits move it.
	add(Spec{Name: "gen-overlap", Overlap: true, LevelDBm0: R(-28, -16), OverlapDB: R(10, 28), Bursts: 4, PerBurst: 4, Presses: []Press{
		with(nominal, func(p *Press) { p.Ms, p.DBm0 = R(60, 150), R(-16, -6) }),
	}}, nil)

	add(Spec{Name: "gen-talkoff-speech", Background: BackgroundSpeech, Speakers: 5, Length: 60 * time.Second}, nil)
	add(Spec{Name: "gen-talkoff-music", Background: BackgroundMusic, Length: 30 * time.Second}, nil)
	add(Spec{Name: "gen-talkoff-noise", Background: BackgroundMixedNoise, Speakers: 6, Length: 30 * time.Second}, nil)
	return specs
}

// Suite generates the standard set of cases for a seed (names begin with
// "gen-"): nominal, fast, quiet, loud, twist, offset, offtol, noisy, long,
// short, overlap, and talk-off on speech, music and noise. It uses as many
// goroutines as GOMAXPROCS and waits for them all.
func Suite(ctx context.Context, seed int64) ([]*Case, error) {
	specs := SuiteSpecs(seed)
	cases := make([]*Case, len(specs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(specs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := Generate(ctx, specs[i])
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					continue
				}
				cases[i] = c
			}
		}()
	}
	for i := range specs {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return cases, nil
}

// caseSeed derives a case's seed from the suite's seed and its name.
func caseSeed(seed int64, name string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	x := uint64(seed) ^ h.Sum64()
	// splitmix64 finalizer
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return int64(x)
}
