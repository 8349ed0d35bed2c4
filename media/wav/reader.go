package wav

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Reader streams the samples of a WAV file.
//
// NewReader reads the header up to the start of the data chunk; Read then
// reads no further than the end of the data chunk, so the underlying reader
// can be a stream. Read allocates nothing.
//
// A data chunk whose size is unknown is read to the end of the input: size
// 0xFFFFFFFF is what Writer leaves until Flush or Close (so a recording cut
// off by a crash), 0x7FFFF000 what sox writes to a pipe. Bytes of a trailing
// partial frame are ignored.
type Reader struct {
	r          io.Reader
	h          Header
	frameBytes int   // bytes per frame
	declared   int64 // declared data chunk size; -1 unknown
	avail      int64 // bytes of whole frames left to read; -1 unknown
	done       int64 // data bytes read so far
	buf        []byte
	err        error // sticky: io.EOF, ErrTruncated or a read error
}

const readBufSize = 4096 // a multiple of every frame size (1, 2, 4)

// NewReader reads the WAV header from r, up to the start of the data chunk.
func NewReader(r io.Reader) (*Reader, error) {
	p := parser{r: r}
	h, size, err := p.header()
	if err != nil {
		return nil, err
	}
	rd := &Reader{
		r:          r,
		h:          h,
		frameBytes: h.Channels * h.Format.bytesPerSample(),
		declared:   -1,
		avail:      -1,
		buf:        make([]byte, readBufSize),
	}
	if size != unknownSize && size != soxPipeSize {
		rd.declared = int64(size)
		rd.avail = int64(size) / int64(rd.frameBytes) * int64(rd.frameBytes)
	}
	return rd, nil
}

// Header returns the format of the audio.
func (r *Reader) Header() Header { return r.h }

// Frames returns the number of frames (samples per channel) the data chunk
// declares, or -1 if its size is unknown.
func (r *Reader) Frames() int64 {
	if r.declared < 0 {
		return -1
	}
	return r.declared / int64(r.frameBytes)
}

// Read reads interleaved linear samples into dst, a whole number of frames at
// a time (len(dst) is rounded down to a multiple of the channel count), and
// returns how many samples it stored. At the end of the data it returns
// 0, io.EOF. If the input ends before the data chunk does, it returns the
// whole frames it got and an error wrapping ErrTruncated saying how many bytes
// were missing; every later call returns that error again.
func (r *Reader) Read(dst []int16) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	ch := r.h.Channels
	want := len(dst) / ch * ch
	if want == 0 {
		if len(dst) == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("wav: Read needs room for one %d-sample frame: %w", ch, io.ErrShortBuffer)
	}
	bps := r.h.Format.bytesPerSample()
	n := 0
	for n < want {
		k := min((want-n)*bps, len(r.buf))
		if r.avail >= 0 {
			k = int(min(int64(k), r.avail))
		}
		if k == 0 {
			break
		}
		got, err := io.ReadFull(r.r, r.buf[:k])
		r.done += int64(got)
		if r.avail >= 0 {
			r.avail -= int64(got)
		}
		whole := got / r.frameBytes * r.frameBytes
		n += decode(dst[n:], r.buf[:whole], r.h.Format)
		if err != nil {
			r.err = r.readErr(err)
			if errors.Is(r.err, io.EOF) && n > 0 {
				return n, nil
			}
			return n, r.err
		}
	}
	if n == 0 {
		r.err = io.EOF
		return 0, io.EOF
	}
	return n, nil
}

// readErr turns an error from the underlying reader into Read's error.
func (r *Reader) readErr(err error) error {
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("wav: reading data: %w", err)
	}
	if r.declared < 0 {
		return io.EOF // unknown length: the end of input is the end of data
	}
	return fmt.Errorf("%w: data chunk declares %d bytes, input ends after %d (%d missing)",
		ErrTruncated, r.declared, r.done, r.declared-r.done)
}

// parser reads the header, keeping count of the bytes read so that a short
// input can be reported against the RIFF size it declares.
type parser struct {
	r    io.Reader
	pos  int64 // bytes read
	riff int64 // declared end of the RIFF chunk (8 + its size)
}

