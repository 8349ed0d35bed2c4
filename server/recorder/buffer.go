package recorder

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// bufSize holds a second of stereo PCM16 (32 000 bytes) with room to spare:
// the recorder writes its buffer out when it patches the header, every
// second, so a call's audio reaches the file in one write a second instead
// of fifty.
const bufSize = 40 << 10

var (
	errWhence = errors.New("recorder: seek relative to the end")
	errSeek   = errors.New("recorder: seek before the start")
)

// fileBuffer is the io.WriteSeeker the recording's wav.Writer writes to: it
// keeps the bytes written at one place in memory and writes them to the
// file (with WriteAt) when a write goes elsewhere, when it is full, and on
// flush. Seeks only move its own position: no system call.
type fileBuffer struct {
	f   *os.File
	buf []byte // the bytes at off in the file, not written yet
	off int64
	pos int64 // where the next Write goes
}

func newFileBuffer(f *os.File) *fileBuffer {
	return &fileBuffer{f: f, buf: make([]byte, 0, bufSize)}
}

func (b *fileBuffer) Write(p []byte) (int, error) {
	if len(b.buf) > 0 && (b.pos != b.off+int64(len(b.buf)) || len(b.buf)+len(p) > cap(b.buf)) {
		if err := b.flush(); err != nil {
			return 0, err
		}
	}
	if len(p) > cap(b.buf) {
		n, err := b.f.WriteAt(p, b.pos)
		b.pos += int64(n)
		if err != nil {
			return n, fmt.Errorf("recorder: %w", err)
		}
		return n, nil
	}
	if len(b.buf) == 0 {
		b.off = b.pos
	}
	b.buf = append(b.buf, p...)
	b.pos += int64(len(p))
	return len(p), nil
}

func (b *fileBuffer) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += b.pos
	default:
		return b.pos, errWhence
	}
	if offset < 0 {
		return b.pos, fmt.Errorf("%w: %d", errSeek, offset)
	}
	b.pos = offset
	return offset, nil
}

// flush writes the buffered bytes to the file.
func (b *fileBuffer) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	n, err := b.f.WriteAt(b.buf, b.off)
	if err != nil {
		// Keep what was not written, to try again.
		b.off += int64(n)
		b.buf = b.buf[:copy(b.buf, b.buf[n:])]
		return fmt.Errorf("recorder: %w", err)
	}
	b.buf = b.buf[:0]
	return nil
}
