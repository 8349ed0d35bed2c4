package wav

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var formats = []Format{FormatPCM16, FormatALaw, FormatMuLaw}

func TestRoundTrip(t *testing.T) {
	for _, f := range formats {
		for _, ch := range []int{1, 2} {
			for _, rate := range []int{8000, 16000, 44100} {
				for _, frames := range []int{0, 1, 161, 8000} {
					name := fmt.Sprintf("%v/%dch/%dHz/%dframes", f, ch, rate, frames)
					t.Run(name, func(t *testing.T) {
						h := Header{Format: f, Channels: ch, SampleRate: rate}
						in := &Audio{Header: h, Samples: signal(frames, ch)}
						want := quantized(f, in.Samples)

						var whole bytes.Buffer
						if err := Write(&whole, in); err != nil {
							t.Fatal(err)
						}
						if whole.Len()%2 != 0 {
							t.Errorf("file is %d bytes: odd, the pad byte is missing", whole.Len())
						}
						got, err := Read(bytes.NewReader(whole.Bytes()))
						if err != nil {
							t.Fatal(err)
						}
						if got.Header != h {
							t.Errorf("header %+v, want %+v", got.Header, h)
						}
						if got.Frames() != frames {
							t.Errorf("Frames() = %d, want %d", got.Frames(), frames)
						}
						if !slices.Equal(got.Samples, want) {
							t.Errorf("samples differ after the round trip")
						}

						// The streaming writer writes the same bytes.
						var sb seekBuffer
						w, err := NewWriter(&sb, h)
						if err != nil {
							t.Fatal(err)
						}
						for s := in.Samples; len(s) > 0; {
							n := min(len(s), 160*ch)
							if err := w.Write(s[:n]); err != nil {
								t.Fatal(err)
							}
							s = s[n:]
						}
						if err := w.Close(); err != nil {
							t.Fatal(err)
						}
						if !bytes.Equal(sb.b, whole.Bytes()) {
							t.Errorf("Writer and Write produce different files (%d and %d bytes)", len(sb.b), whole.Len())
						}

						// The streaming reader, a few samples at a time.
						r, err := NewReader(bytes.NewReader(sb.b))
						if err != nil {
							t.Fatal(err)
						}
						if r.Header() != h || r.Frames() != int64(frames) {
							t.Errorf("Reader: header %+v frames %d", r.Header(), r.Frames())
						}
						var all []int16
						buf := make([]int16, 7) // rounded down to whole frames
						for {
							n, err := r.Read(buf)
							if n%ch != 0 {
								t.Fatalf("Read returned %d samples: not whole frames", n)
							}
							all = append(all, buf[:n]...)
							if errors.Is(err, io.EOF) {
								break
							}
							if err != nil {
								t.Fatal(err)
							}
						}
						if !slices.Equal(all, want) {
							t.Errorf("streamed samples differ")
						}
					})
				}
			}
		}
	}
}

func TestWriteFileReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wav")
	in := &Audio{Header: Header{FormatMuLaw, 2, 8000}, Samples: signal(800, 2)}
	if err := WriteFile(path, in); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header != in.Header || !slices.Equal(got.Samples, quantized(FormatMuLaw, in.Samples)) {
		t.Errorf("ReadFile(WriteFile(a)) differs")
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v, want ErrNotExist", err)
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir.wav"), in); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteFile(bad dir) = %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte("not a wav file"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile(path)
	if !errors.Is(err, ErrNotWAV) || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadFile(text) = %v, want ErrNotWAV naming the file", err)
	}
}

// TestWriteHeader pins the exact bytes of both header layouts.
func TestWriteHeader(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, &Audio{Header: Header{FormatPCM16, 1, 8000}, Samples: []int16{1, -2}}); err != nil {
		t.Fatal(err)
	}
	want := riff(chunk("fmt ", fmtBody(1, 1, 8000, 16, 0)), chunk("data", pcm16([]int16{1, -2})))
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("PCM16 file:\n got % X\nwant % X", b.Bytes(), want)
	}

	b.Reset()
	if err := Write(&b, &Audio{Header: Header{FormatALaw, 1, 8000}, Samples: []int16{8, -8, 8}}); err != nil {
		t.Fatal(err)
	}
	want = riff(chunk("fmt ", append(fmtBody(6, 1, 8000, 8, 0), 0, 0)),
		chunk("fact", le32(3)), chunk("data", []byte{0xD5, 0x55, 0xD5}))
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("A-law file:\n got % X\nwant % X", b.Bytes(), want)
	}
}

