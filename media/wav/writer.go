package wav

import (
	"fmt"
	"io"
)

// Writer streams samples into a WAV file.
//
// It is made for recordings that grow for as long as a call lasts.
// NewWriter writes the header at once with the RIFF and data sizes set to
// 0xFFFFFFFF ("unknown"), which Reader (and ReadFile) read as "the data runs
// to the end of the file": a recording cut off by a crash stays readable up
// to its last whole frame. Flush patches the sizes to what has been written
// so far, so other programs can read the file while it grows; Close patches
// them for the last time. The sizes are patched by seeking back to the
// header, which is why the output must be an io.WriteSeeker; neither Flush
// nor Close syncs to disk or closes the output.
//
// Write allocates nothing. A WAV file holds at most 4 GiB: about 74 hours of
// 8 kHz mono PCM16, or 149 hours of G.711; Write refuses to go past it.
// While the data size is odd (G.711 mono, an odd number of frames), a
// flushed header counts the pad byte that only Close writes.
type Writer struct {
	w      io.WriteSeeker
	h      Header
	start  int64 // offset of the header in w
	data   int64 // data bytes written
	max    int64 // most data bytes allowed
	err    error // sticky write error
	closed bool
	cerr   error // what Close returned
	buf    [4096]byte
}

// NewWriter writes a WAV header for h at w's current offset and returns a
// Writer for the samples.
func NewWriter(w io.WriteSeeker, h Header) (*Writer, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	start, err := w.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("wav: finding the output offset: %w", err)
	}
	wr := &Writer{w: w, h: h, start: start, max: maxData(h.Format)}
	if _, err := w.Write(appendHeader(wr.buf[:0], h, unknownSize)); err != nil {
		return nil, fmt.Errorf("wav: writing header: %w", err)
	}
	return wr, nil
}

// Write appends interleaved samples, a whole number of frames, encoded in the
// header's format.
func (w *Writer) Write(samples []int16) error {
	switch {
	case w.closed:
		return ErrClosed
	case w.err != nil:
		return w.err
	case len(samples)%w.h.Channels != 0:
		return partialFrame(len(samples), w.h.Channels)
	}
	bps := w.h.Format.bytesPerSample()
	if size := w.data + int64(len(samples)*bps); size > w.max {
		return tooLarge(size)
	}
	for len(samples) > 0 {
		n := encode(w.buf[:], samples, w.h.Format)
		k, err := w.w.Write(w.buf[:n*bps])
		w.data += int64(k)
		if err != nil {
			w.err = fmt.Errorf("wav: writing data: %w", err)
			return w.err
		}
		samples = samples[n:]
	}
	return nil
}

// Flush patches the header's sizes to the data written so far.
func (w *Writer) Flush() error {
	switch {
	case w.closed:
		return ErrClosed
	case w.err != nil:
		return w.err
	}
	if err := w.patch(); err != nil {
		w.err = err
	}
	return w.err
}

// Close writes the pad byte the data chunk needs if its size is odd and
// patches the header's sizes. It does not close the output. Closing again
// returns the same result.
func (w *Writer) Close() error {
	if w.closed {
		return w.cerr
	}
	w.closed = true
	w.cerr = w.err
	if w.data%2 == 1 {
		w.buf[0] = 0
		if _, err := w.w.Write(w.buf[:1]); err != nil && w.cerr == nil {
			w.cerr = fmt.Errorf("wav: writing pad byte: %w", err)
		}
	}
	// Patch even after a write error: the header then matches what is there.
	if err := w.patch(); err != nil && w.cerr == nil {
		w.cerr = err
	}
	return w.cerr
}

// patch rewrites the header with the current sizes and returns to the end.
func (w *Writer) patch() error {
	end, err := w.w.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("wav: patching header: %w", err)
	}
	if _, err := w.w.Seek(w.start, io.SeekStart); err != nil {
		return fmt.Errorf("wav: patching header: %w", err)
	}
	// w.buf is free between writes; w.data <= w.max fits in 32 bits.
	_, err = w.w.Write(appendHeader(w.buf[:0], w.h, uint32(w.data)))
	if _, serr := w.w.Seek(end, io.SeekStart); err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("wav: patching header: %w", err)
	}
	return nil
}
