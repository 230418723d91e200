package loadtest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/negawatt/negawatt/examples/internal/app"
	"github.com/negawatt/negawatt/examples/internal/platform"
	"github.com/negawatt/negawatt/examples/internal/store"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/postgres"
	"github.com/negawatt/negawatt/ledger/sqlite"
)

// ServeApp builds the service handler the way the binary does (app store
// and ledger in dataDir with SQLite, or in the PostgreSQL database at
// postgresURL; rate limiting off) and serves it in process (see
// ServeInProcess). Stop closes the stores.
func ServeApp(ctx context.Context, dataDir, postgresURL string) (*Server, error) {
	var (
		st  store.Store
		l   ledger.Ledger
		err error
	)
	closeAll := func() error {
		var errs []error
		if l != nil {
			errs = append(errs, l.Close())
		}
		if st != nil {
			errs = append(errs, st.Close())
		}
		return errors.Join(errs...)
	}
	if postgresURL != "" {
		if st, err = store.OpenPostgres(ctx, postgresURL); err == nil {
			var pool *pgxpool.Pool
			if pool, err = pgxpool.New(ctx, postgresURL); err == nil {
				if err = postgres.Migrate(ctx, pool); err == nil {
					var eng *ledger.Engine
					if eng, err = postgres.OpenPool(ctx, pool); err == nil {
						l = poolLedger{eng, pool}
					}
				}
				if l == nil {
					pool.Close()
				}
			}
		}
	} else if st, err = store.Open(ctx, filepath.Join(dataDir, "app.db")); err == nil {
		l, err = sqlite.Open(ctx, filepath.Join(dataDir, "ledger.db"))
	}
	if err != nil {
		return nil, errors.Join(err, closeAll())
	}
	svc, err := app.NewService(ctx, st, l)
	if err != nil {
		return nil, errors.Join(err, closeAll())
	}
	signer, err := platform.NewSigner(platform.NewRandomKey())
	if err != nil {
		return nil, errors.Join(err, closeAll())
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h, err := app.New(app.Config{Signer: signer, Logger: log, Service: svc, Dashboard: app.DashboardSource(svc), RateLimit: platform.RateLimit{Disabled: true}})
	if err != nil {
		return nil, errors.Join(err, closeAll())
	}
	s, err := ServeInProcess(h, signer, log)
	if err != nil {
		return nil, errors.Join(err, closeAll())
	}
	stop := s.stop
	s.stop = func() { stop(); <-s.done; s.done <- closeAll() }
	return s, nil
}

// poolLedger closes the pool postgres.OpenPool leaves to its caller.
type poolLedger struct {
	*ledger.Engine
	pool *pgxpool.Pool
}

func (p poolLedger) Close() error {
	err := p.Engine.Close()
	p.pool.Close()
	return err
}
