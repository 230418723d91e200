//go:build unix

package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/negawatt/negawatt/examples/internal/app"
	"github.com/negawatt/negawatt/examples/internal/loadgen"
	"github.com/negawatt/negawatt/examples/internal/loadgen/loadtest"
	"github.com/negawatt/negawatt/examples/internal/platform"
	"github.com/negawatt/negawatt/examples/internal/store"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/postgres"
	"github.com/negawatt/negawatt/rewards/ledgertally"
)

// counter is a pgx tracer counting what a connection sends: a query or
// exec outside a batch is one round trip and one statement, a batch one
// round trip carrying several statements.
type counter struct {
	trips, stmts atomic.Int64
}

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.trips.Add(1)
	c.stmts.Add(1)
	return ctx
}

func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.trips.Add(1)
	return ctx
}

func (c *counter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.stmts.Add(1)
}

func (c *counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// BenchmarkSettlePostgresRoundTrips settles one customer-month per
// request over HTTP, like the load test's settlement scenario, with the
// app store and the ledger on PostgreSQL (NEGAWATT_POSTGRES_URL), and
// reports what each settlement sends to PostgreSQL: round trips/op and
// statements/op (both connections pools, counted by a pgx tracer). These
// counts do not depend on the machine's load, unlike its CPU times.
// Requests run 16 at a time, as the load test's do (the counts include
// what the concurrent settlements share: group commits, pipelined reads),
// or one at a time (what a lone settlement sends). Seeding is slow: run it
// with a fixed count, e.g. -benchtime 2000x.
func BenchmarkSettlePostgresRoundTrips(b *testing.B) {
	for _, c := range []int{16, 1} {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) { benchSettleRoundTrips(b, c) })
	}
}

func benchSettleRoundTrips(b *testing.B, concurrency int) {
	base := os.Getenv("NEGAWATT_POSTGRES_URL")
	if base == "" {
		b.Skip("NEGAWATT_POSTGRES_URL unset")
	}
	ctx := context.Background()
	url, drop, err := loadtest.FreshSchema(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { drop(context.Background()) })
	var c counter

	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Tracer = &c
	st, err := store.OpenPostgres(ctx, stdlib.RegisterConnConfig(cfg))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	pcfg.ConnConfig.Tracer = &c
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	l, err := postgres.OpenPool(ctx, pool, ledger.WithAutoCreate(ledgertally.AutoCreate))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	svc, err := app.NewService(ctx, st, l, app.WithLedgerAutoCreate())
	if err != nil {
		b.Fatal(err)
	}
	signer, err := platform.NewSigner(platform.NewRandomKey())
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h, err := app.New(app.Config{Signer: signer, Logger: log, Service: svc, RateLimit: platform.RateLimit{Disabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := loadtest.ServeInProcess(h, signer, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Stop() })
	// Enough distinct facts for b.N settlements: seeding is the slow part.
	customers := min(max(b.N/4+1, 16), 1000)
	months := min((b.N+customers-1)/customers, 12)
	if customers*months < b.N {
		b.Fatalf("b.N = %d: at most %d distinct settlements (use -benchtime up to that)", b.N, customers*months)
	}
	fx, err := loadtest.SeedData(ctx, srv, loadtest.Seed{Customers: customers, Months: max(months, 1)})
	if err != nil {
		b.Fatal(err)
	}
	sc := fx.Settlements()
	trips, stmts := c.trips.Load(), c.stmts.Load()
	cpu0 := processCPU(b)
	b.ResetTimer()
	res, err := loadgen.Run(ctx, loadgen.Config{URL: srv.URL, Requests: b.N, Duration: 10 * time.Minute, Concurrency: concurrency,
		NewRequest: func(ctx context.Context, i int) (*http.Request, error) { return sc.Request(ctx, srv, i) }})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	cpu := processCPU(b) - cpu0
	trips, stmts = c.trips.Load()-trips, c.stmts.Load()-stmts
	if res.Errors > 0 || res.Requests != b.N {
		b.Fatalf("%d of %d settlements, %d errors (%v)", res.Requests, b.N, res.Errors, res.Statuses)
	}
	b.ReportMetric(float64(trips)/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(stmts)/float64(b.N), "stmts/op")
	// This process serves and loads: its CPU counts the load generator's
	// share too (the same in every version).
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "process-cpu-us/op")
	// The scenario's check: re-settling pays nothing, balances are up.
	if err := sc.Check(ctx, srv, b.N); err != nil {
		b.Fatal(err)
	}
}

// processCPU is this process's user and system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
