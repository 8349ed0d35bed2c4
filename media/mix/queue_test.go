package mix

import (
	"slices"
	"testing"
)

// frame is a whole frame of v.
func frame(v int16) []int16 {
	f := make([]int16, FrameSamples)
	for i := range f {
		f[i] = v
	}
	return f
}

func TestQueue(t *testing.T) {
	tests := []struct {
		name  string
		depth int
		push  []int16 // each pushes a frame of that value
		want  []int16 // the frames Pop then gives, oldest first
	}{
		{"empty", 4, nil, nil},
		{"in order", 4, []int16{1, 2, 3}, []int16{1, 2, 3}},
		{"full", 4, []int16{1, 2, 3, 4}, []int16{1, 2, 3, 4}},
		{"a burst drops the oldest", 4, []int16{1, 2, 3, 4, 5, 6}, []int16{3, 4, 5, 6}},
		{"depth one keeps the latest", 1, []int16{1, 2, 3}, []int16{3}},
		{"depth below one is one", 0, []int16{1, 2}, []int16{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := NewQueue(tt.depth)
			for _, v := range tt.push {
				q.Push(frame(v))
			}
			if q.Len() != len(tt.want) {
				t.Errorf("Len = %d, want %d", q.Len(), len(tt.want))
			}
			var got []int16
			for f := q.Pop(); f != nil; f = q.Pop() {
				if len(f) != FrameSamples || !slices.Equal(f, frame(f[0])) {
					t.Fatalf("popped a frame of %d samples that is not one value: %v", len(f), f[:4])
				}
				got = append(got, f[0])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("popped %v, want %v", got, tt.want)
			}
		})
	}
}

func TestQueueWraps(t *testing.T) {
	q := NewQueue(3)
	for i := range int16(10) {
		q.Push(frame(i))
		if f := q.Pop(); f == nil || f[0] != i {
			t.Fatalf("push %d then pop: got %v", i, f)
		}
	}
	if f := q.Pop(); f != nil {
		t.Errorf("pop from an empty queue: %v, want nil", f[:4])
	}
}

func TestQueueFrameSizes(t *testing.T) {
	q := NewQueue(2)
	q.Push([]int16{7, 7, 7}) // short: the rest is silence
	long := frame(9)
	long = append(long, 1, 2, 3) // long: past a frame is not kept
	q.Push(long)
	short := q.Pop()
	if want := append([]int16{7, 7, 7}, make([]int16, FrameSamples-3)...); !slices.Equal(short, want) {
		t.Errorf("short frame came back as %v...", short[:6])
	}
	if f := q.Pop(); !slices.Equal(f, frame(9)) {
		t.Errorf("long frame came back as %d samples", len(f))
	}
	// A slot reused after a short push holds no samples of an older frame.
	q.Push(frame(5))
	q.Push(frame(5))
	q.Pop()
	q.Pop()
	q.Push([]int16{1})
	if f := q.Pop(); f[0] != 1 || f[1] != 0 {
		t.Errorf("reused slot: %v..., want 1 then silence", f[:4])
	}
}

func BenchmarkQueue(b *testing.B) {
	q := NewQueue(4)
	src := frame(100)
	var dst [FrameSamples]int16
	b.ReportAllocs()
	for b.Loop() {
		q.Push(src)
		Add(dst[:], q.Pop())
	}
}
