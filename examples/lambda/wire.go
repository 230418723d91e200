package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/negawatt/negawatt/examples/internal/app"
	"github.com/negawatt/negawatt/examples/internal/store"
	"github.com/negawatt/negawatt/examples/lambda/internal/ingest"
	"github.com/negawatt/negawatt/examples/lambda/internal/nightly"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/postgres"
	"github.com/negawatt/negawatt/ledger/sqlite"
)

// lambdaPoolConns is the ledger pool size per execution environment:
// Lambda runs one invocation at a time in an environment, so a few
// connections suffice, and many concurrent environments must not exhaust
// the server's max_connections (put RDS Proxy in front for large fleets).
// A pool_max_conns parameter in the URL overrides it.
const lambdaPoolConns = 2

// openService opens the application store and the points ledger named by
// st and builds the domain service over them. Migrations are applied at
// cold start: both are idempotent and serialised across processes by an
// advisory lock (PostgreSQL) or the write lock (SQLite), so concurrent
// cold starts are safe. close releases both.
func openService(ctx context.Context, st storage, opts ...app.ServiceOption) (svc *app.Service, closeFn func() error, err error) {
	var (
		s store.Store
		l ledger.Ledger
	)
	defer func() {
		if err != nil {
			if l != nil {
				l.Close()
			}
			if s != nil {
				s.Close()
			}
		}
	}()
	switch {
	case st.PostgresURL != "":
		if s, err = store.OpenPostgres(ctx, st.PostgresURL); err != nil {
			return nil, nil, err
		}
		var pool *pgxpool.Pool
		if pool, err = newPool(ctx, st.PostgresURL); err != nil {
			return nil, nil, err
		}
		if err = postgres.Migrate(ctx, pool); err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("ledger migrate: %w", err)
		}
		var eng *ledger.Engine
		if eng, err = postgres.OpenPool(ctx, pool); err != nil {
			pool.Close()
			return nil, nil, err
		}
		l = closeBoth{eng, pool}
	default:
		if err = os.MkdirAll(st.DataDir, 0o700); err != nil {
			return nil, nil, err
		}
		if s, err = store.Open(ctx, filepath.Join(st.DataDir, "app.db")); err != nil {
			return nil, nil, err
		}
		if l, err = sqlite.Open(ctx, filepath.Join(st.DataDir, "ledger.db")); err != nil {
			return nil, nil, err
		}
	}
	if svc, err = app.NewService(ctx, s, l, opts...); err != nil {
		return nil, nil, err
	}
	return svc, func() error { return errors.Join(l.Close(), s.Close()) }, nil
}

func newPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("NEGAWATT_POSTGRES_URL: %w", err)
	}
	if !hasParam(url, "pool_max_conns") {
		cfg.MaxConns = lambdaPoolConns
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

// closeBoth is the PostgreSQL ledger together with the pool it does not
// own (postgres.OpenPool leaves the pool to its caller).
type closeBoth struct {
	*ledger.Engine
	pool *pgxpool.Pool
}

func (c closeBoth) Close() error {
	err := c.Engine.Close()
	c.pool.Close()
	return err
}

// ingestFunc stores one SQS usage batch through the service, which
// upserts per (customer, period start): a redelivered message rewrites
// the same rows. The service's usage model is a series of period starts
// (each period runs to the next start), so a batch with a gap between
// one reading's end and the next one's start cannot be stored faithfully
// and is rejected as bad, like a malformed message.
func ingestFunc(svc *app.Service) ingest.Func {
	return func(ctx context.Context, b ingest.UsageBatch) error {
		rows := make([]store.UsageReading, len(b.Readings))
		for i, r := range b.Readings {
			if i > 0 && !r.Start.Equal(b.Readings[i-1].End) {
				return &ingest.BatchError{Field: fmt.Sprintf("readings[%d].start", i),
					Reason: fmt.Sprintf("gap after the previous reading's end %s", b.Readings[i-1].End.Format(time.RFC3339))}
			}
			rows[i] = store.UsageReading{Start: r.Start.UTC(), KWh: r.UsageKWh}
		}
		_, err := svc.IngestUsage(ctx, b.CustomerID, rows)
		return err
	}
}

// nightlyJobs settles and sweeps through the service. The service settles
// whole calendar months in each customer's own time zone, every month
// that has ended by the given instant and that the meter has reached; so
// each period the handler passes (yesterday, and the month it closed)
// becomes "settle everything due by the period's end". Awards are keyed
// per (program, rule, customer, fact), so the second call of a
// month-closing night, a retried event or a re-run pays nothing twice.
func nightlyJobs(svc *app.Service, loc *time.Location, log *slog.Logger) nightly.Jobs {
	return nightly.Jobs{
		Location: loc,
		Logger:   log,
		Settle: func(ctx context.Context, p nightly.Period) error {
			res, err := svc.SettleNightly(ctx, p.End)
			if err != nil {
				return err
			}
			log.InfoContext(ctx, "settled", slog.String("period", p.String()), slog.Int("facts", len(res.Facts)),
				slog.Int("awards", res.Awards), slog.String("points", res.Points.String()), slog.Any("problems", res.Problems))
			return nil
		},
		Sweep: func(ctx context.Context, asOf time.Time) error {
			res, err := svc.SweepExpired(ctx, asOf)
			if err != nil {
				return err
			}
			log.InfoContext(ctx, "swept", slog.Int("expired_lots", len(res.Transactions)), slog.Int("holds_released", len(res.HoldsExpired)))
			return nil
		},
	}
}
