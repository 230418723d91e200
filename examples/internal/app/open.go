package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/negawatt/negawatt/examples/internal/store"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/postgres"
	"github.com/negawatt/negawatt/ledger/sqlite"
	"github.com/negawatt/negawatt/rewards/ledgertally"
)

// OpenService opens the app store and the points ledger and builds the
// Service over them: PostgreSQL when pgURL is set (app tables migrated by
// store.OpenPostgres, ledger tables by ledger/postgres.Migrate), else the
// SQLite files app.db and ledger.db in dir (created if missing). The
// returned func closes the ledger, then the store. Both examples/httpserver
// and examples/lambda start this way.
func OpenService(ctx context.Context, dir, pgURL string, log *slog.Logger) (*Service, func(), error) {
	var st store.Store
	var l *ledger.Engine
	var err error
	if pgURL != "" {
		if st, err = store.OpenPostgres(ctx, pgURL); err != nil {
			return nil, nil, err
		}
		pool, err := pgxpool.New(ctx, pgURL)
		if err != nil {
			st.Close()
			return nil, nil, fmt.Errorf("ledger: %w", err)
		}
		if err := postgres.Migrate(ctx, pool); err != nil {
			st.Close()
			pool.Close()
			return nil, nil, fmt.Errorf("ledger: migrate: %w", err)
		}
		if l, err = postgres.OpenPool(ctx, pool, ledger.WithAutoCreate(ledgertally.AutoCreate)); err != nil {
			st.Close()
			pool.Close()
			return nil, nil, err
		}
		prev := st
		st = closer{prev, pool.Close}
		log.Info("data in PostgreSQL")
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, err
		}
		if st, err = store.Open(ctx, filepath.Join(dir, "app.db")); err != nil {
			return nil, nil, err
		}
		if l, err = sqlite.Open(ctx, filepath.Join(dir, "ledger.db"),
			sqlite.WithLedgerOptions(ledger.WithAutoCreate(ledgertally.AutoCreate))); err != nil {
			st.Close()
			return nil, nil, err
		}
		log.Info("data in SQLite", slog.String("data_dir", dir))
	}
	svc, err := NewService(ctx, st, l, WithLedgerAutoCreate())
	if err != nil {
		l.Close()
		st.Close()
		return nil, nil, err
	}
	return svc, func() { l.Close(); st.Close() }, nil
}

// closer closes a pgx pool after the store it travels with.
type closer struct {
	store.Store
	after func()
}

func (c closer) Close() error {
	err := c.Store.Close()
	c.after()
	return err
}
