package engine

import (
	"fmt"
	"sync"

	"github.com/hushphone/hushphone/media/wav"
)

// FileAudio is an agent's audio for bots, tests and load: the microphone
// plays a recording (8 kHz mono, then silence) and the speaker writes
// everything heard, call after call, to a WAV writer (8 kHz mono 16-bit):
// exactly what the agent received, gaps as silence.
type FileAudio struct {
	mu     sync.Mutex
	play   []int16
	pos    int
	record *wav.Writer
	calls  int
}

// NewFileAudio plays play (nil: silence) and records to record (nil: not).
func NewFileAudio(play []int16, record *wav.Writer) *FileAudio {
	return &FileAudio{play: play, record: record}
}

// Mic gives the next 20 ms of the recording to play.
func (f *FileAudio) Mic(frame []int16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := copy(frame, f.play[min(f.pos, len(f.play)):])
	for i := n; i < len(frame); i++ {
		frame[i] = 0
	}
	f.pos += len(frame)
}

// Speaker records what the agent hears.
func (f *FileAudio) Speaker(frame []int16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.record != nil {
		_ = f.record.Write(frame)
	}
}

// CallStarted restarts the recording to play.
func (f *FileAudio) CallStarted(string) {
	f.mu.Lock()
	f.pos = 0
	f.mu.Unlock()
}

// CallEnded counts the call.
func (f *FileAudio) CallEnded(string) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
}

// Calls is how many calls have ended.
func (f *FileAudio) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// ReadMono8k reads a WAV file to play as the agent's voice: it must be
// 8 kHz mono (PCM16, mu-law or A-law).
func ReadMono8k(path string) ([]int16, error) {
	a, err := wav.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if a.SampleRate != 8000 || a.Channels != 1 {
		return nil, fmt.Errorf("%w: %s is %d Hz with %d channels: the agent's voice must be 8 kHz mono (sox IN.wav -r 8000 -c 1 OUT.wav)", ErrAudio, path, a.SampleRate, a.Channels)
	}
	return a.Samples, nil
}
