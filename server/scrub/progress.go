package scrub

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress reports a run over many files while it runs (scrub's folders,
// verify's): one redrawn bar on a terminal, else a plain line every
// interval (default 5 s), and a line for each file that fails as it fails.
// Its methods are safe for concurrent use; Start starts its goroutine and
// Stop stops it and waits for it. A nil writer reports nothing.
type Progress struct {
	w        io.Writer
	label    string
	tty      bool
	interval time.Duration
	files    int
	total    int64

	doneFiles atomic.Int64
	doneBytes atomic.Int64
	begin     time.Time

	mu      sync.Mutex // serializes writes to w
	stopped chan struct{}
	wg      sync.WaitGroup
}

// NewProgress reports on w, its lines starting with label, for files files
// of total bytes; tty makes it a redrawn bar.
func NewProgress(w io.Writer, label string, tty bool, interval time.Duration, files int, total int64) *Progress {
	p := &Progress{w: w, label: label, tty: tty, interval: interval, files: files, total: total}
	if p.interval <= 0 {
		p.interval = 5 * time.Second
	}
	if p.tty {
		p.interval = 200 * time.Millisecond
	}
	return p
}

// Start starts the reporting goroutine.
func (p *Progress) Start() {
	p.begin = time.Now()
	if p.w == nil {
		return
	}
	p.stopped = make(chan struct{})
	p.wg.Go(func() {
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			select {
			case <-p.stopped:
				return
			case <-t.C:
				p.report()
			}
		}
	})
}

// Stop stops the reporting goroutine and waits for it; on a terminal it
// draws the bar a last time and ends its line.
func (p *Progress) Stop() {
	if p.w == nil {
		return
	}
	close(p.stopped)
	p.wg.Wait()
	if p.tty {
		p.report()
		p.mu.Lock()
		_, _ = io.WriteString(p.w, "\n")
		p.mu.Unlock()
	}
}

// Bytes counts n more bytes read.
func (p *Progress) Bytes(n int64) { p.doneBytes.Add(n) }

// File counts one more file done, and rest more bytes: what was left of it
// unread.
func (p *Progress) File(rest int64) {
	p.doneBytes.Add(rest)
	p.doneFiles.Add(1)
}

// Fail reports a file that failed; err must name it.
func (p *Progress) Fail(err error) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		_, _ = io.WriteString(p.w, "\r\x1b[K")
	}
	_, _ = fmt.Fprintf(p.w, "%s: failed: %v\n", p.label, err) // the error names the file
}

func (p *Progress) report() {
	files, done := p.doneFiles.Load(), p.doneBytes.Load()
	eta := "--"
	if el := time.Since(p.begin); done > 0 && el > 0 {
		left := time.Duration(float64(el) * float64(p.total-done) / float64(done))
		eta = left.Round(time.Second).String()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		_, _ = fmt.Fprintf(p.w, "%s: %d/%d files, %s of %s, ETA %s\n", p.label, files, p.files, megabytes(done), megabytes(p.total), eta)
		return
	}
	const width = 30
	fill := width
	if p.total > 0 {
		fill = int(int64(width) * min(done, p.total) / p.total)
	}
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	_, _ = fmt.Fprintf(p.w, "\r\x1b[K[%s] %d/%d files  %s/%s  ETA %s", bar, files, p.files, megabytes(done), megabytes(p.total), eta)
}
