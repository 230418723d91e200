package platform

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// LogBuffer is an io.Writer for a slog handler that batches log lines:
// one write system call per flush instead of one per access-log line. It
// flushes when its buffer fills, every interval, on Flush and on Close,
// so a line reaches w at most interval late (and is lost only if the
// process dies within that interval). slog handlers write each record
// with one Write call, so lines never interleave. It is safe for
// concurrent use.
type LogBuffer struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewLogBuffer returns a LogBuffer of size bytes over w that flushes every
// interval (interval > 0).
func NewLogBuffer(w io.Writer, size int, interval time.Duration) *LogBuffer {
	b := &LogBuffer{w: bufio.NewWriterSize(w, size), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = b.Flush()
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

// Write buffers p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes out what is buffered.
func (b *LogBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the periodic flush and flushes. Later writes are buffered
// until the next Flush; closing twice is not an error.
func (b *LogBuffer) Close() error {
	b.once.Do(func() { close(b.stop) })
	<-b.done
	return b.Flush()
}