func TestReadErrors(t *testing.T) {
	pcmFmt := chunk("fmt ", fmtBody(1, 1, 8000, 16, 0))
	data4 := chunk("data", []byte{1, 0, 2, 0})
	valid := riff(pcmFmt, data4)
	tests := []struct {
		name string
		in   []byte
		want error
		msg  string // must appear in the message
	}{
		{"empty", nil, ErrNotWAV, "empty"},
		{"text", []byte("hello, this is not audio"), ErrNotWAV, `"hell"`},
		{"ogg", []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00"), ErrNotWAV, `"OggS"`},
		{"AVI", append([]byte("RIFF\x04\x00\x00\x00AVI "), data4...), ErrNotWAV, `"AVI "`},
		{"RIFX", append([]byte("RIFX"), valid[4:]...), ErrUnsupported, "big-endian"},
		{"RF64", append([]byte("RF64"), valid[4:]...), ErrUnsupported, "RF64"},
		{"8-bit PCM", riff(chunk("fmt ", fmtBody(1, 1, 8000, 8, 0)), data4), ErrUnsupported, "8-bit PCM;"},
		{"24-bit PCM", riff(chunk("fmt ", fmtBody(1, 1, 8000, 24, 0)), data4), ErrUnsupported, "24-bit PCM;"},
		{"32-bit PCM", riff(chunk("fmt ", fmtBody(1, 2, 8000, 32, 0)), data4), ErrUnsupported, "32-bit PCM;"},
		{"3 channels", riff(chunk("fmt ", fmtBody(1, 3, 8000, 16, 0)), data4), ErrUnsupported, "3 channels"},
		{"0 channels", riff(chunk("fmt ", fmtBody(1, 0, 8000, 16, 2)), data4), ErrUnsupported, "0 channels"},
		{"float", riff(chunk("fmt ", fmtBody(3, 1, 8000, 32, 0)), data4), ErrUnsupported, "32-bit IEEE float"},
		{"ADPCM", riff(chunk("fmt ", fmtBody(2, 1, 8000, 4, 256)), data4), ErrUnsupported, "Microsoft ADPCM"},
		{"16-bit A-law", riff(chunk("fmt ", fmtBody(6, 1, 8000, 16, 0)), data4), ErrUnsupported, "16-bit A-law;"},
		{"rate 0", riff(chunk("fmt ", fmtBody(1, 1, 0, 16, 0)), data4), ErrUnsupported, "sample rate 0"},
		{"block align", riff(chunk("fmt ", fmtBody(1, 2, 8000, 16, 2)), data4), ErrUnsupported, "block align 2"},
		{"fmt too small", riff(chunk("fmt ", fmtBody(1, 1, 8000, 16, 0)[:14]), data4), ErrUnsupported, "14 bytes"},
		{"extensible float", riff(chunk("fmt ", extBody(3, 2, 48000, 32, 32)), data4), ErrUnsupported, "IEEE float"},
		{"extensible 24-bit", riff(chunk("fmt ", extBody(1, 2, 48000, 24, 24)), data4), ErrUnsupported, "24-bit PCM;"},
		{"extensible 3 channels", riff(chunk("fmt ", extBody(1, 3, 8000, 16, 16)), data4), ErrUnsupported, "3 channels"},
		{"extensible valid bits", riff(chunk("fmt ", extBody(7, 1, 8000, 8, 6)), data4), ErrUnsupported, "6 valid bits"},
		{"extensible GUID", riff(chunk("fmt ", func() []byte { b := extBody(1, 1, 8000, 16, 16); b[39] ^= 1; return b }()), data4), ErrUnsupported, "GUID"},
		{"extensible short", riff(chunk("fmt ", extBody(1, 1, 8000, 16, 16)[:18]), data4), ErrTruncated, "22 missing"},
		{"data before fmt", riff(data4, pcmFmt), ErrUnsupported, "before the fmt chunk"},
		{"truncated RIFF header", valid[:6], ErrTruncated, "6 missing"},
		{"truncated form type", valid[:10], ErrTruncated, "2 missing"},
		{"truncated chunk header", valid[:15], ErrTruncated, "5 missing"},
		{"truncated fmt", valid[:30], ErrTruncated, "6 bytes short"},
		{"no data chunk", riff(pcmFmt), ErrTruncated, "before the data chunk"},
		{"no fmt chunk", riff(), ErrTruncated, "before the fmt chunk"},
		{"cut before data", valid[:len(valid)-len(data4)], ErrTruncated, "(the RIFF header declares a 48-byte file, 12 missing)"},
		{"odd chunk without pad", append(riff(pcmFmt), chunk("LIST", []byte("abc"))[:11]...), ErrTruncated, "1 bytes short"},
		{"huge LIST", riff(pcmFmt, []byte("LIST\xff\xff\xff\x7f0123456789")), ErrTruncated, "2147483638 bytes short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Read(bytes.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Read error %v, want %v", err, tt.want)
			}
			if a != nil {
				t.Errorf("Read returned audio with a header error")
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q does not say %q", err, tt.msg)
			}
			if errors.Is(tt.want, ErrUnsupported) && !strings.Contains(err.Error(), "supported:") &&
				!strings.Contains(tt.name, "rate") && !strings.Contains(tt.name, "align") &&
				!strings.Contains(tt.name, "before") && !strings.Contains(tt.name, "small") {
				t.Errorf("message %q does not say what is supported", err)
			}
			if _, err2 := NewReader(bytes.NewReader(tt.in)); !errors.Is(err2, tt.want) {
				t.Errorf("NewReader error %v, want %v", err2, tt.want)
			}
		})
	}
}

