package recorder

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestFileBuffer: what goes through the buffer, appended, patched in place
// and written past its size, is in the file once flushed, and nothing
// before.
func TestFileBuffer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := newFileBuffer(f)
	var want []byte
	write := func(p []byte) {
		t.Helper()
		if n, err := b.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	write([]byte("HEAD"))
	want = append(want, "HEAD"...)
	for i := range 50 { // a second of stereo PCM16
		p := bytes.Repeat([]byte{byte(i)}, 640)
		write(p)
		want = append(want, p...)
	}
	if got, _ := os.ReadFile(path); len(got) != 0 {
		t.Fatalf("%d bytes in the file before a flush", len(got))
	}
	// A patch at the start, as wav.Writer does it.
	end, _ := b.Seek(0, io.SeekCurrent)
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	write([]byte("head"))
	copy(want, "head")
	if pos, err := b.Seek(end, io.SeekStart); pos != int64(len(want)) || err != nil {
		t.Fatalf("Seek: %d, %v", pos, err)
	}
	big := bytes.Repeat([]byte{7}, bufSize+1)
	write(big)
	want = append(want, big...)
	write([]byte("tail"))
	want = append(want, "tail"...)
	if err := b.flush(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file differs: %d bytes, want %d", len(got), len(want))
	}
	if _, err := b.Seek(0, io.SeekEnd); err == nil {
		t.Fatal("SeekEnd worked")
	}
}
