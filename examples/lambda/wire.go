package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/negawatt/negawatt/examples/internal/app"
	"github.com/negawatt/negawatt/examples/internal/store"
	"github.com/negawatt/negawatt/examples/lambda/internal/ingest"
	"github.com/negawatt/negawatt/examples/lambda/internal/nightly"
)

// openService opens the application store and the points ledger named by
// st through app.OpenService, the one way httpserver opens them too.
// Migrations run at cold start: both are idempotent and serialised across
// processes (an advisory lock in PostgreSQL, the write lock in SQLite), so
// concurrent cold starts are safe. closeFn releases both.
func openService(ctx context.Context, st storage, log *slog.Logger) (svc *app.Service, closeFn func() error, err error) {
	svc, closeAll, err := app.OpenService(ctx, st.DataDir, st.PostgresURL, log)
	if err != nil {
		return nil, nil, err
	}
	return svc, func() error { closeAll(); return nil }, nil
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
// whole UTC calendar months, every month that has ended by the given
// instant and that the meter has reached; so
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
