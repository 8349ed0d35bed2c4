package wav

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
)

// FuzzRead: Read never panics, fails only with one of the package's
// sentinels, and what it reads survives a write and read unchanged (G.711
// values re-encode losslessly); the streaming Reader agrees with Read.
func FuzzRead(f *testing.F) {
	for _, fm := range formats {
		for _, ch := range []int{1, 2} {
			var b bytes.Buffer
			if err := Write(&b, &Audio{Header: Header{fm, ch, 8000}, Samples: signal(9, ch)}); err != nil {
				f.Fatal(err)
			}
			f.Add(b.Bytes())
			f.Add(b.Bytes()[:b.Len()-3])
		}
		bits := uint16(8 * fm.bytesPerSample())
		f.Add(riff(chunk("fmt ", extBody(uint16(fm), 2, 16000, bits, bits)), chunk("data", make([]byte, 12))))
	}
	pcmFmt := chunk("fmt ", fmtBody(1, 1, 8000, 16, 0))
	f.Add(riff(chunk("LIST", []byte("odd")), pcmFmt, chunk("data", []byte{1, 2, 3})))
	f.Add(riff(pcmFmt, []byte("data\xff\xff\xff\xff\x01\x02\x03\x04\x05")))
	f.Add(riff(chunk("fmt ", fmtBody(3, 1, 8000, 32, 0)), chunk("data", nil)))
	f.Add(riff(chunk("data", nil), pcmFmt))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Add([]byte("RIFX"))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Read(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrNotWAV) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTruncated) {
				t.Fatalf("error %v is none of ErrNotWAV, ErrUnsupported, ErrTruncated", err)
			}
			if a != nil && !errors.Is(err, ErrTruncated) {
				t.Fatalf("audio returned with %v", err)
			}
			if a == nil {
				return
			}
		}
		if err := a.Header.check(); err != nil {
			t.Fatalf("Read accepted a header it cannot write: %v", err)
		}
		if len(a.Samples)%a.Channels != 0 {
			t.Fatalf("%d samples for %d channels", len(a.Samples), a.Channels)
		}

		// The streaming reader, 5 samples at a time, reads the same.
		r, rerr := NewReader(bytes.NewReader(data))
		if rerr != nil {
			t.Fatalf("Read succeeded, NewReader failed: %v", rerr)
		}
		var streamed []int16
		buf := make([]int16, 5)
		for {
			n, rerr := r.Read(buf)
			streamed = append(streamed, buf[:n]...)
			if errors.Is(rerr, io.EOF) {
				break
			}
			if rerr != nil {
				if !errors.Is(rerr, ErrTruncated) || !errors.Is(err, ErrTruncated) {
					t.Fatalf("streaming error %v, Read error %v", rerr, err)
				}
				break
			}
		}
		if !slices.Equal(streamed, a.Samples) {
			t.Fatalf("streaming read %d samples, Read %d", len(streamed), len(a.Samples))
		}

		var b bytes.Buffer
		if err := Write(&b, a); err != nil {
			t.Fatalf("writing what was read: %v", err)
		}
		back, err := Read(&b)
		if err != nil {
			t.Fatalf("reading what was written: %v", err)
		}
		if back.Header != a.Header || !slices.Equal(back.Samples, a.Samples) {
			t.Fatalf("round trip changed the audio")
		}
	})
}