func TestTruncatedData(t *testing.T) {
	for _, ch := range []int{1, 2} {
		samples := signal(100, ch)
		var b bytes.Buffer
		if err := Write(&b, &Audio{Header: Header{FormatPCM16, ch, 8000}, Samples: samples}); err != nil {
			t.Fatal(err)
		}
		declared := 200 * ch
		cut := b.Bytes()[:b.Len()-declared+41] // 41 bytes of data: not a whole frame
		a, err := Read(bytes.NewReader(cut))
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("%dch: error %v, want ErrTruncated", ch, err)
		}
		if msg := fmt.Sprintf("%d missing", declared-41); !strings.Contains(err.Error(), msg) {
			t.Errorf("%dch: message %q does not say %q", ch, err, msg)
		}
		frames := 41 / (2 * ch)
		if a == nil || !slices.Equal(a.Samples, samples[:frames*ch]) {
			t.Errorf("%dch: want the %d whole frames that were there", ch, frames)
		}

		// The streaming reader returns them with the error, then the error again.
		r, err := NewReader(bytes.NewReader(cut))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]int16, 1000)
		n, err := r.Read(buf)
		if n != frames*ch || !errors.Is(err, ErrTruncated) {
			t.Errorf("%dch: Read = %d, %v; want %d, ErrTruncated", ch, n, err, frames*ch)
		}
		if n, err2 := r.Read(buf); n != 0 || !errors.Is(err2, ErrTruncated) {
			t.Errorf("%dch: Read again = %d, %v", ch, n, err2)
		}
	}
}

