package loadtest

import (
	"context"
	"io"
	"log/slog"

	"github.com/negawatt/negawatt/examples/internal/app"
	"github.com/negawatt/negawatt/examples/internal/platform"
)

// ServeApp builds the service handler the way the binary does
// (app.OpenService: SQLite in dataDir, or the PostgreSQL database at
// postgresURL; rate limiting on with a limit no load test reaches) and serves it in process (see
// ServeInProcess). Stop closes the stores.
func ServeApp(ctx context.Context, dataDir, postgresURL string) (*Server, error) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc, closeAll, err := app.OpenService(ctx, dataDir, postgresURL, log)
	if err != nil {
		return nil, err
	}
	signer, err := platform.NewSigner(platform.NewRandomKey())
	if err != nil {
		closeAll()
		return nil, err
	}
	h, err := app.New(app.Config{Signer: signer, Logger: log, Service: svc, Dashboard: app.DashboardSource(svc), RateLimit: LoadRateLimit})
	if err != nil {
		closeAll()
		return nil, err
	}
	s, err := ServeInProcess(h, signer, log)
	if err != nil {
		closeAll()
		return nil, err
	}
	stop := s.stop
	s.stop = func() { stop(); err := <-s.done; closeAll(); s.done <- err }
	return s, nil
}

// LoadRateLimit is the per-token rate limit of servers under load test:
// the limiter runs on every request, as in production, with a limit far
// above what one token sends here.
var LoadRateLimit = platform.RateLimit{PerSecond: 1e6, Burst: 1_000_000}
