// Package maskscore is the project's own judge of masked audio, for tests.
//
// It implements the measures of the DTMF corpus README
// (testdata/dtmf-corpus/README.md): the masker's delay found by
// cross-correlation outside the tones, the leak of every caller tone into the
// output, the speech kept outside the tones, the flat replacement tone, and
// the independent detectors (spandsp's dtmf_rx, multimon-ng, dtmf2num) run on
// the output. It loads the corpus cases and writes 8 kHz mono PCM16 WAV files
// itself, so it depends on no other package of the project.
//
// A masking test reads:
//
//	dir, err := maskscore.CorpusDir() // skip on errors.Is(err, maskscore.ErrNoCorpus)
//	c, err := maskscore.LoadCase(dir, "nominal")
//	out := runMasker(c.Samples) // what a listener hears, look-ahead included
//	r, err := maskscore.Score(c.Samples, out, c.Tones, maskscore.Options{})
//	for _, p := range r.Problems(maskscore.DefaultLimits()) {
//		t.Error(p)
//	}
//	base := maskscore.Delayed(maskscore.SpeechOnly(c), r.Delay)
//	for _, d := range maskscore.Detectors() {
//		want, err := d.FindSamples(ctx, base) // skip on errors.Is(err, maskscore.ErrToolMissing)
//		got, err := d.FindSamples(ctx, out)
//		if extra := maskscore.ExtraDigits(want, got); extra != "" { ... }
//	}
//
// DtmfRxBench runs build/spandsp's benchmark, so a Go benchmark can report
// the Masker's cost and spandsp's dtmf_rx cost measured in the same run.
//
// What the leak measure implies for a masker: inside the caller's tone the
// output is modelled as the caller's tone plus one steady replacement tone
// (and its 2nd and 3rd harmonics). Anything else there that correlates with
// the caller's tone counts as leak, even without a caller sample: a fade-in
// or fade-out of the replacement inside the tone, a gap in it, or
// distortion products near the DTMF frequencies (G.711 quantization of the
// replacement tone makes harmonics of its period). Keep the replacement
// steady from before the tone's start to after its end, and prefer a
// frequency whose G.711-quantized harmonics stay clear of the DTMF
// frequencies (2000 Hz is exactly periodic in 4 samples and scores at the
// floor; 400 Hz at -10 dBm0 scores about -33 dB on the quiet case).
package maskscore