func TestOddChunks(t *testing.T) {
	samples := []int16{100, -200, 300}
	in := riff(
		chunk("LIST", []byte("INFOISFT\x03\x00\x00\x00ab\x00")), // odd: 15 bytes + pad
		chunk("junk", []byte{1, 2, 3}),
		chunk("fmt ", fmtBody(1, 1, 8000, 16, 0)),
		chunk("cue ", []byte{9}),
		chunk("data", pcm16(samples)),
		chunk("LIST", []byte("after the data")),
	)
	a, err := Read(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Samples, samples) {
		t.Errorf("samples %v, want %v", a.Samples, samples)
	}

	// An odd-sized fmt chunk (18 bytes + 1 of junk) and a mu-law data chunk
	// with an odd number of bytes followed by its pad byte and another chunk.
	in = riff(
		chunk("fmt ", append(fmtBody(7, 1, 8000, 8, 0), 0, 0, 0xEE)),
		chunk("data", []byte{0x00, 0x80, 0xFF}),
		chunk("LIST", []byte("x")),
	)
	a, err = Read(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int16{-32124, 32124, 0}; !slices.Equal(a.Samples, want) {
		t.Errorf("samples %v, want %v", a.Samples, want)
	}
}

// TestReaderStopsAtData: the reader consumes nothing past the data chunk.
func TestReaderStopsAtData(t *testing.T) {
	tail := chunk("LIST", []byte("tail"))
	in := append(riff(chunk("fmt ", fmtBody(1, 2, 8000, 16, 0)), chunk("data", pcm16([]int16{1, 2, 3, 4, 5}))), tail...)
	src := bytes.NewReader(in)
	r, err := NewReader(src)
	if err != nil {
		t.Fatal(err)
	}
	if r.Frames() != 2 {
		t.Errorf("Frames() = %d, want 2 (the partial frame is not counted)", r.Frames())
	}
	buf := make([]int16, 100)
	n, err := r.Read(buf)
	if n != 4 || err != nil || !slices.Equal(buf[:4], []int16{1, 2, 3, 4}) {
		t.Errorf("Read = %d, %v, %v", n, err, buf[:n])
	}
	if n, err := r.Read(buf); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("Read at end = %d, %v; want 0, EOF", n, err)
	}
	// Only the partial frame's 2 bytes (and the tail) are left unread.
	if rest := src.Len(); rest != 2+len(tail) {
		t.Errorf("%d bytes left unread, want %d", rest, 2+len(tail))
	}
}

func TestReaderShortBuffer(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, &Audio{Header: Header{FormatPCM16, 2, 8000}, Samples: []int16{1, 2}}); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v; want 0, nil", n, err)
	}
	if n, err := r.Read(make([]int16, 1)); n != 0 || !errors.Is(err, io.ErrShortBuffer) {
		t.Errorf("Read(1 sample of stereo) = %d, %v; want 0, ErrShortBuffer", n, err)
	}
	if n, err := r.Read(make([]int16, 3)); n != 2 || err != nil {
		t.Errorf("Read(3) = %d, %v; want 2, nil", n, err)
	}
}