// header reads up to the start of the data chunk and returns the format and
// the data chunk's declared size.
func (p *parser) header() (Header, uint32, error) {
	var b [fmtSizeExtended]byte
	n, err := io.ReadFull(p.r, b[:12])
	p.pos += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return Header{}, 0, fmt.Errorf("wav: reading header: %w", err)
	}
	if err := checkMagic(b[:n]); err != nil {
		return Header{}, 0, err
	}
	if n < 12 {
		return Header{}, 0, fmt.Errorf("%w: RIFF header needs 12 bytes, input has %d (%d missing)", ErrTruncated, n, 12-n)
	}
	p.riff = 8 + int64(le.Uint32(b[4:]))
	var h Header
	haveFmt := false
	for {
		id, size, err := p.chunkHeader(b[:8], haveFmt)
		if err != nil {
			return Header{}, 0, err
		}
		switch {
		case id == "fmt " && !haveFmt:
			k := min(size, fmtSizeExtended)
			if err := p.read(b[:k], id, size); err != nil {
				return Header{}, 0, err
			}
			if h, err = parseFmt(b[:k], size); err != nil {
				return Header{}, 0, err
			}
			haveFmt = true
			if err := p.skip(id, size, int64(size-k)); err != nil {
				return Header{}, 0, err
			}
		case id == "data":
			if !haveFmt {
				return Header{}, 0, fmt.Errorf("%w: the data chunk comes before the fmt chunk, so its format is unknown", ErrUnsupported)
			}
			return h, size, nil
		default:
			if err := p.skip(id, size, int64(size)); err != nil {
				return Header{}, 0, err
			}
		}
	}
}

// checkMagic checks the start of the RIFF header (b is its first up to 12
// bytes).
func checkMagic(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: the input is empty", ErrNotWAV)
	}
	id := b[:min(len(b), 4)]
	switch {
	case string(id) == "RIFX":
		return fmt.Errorf("%w: big-endian RIFX WAV; %s, little-endian RIFF", ErrUnsupported, supported)
	case string(id) == "RF64":
		return fmt.Errorf("%w: RF64 (64-bit) WAV; %s, in a RIFF file under 4 GiB", ErrUnsupported, supported)
	case !bytes.HasPrefix([]byte("RIFF"), id):
		return fmt.Errorf("%w: starts with %q, not \"RIFF\"", ErrNotWAV, id)
	}
	if len(b) > 8 {
		if form := b[8:]; !bytes.HasPrefix([]byte("WAVE"), form) {
			return fmt.Errorf("%w: RIFF form type %q, not \"WAVE\"", ErrNotWAV, form)
		}
	}
	return nil
}

// chunkHeader reads the next chunk's id and size into b (8 bytes).
func (p *parser) chunkHeader(b []byte, haveFmt bool) (string, uint32, error) {
	n, err := io.ReadFull(p.r, b)
	p.pos += int64(n)
	switch {
	case err == nil:
		return string(b[:4]), le.Uint32(b[4:]), nil
	case errors.Is(err, io.EOF):
		what := "data"
		if !haveFmt {
			what = "fmt"
		}
		return "", 0, fmt.Errorf("%w: input ends after %d bytes, before the %s chunk%s", ErrTruncated, p.pos, what, p.missing())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "", 0, fmt.Errorf("%w: chunk header needs 8 bytes, input has %d (%d missing)", ErrTruncated, n, 8-n)
	}
	return "", 0, fmt.Errorf("wav: reading header: %w", err)
}

// missing says how much of the declared RIFF chunk is missing, if it says.
func (p *parser) missing() string {
	if p.riff > p.pos && p.riff < 8+unknownSize {
		return fmt.Sprintf(" (the RIFF header declares a %d-byte file, %d missing)", p.riff, p.riff-p.pos)
	}
	return ""
}

// read fills b from chunk id of declared size size.
func (p *parser) read(b []byte, id string, size uint32) error {
	n, err := io.ReadFull(p.r, b)
	p.pos += int64(n)
	if err != nil {
		return p.shortChunk(err, id, size, int64(len(b)-n))
	}
	return nil
}

// skip discards the rest (n bytes) of chunk id of declared size size and its
// pad byte if size is odd.
func (p *parser) skip(id string, size uint32, n int64) error {
	n += int64(size & 1)
	got, err := io.CopyN(io.Discard, p.r, n)
	p.pos += got
	if err != nil {
		return p.shortChunk(err, id, size, n-got)
	}
	return nil
}

// shortChunk reports a chunk cut short with missing bytes unread.
func (p *parser) shortChunk(err error, id string, size uint32, missing int64) error {
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("wav: reading %q chunk: %w", id, err)
	}
	return fmt.Errorf("%w: %q chunk declares %d bytes (plus a pad byte if odd), input ends %d bytes short", ErrTruncated, id, size, missing)
}
