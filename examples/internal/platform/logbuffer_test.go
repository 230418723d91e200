package platform

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLogBufferWholeLines: concurrent loggers through a LogBuffer produce
// every line, whole, once it is closed; nothing reaches the writer before
// a flush.
func TestLogBufferWholeLines(t *testing.T) {
	out := &syncBuffer{}
	b := NewLogBuffer(out, 4096, time.Hour)
	log := slog.New(slog.NewJSONHandler(b, nil))
	log.Info("first")
	if out.String() != "" {
		t.Fatalf("written before a flush: %q", out.String())
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				log.Info("line", slog.String("id", fmt.Sprintf("%d-%d", g, i)), slog.String("pad", strings.Repeat("x", 100)))
			}
		})
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1+8*200 {
		t.Fatalf("%d lines, want %d", len(lines), 1+8*200)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, `{"time":`) || !strings.HasSuffix(l, "}") {
			t.Fatalf("torn line %q", l)
		}
	}
}

// TestLogBufferFlushesPeriodically: a line reaches the writer within the
// interval without an explicit flush.
func TestLogBufferFlushesPeriodically(t *testing.T) {
	out := &syncBuffer{}
	b := NewLogBuffer(out, 4096, time.Millisecond)
	defer b.Close()
	_, _ = b.Write([]byte("hello\n"))
	for range 10000 { // bounded wait: fails rather than hangs
		if out.String() == "hello\n" {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("not flushed: %q", out.String())
}