func TestExtensible(t *testing.T) {
	samples := signal(50, 2)
	for _, f := range formats {
		bits := uint16(8 * f.bytesPerSample())
		var data []byte
		if f == FormatPCM16 {
			data = pcm16(samples)
		} else {
			data = make([]byte, len(samples))
			encode(data, samples, f)
		}
		in := riff(chunk("fmt ", extBody(uint16(f), 2, 16000, bits, bits)), chunk("data", data))
		a, err := Read(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		if want := (Header{f, 2, 16000}); a.Header != want {
			t.Errorf("%v: header %+v, want %+v", f, a.Header, want)
		}
		if !slices.Equal(a.Samples, quantized(f, samples)) {
			t.Errorf("%v: samples differ", f)
		}
	}
	// 12 valid bits in a 16-bit container is still 16-bit PCM.
	in := riff(chunk("fmt ", extBody(1, 1, 8000, 16, 12)), chunk("data", pcm16([]int16{16, -16})))
	if a, err := Read(bytes.NewReader(in)); err != nil || a.Format != FormatPCM16 {
		t.Errorf("12-in-16-bit extensible: %v", err)
	}
}

func TestWriterErrors(t *testing.T) {
	bad := []struct {
		h   Header
		msg string
	}{
		{Header{0, 1, 8000}, "unknown (format 0x0000)"},
		{Header{3, 1, 8000}, "IEEE float"},
		{Header{FormatPCM16, 0, 8000}, "0 channels"},
		{Header{FormatPCM16, 3, 8000}, "3 channels"},
		{Header{FormatMuLaw, 1, 0}, "sample rate 0"},
		{Header{FormatMuLaw, 1, -8000}, "sample rate -8000"},
		{Header{FormatPCM16, 2, 1 << 30}, "sample rate"},
	}
	for _, tt := range bad {
		_, err := NewWriter(&seekBuffer{}, tt.h)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("NewWriter(%+v) = %v, want ErrUnsupported saying %q", tt.h, err, tt.msg)
		}
		if err := Write(io.Discard, &Audio{Header: tt.h}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Write(%+v) = %v, want ErrUnsupported", tt.h, err)
		}
	}

	if err := Write(io.Discard, &Audio{Header: Header{FormatPCM16, 2, 8000}, Samples: []int16{1, 2, 3}}); !errors.Is(err, ErrPartialFrame) {
		t.Errorf("Write(3 stereo samples) = %v, want ErrPartialFrame", err)
	}
	w, err := NewWriter(&seekBuffer{}, Header{FormatPCM16, 2, 8000})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]int16{1, 2, 3}); !errors.Is(err, ErrPartialFrame) {
		t.Errorf("Writer.Write(3 stereo samples) = %v, want ErrPartialFrame", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := w.Write([]int16{1, 2}); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if err := w.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close = %v, want ErrClosed", err)
	}

	// Output errors are reported, wrapped, and sticky.
	boom := errors.New("disk full")
	fw := &failWriter{failAfter: 100, err: boom}
	w, err = NewWriter(fw, Header{FormatPCM16, 1, 8000})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(make([]int16, 1000)); !errors.Is(err, boom) {
		t.Errorf("Write to a full disk = %v, want %v", err, boom)
	}
	if err := w.Write(make([]int16, 2)); !errors.Is(err, boom) {
		t.Errorf("second Write = %v, want the same error", err)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Errorf("Close = %v, want the write error", err)
	}
	if _, err := NewWriter(&failWriter{err: boom}, Header{FormatPCM16, 1, 8000}); !errors.Is(err, boom) {
		t.Errorf("NewWriter on a failing output = %v", err)
	}
	if err := Write(&failWriter{err: boom}, &Audio{Header: Header{FormatPCM16, 1, 8000}}); !errors.Is(err, boom) {
		t.Errorf("Write on a failing output = %v", err)
	}
}

// failWriter accepts failAfter bytes, then fails.
type failWriter struct {
	seekBuffer
	failAfter int
	err       error
}

func (f *failWriter) Write(p []byte) (int, error) {
	if room := f.failAfter - len(f.b); len(p) > room {
		n, _ := f.seekBuffer.Write(p[:max(room, 0)])
		return n, f.err
	}
	return f.seekBuffer.Write(p)
}

