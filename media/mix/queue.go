package mix

// Queue holds a stream's latest frames until another stream, on its own
// clock, takes them to mix in: the agent's voice waits in one for the
// caller's next frame. It is fixed-depth: a burst beyond the depth drops
// the oldest frame, so the delay it adds stays bounded. Push and Pop
// allocate nothing. A Queue is not safe for concurrent use.
type Queue struct {
	frames   [][FrameSamples]int16
	first, n int // the oldest waiting frame, and how many wait
}

// NewQueue returns an empty Queue that keeps at most depth frames (at
// least one).
func NewQueue(depth int) *Queue {
	return &Queue{frames: make([][FrameSamples]int16, max(depth, 1))}
}

// Push queues a copy of frame's first FrameSamples samples (a shorter
// frame is padded with silence), dropping the oldest waiting frame when
// the queue is full.
func (q *Queue) Push(frame []int16) {
	if q.n == len(q.frames) {
		q.first = (q.first + 1) % len(q.frames)
		q.n--
	}
	f := &q.frames[(q.first+q.n)%len(q.frames)]
	clear(f[copy(f[:], frame):])
	q.n++
}

// Pop takes the oldest waiting frame, or returns nil when none waits. The
// frame is the Queue's own: it is valid until the next Push.
func (q *Queue) Pop() []int16 {
	if q.n == 0 {
		return nil
	}
	f := q.frames[q.first][:]
	q.first = (q.first + 1) % len(q.frames)
	q.n--
	return f
}

// Len is how many frames wait.
func (q *Queue) Len() int { return q.n }
