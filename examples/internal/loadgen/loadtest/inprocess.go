package loadtest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/negawatt/negawatt/examples/internal/platform"
)

// ServeInProcess serves h (built with signer) on a loopback port inside
// this process, with the same server settings as the binary
// (platform.NewServer). It is for profiling the server side with
// runtime/pprof, which the binary does not expose; the figures of record
// come from the binary (Start).
func ServeInProcess(h http.Handler, signer *platform.Signer, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrServer, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{URL: "http://" + ln.Addr().String(), signer: signer, done: make(chan error, 1)}
	go func() { s.done <- platform.Serve(ctx, platform.NewServer(h, log), ln, platform.DefaultShutdownGrace) }()
	s.stop = cancel
	return s, nil
}
