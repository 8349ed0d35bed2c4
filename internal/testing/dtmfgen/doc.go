// Package dtmfgen generates caller-side test audio for the DTMF masking
// engine: speech, music and noise from seeded generators, with key presses
// laid on top whose truth (digit, interval, frequencies, levels, and what a
// detector must do with them) is known exactly.
//
// It exists so the engine is tuned to the specification of issue 2 (ITU-T
// Q.24 / Bellcore limits), not to the files of the corpus in
// testdata/dtmf-corpus: every case can be regenerated with other voices and
// other seeds.
//
// Speech comes from espeak-ng (the Debian package espeak-ng), cached per
// voice and text in a directory under os.TempDir. Everything else (tones,
// music, noise, resampling, G.711, WAV) is plain Go, so a Case depends only on
// its Spec and the installed espeak-ng.
//
// Use Suite for the standard set (cases named gen-nominal, gen-fast, ...,
// gen-talkoff-music), Generate for one Spec of your own, and WriteCase and
// ReadCase for the corpus's file layout (ReadCase reads the corpus in
// testdata/dtmf-corpus too). To listen to a suite:
//
//	go test ./internal/testing/dtmfgen -run TestDump -dump /tmp/gen -seed 2 -v
//
// and the package's tests check any seed with -seed N.
//
// The truth is written by the limits of issue 2 (see Classify): detect,
// either or reject, with speech and noise under a tone counted in its
// signal-to-noise ratio.
//
// The audio is 8 kHz mono linear PCM that has been through one G.711 mu-law
// encode and decode, as a caller's leg would be. Levels are in dBm0: a 0 dBm0
// sine has a peak of 22860 (the corpus README's scale).
package dtmfgen