// TestGrowingRecording: a file being written is readable at every stage.
func TestGrowingRecording(t *testing.T) {
	for _, f := range formats {
		var sb seekBuffer
		w, err := NewWriter(&sb, Header{f, 1, 8000})
		if err != nil {
			t.Fatal(err)
		}
		all := signal(481, 1)
		if err := w.Write(all[:160]); err != nil {
			t.Fatal(err)
		}

		// Before any Flush (a crash): sizes unknown, read to the end.
		r, err := NewReader(bytes.NewReader(slices.Clone(sb.b)))
		if err != nil {
			t.Fatal(err)
		}
		if r.Frames() != -1 {
			t.Errorf("%v: Frames() = %d before Flush, want -1 (unknown)", f, r.Frames())
		}
		a, err := Read(bytes.NewReader(sb.b))
		if err != nil || !slices.Equal(a.Samples, quantized(f, all[:160])) {
			t.Errorf("%v: unflushed file: %v, %d samples", f, err, len(a.Samples))
		}
		// A crash mid-sample leaves a partial frame: dropped, no error.
		if f == FormatPCM16 {
			a, err := Read(bytes.NewReader(sb.b[:len(sb.b)-1]))
			if err != nil || len(a.Samples) != 159 {
				t.Errorf("unflushed file cut mid-sample: %v, %d samples", err, len(a.Samples))
			}
		}

		if err := w.Write(all[160:320]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		a, err = Read(bytes.NewReader(sb.b))
		if err != nil || !slices.Equal(a.Samples, quantized(f, all[:320])) {
			t.Errorf("%v: flushed file: %v", f, err)
		}
		if err := w.Write(all[320:]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		a, err = Read(bytes.NewReader(sb.b))
		if err != nil || !slices.Equal(a.Samples, quantized(f, all)) {
			t.Errorf("%v: closed file: %v", f, err)
		}
	}
}

// TestWriterAtOffset: a WAV written after other bytes patches its own header.
func TestWriterAtOffset(t *testing.T) {
	sb := seekBuffer{}
	if _, err := sb.Write([]byte("prefix")); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(&sb, Header{FormatALaw, 2, 8000})
	if err != nil {
		t.Fatal(err)
	}
	s := signal(3, 2)
	if err := w.Write(s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if string(sb.b[:6]) != "prefix" {
		t.Fatalf("prefix overwritten: %q", sb.b[:6])
	}
	a, err := Read(bytes.NewReader(sb.b[6:]))
	if err != nil || !slices.Equal(a.Samples, quantized(FormatALaw, s)) {
		t.Errorf("Read = %v", err)
	}
}

func TestFormatString(t *testing.T) {
	tests := map[Format]string{
		FormatPCM16: "PCM16",
		FormatALaw:  "A-law",
		FormatMuLaw: "mu-law",
		3:           "IEEE float (format 0x0003)",
		0xFFFE:      "WAVE_FORMAT_EXTENSIBLE (format 0xfffe)",
		0x1234:      "format (format 0x1234)",
	}
	for f, want := range tests {
		if got := f.String(); got != want {
			t.Errorf("Format(%d).String() = %q, want %q", uint16(f), got, want)
		}
	}
	if n := (&Audio{}).Frames(); n != 0 {
		t.Errorf("empty Audio Frames() = %d", n)
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, f := range formats {
		var b bytes.Buffer
		if err := Write(&b, &Audio{Header: Header{f, 1, 8000}, Samples: signal(8000*60, 1)}); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewWriter(&discardSeeker{}, Header{f, 1, 8000})
		if err != nil {
			t.Fatal(err)
		}
		frame := make([]int16, 160)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := r.Read(frame); err != nil {
				t.Fatal(err)
			}
			if err := w.Write(frame); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per 20 ms frame, want 0", f, allocs)
		}
	}
}

// TestCorpus reads every WAV of the project's DTMF corpus: 8 kHz mono PCM16.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	if _, err := os.Stat(filepath.Join(dir, "nominal.wav")); err != nil {
		t.Fatalf("DTMF corpus not found (%v): it is part of the repository (testdata/dtmf-corpus)", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.wav"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			a, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := (Header{FormatPCM16, 1, 8000}); a.Header != want {
				t.Errorf("header %+v, want %+v", a.Header, want)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if a.Frames() == 0 || int64(a.Frames()*2) > st.Size() {
				t.Errorf("%d frames in a %d-byte file", a.Frames(), st.Size())
			}
			if _, err := exec.LookPath("sox"); err == nil && !slices.Equal(a.Samples, soxDecode(t, path)) {
				t.Errorf("samples differ from sox's decoding")
			}
			// Our own writer gives back the same audio.
			var b bytes.Buffer
			if err := Write(&b, a); err != nil {
				t.Fatal(err)
			}
			back, err := Read(&b)
			if err != nil || !slices.Equal(back.Samples, a.Samples) {
				t.Errorf("round trip: %v", err)
			}
		})
	}
}

func BenchmarkReaderRead(b *testing.B) {
	for _, f := range formats {
		b.Run(f.String(), func(b *testing.B) {
			var buf bytes.Buffer
			if err := Write(&buf, &Audio{Header: Header{f, 1, 8000}, Samples: signal(8000, 1)}); err != nil {
				b.Fatal(err)
			}
			src := bytes.NewReader(buf.Bytes())
			r, err := NewReader(src)
			if err != nil {
				b.Fatal(err)
			}
			frame := make([]int16, 160)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Read(frame); errors.Is(err, io.EOF) {
					b.StopTimer()
					src.Reset(buf.Bytes())
					if r, err = NewReader(src); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				} else if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriterWrite(b *testing.B) {
	for _, f := range formats {
		b.Run(f.String(), func(b *testing.B) {
			w, err := NewWriter(&discardSeeker{}, Header{f, 1, 8000})
			if err != nil {
				b.Fatal(err)
			}
			frame := signal(160, 1)
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Write(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
