package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"
)

// NewServer returns an http.Server for h with timeouts that bound slow or
// idle clients (slowloris): 5 s to read headers, 30 s for the whole
// request, 60 s to write the response, 120 s idle keep-alive.
func NewServer(h http.Handler, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.Default()
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// DefaultShutdownGrace is how long Serve waits for in-flight requests.
const DefaultShutdownGrace = 25 * time.Second

// Serve serves srv on ln until ctx is done, then shuts down gracefully:
// the listener closes at once (new connections are refused), idle
// connections close, and in-flight requests get up to grace to finish.
// It returns nil after a clean shutdown, or the error that stopped it.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("platform: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("platform: serve: %w", serr)
	}
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("platform: shutdown after %v: %w", grace, err)
	}
	return nil
}

// ServeUntilSignal is Serve stopped by SIGTERM (what ECS, Kubernetes and
// systemd send) or SIGINT (Ctrl-C).
func ServeUntilSignal(srv *http.Server, ln net.Listener, grace time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return Serve(ctx, srv, ln, grace)
}
