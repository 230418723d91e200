package postgres

import (
	"context"
	"fmt"
	neturl "net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
)

// Benchmarks run against NEGAWATT_POSTGRES_URL with the server's own
// durability settings (logged: synchronous_commit, fsync, wal_sync_method),
// on a fresh schema per run. Results and settings: BENCHMARKS.md.

func benchLedger(b *testing.B, customers int) (*ledger.Engine, *cpuMeter) {
	b.Helper()
	pool, url := testPool(b)
	ctx := context.Background()
	var sc, fsync, method string
	if err := pool.QueryRow(ctx, `SELECT current_setting('synchronous_commit'), current_setting('fsync'),
		current_setting('wal_sync_method')`).Scan(&sc, &fsync, &method); err != nil {
		b.Fatal(err)
	}
	b.Logf("server: synchronous_commit=%s fsync=%s wal_sync_method=%s", sc, fsync, method)
	l := openLedger(b, url)
	for c := range customers {
		customer(b, l, fmt.Sprintf("cust/%d", c))
	}
	return l, newCPUMeter(b, pool, url)
}

// cpuMeter measures CPU per transaction on both sides of the connection:
// this process (client-µs/tx) and the server backends serving the
// benchmark's schema (server-µs/tx, when they are on this host; it includes
// the system time of the backends' WAL flushes), and the WAL written per
// transaction. On a shared machine these move far less with other jobs'
// load than tx/s.
type cpuMeter struct {
	pool   *pgxpool.Pool
	app    string
	client time.Duration
	server map[int32]time.Duration
	wal    string // pg_current_wal_lsn() at start
}

func newCPUMeter(b *testing.B, pool *pgxpool.Pool, url string) *cpuMeter {
	u, err := neturl.Parse(url)
	if err != nil {
		b.Fatal(err)
	}
	return &cpuMeter{pool: pool, app: u.Query().Get("application_name")}
}

// start begins measuring; call it right after b.ResetTimer.
func (m *cpuMeter) start() {
	m.server = serverCPU(context.Background(), m.pool, m.app)
	m.wal = ""
	_ = m.pool.QueryRow(context.Background(), `SELECT pg_current_wal_lsn()::text`).Scan(&m.wal)
	m.client = clientCPU()
}

// report adds tx/s and the CPU metrics for txs transactions.
func (m *cpuMeter) report(b *testing.B, txs int) {
	client := clientCPU() - m.client
	var server time.Duration
	for pid, t := range serverCPU(context.Background(), m.pool, m.app) {
		server += t - m.server[pid] // a backend started since contributes all of it
	}
	reportTxPerSec(b, txs)
	if txs == 0 {
		return
	}
	// WAL bytes written by the whole server (other clients' writes count
	// too): the write volume each commit must flush.
	var wal float64
	if m.wal != "" && m.pool.QueryRow(context.Background(),
		`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)`, m.wal).Scan(&wal) == nil {
		b.ReportMetric(wal/float64(txs), "WAL-B/tx")
	}
	if client > 0 {
		b.ReportMetric(float64(client.Microseconds())/float64(txs), "client-µs/tx")
	}
	if server > 0 {
		b.ReportMetric(float64(server.Microseconds())/float64(txs), "server-µs/tx")
	}
}

func award(key string, cust int) ledger.Transaction {
	return ledger.Transaction{
		Key:      key,
		Postings: []ledger.Posting{{From: issuance, To: fmt.Sprintf("cust/%d", cust), Amount: decimal.New(125, -2)}},
		Metadata: map[string]string{"rule": "bench"},
	}
}

func reportTxPerSec(b *testing.B, txs int) {
	b.ReportMetric(float64(txs)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkPostSingle posts one transaction per unit of work, one at a
// time: each pays its own commit (WAL flush).
func BenchmarkPostSingle(b *testing.B) {
	l, m := benchLedger(b, 100)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	m.start()
	for i := range b.N {
		if _, err := l.Post(ctx, award(fmt.Sprintf("single/%d", i), i%100)); err != nil {
			b.Fatal(err)
		}
	}
	m.report(b, b.N)
}

// BenchmarkPostSingleParallel posts single transactions from 8 goroutines
// per core to distinct customers; PostgreSQL's group commit shares WAL
// flushes among concurrent commits.
func BenchmarkPostSingleParallel(b *testing.B) {
	l, m := benchLedger(b, 100)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	m.start()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := l.Post(ctx, award(fmt.Sprintf("par/%d", i), int(i%100))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	m.report(b, int(n.Load()))
}

// BenchmarkAwardsOneIssuance has 32 goroutines each posting single awards
// from the one issuance account to a customer of its own, as a settlement
// service does, with the pool at pgxpool's default size (max(4, NumCPU))
// and at 16 connections. Without a row lock on the issuance account
// (migration 0003) concurrent commits share WAL flushes (group commit), so
// throughput grows with the connections instead of being one flush per award.
func BenchmarkAwardsOneIssuance(b *testing.B) {
	for _, conns := range []int{0, 16} {
		name := "conns=default"
		if conns > 0 {
			name = fmt.Sprintf("conns=%d", conns)
		}
		b.Run(name, func(b *testing.B) {
			const goroutines = 32
			pool, url := testPool(b)
			m := newCPUMeter(b, pool, url)
			if conns > 0 {
				url += fmt.Sprintf("&pool_max_conns=%d", conns)
			}
			l := openLedger(b, url)
			for g := range goroutines {
				customer(b, l, fmt.Sprintf("cust/%d", g))
			}
			ctx := context.Background()
			var next, worker atomic.Int64
			b.ReportAllocs()
			b.SetParallelism((goroutines + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			m.start()
			b.RunParallel(func(pb *testing.PB) {
				cust := int(worker.Add(1)-1) % goroutines
				for pb.Next() {
					i := next.Add(1)
					if _, err := l.Post(ctx, award(fmt.Sprintf("award/%d", i), cust)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			m.report(b, int(next.Load()))
		})
	}
}

// BenchmarkPostBatch100 posts batches of 100 transactions (one unit of
// work, one commit each) to 100 distinct customers.
func BenchmarkPostBatch100(b *testing.B) {
	const size = 100
	l, m := benchLedger(b, size)
	ctx := context.Background()
	batch := make([]ledger.Transaction, size)
	b.ReportAllocs()
	b.ResetTimer()
	m.start()
	for i := range b.N {
		for j := range batch {
			batch[j] = award(fmt.Sprintf("batch/%d/%d", i, j), j)
		}
		if _, err := l.PostBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	m.report(b, b.N*size)
}

// BenchmarkPostBatch100Writers posts batches of 100 transactions from
// several writers at once (4, and 8), each crediting its own 100
// customers from the shared issuance account: a settlement service with a
// few concurrent batch jobs. One writer alone leaves a core idle while
// the other works (the client prepares, then the server executes and
// flushes); concurrent writers overlap the two and share WAL flushes.
// Each batch is still one unit of work and one durable commit.
func BenchmarkPostBatch100Writers(b *testing.B) {
	for _, writers := range []int{4, 8} {
		b.Run(fmt.Sprintf("w%d", writers), func(b *testing.B) {
			const size = 100
			l, m := benchLedger(b, size*writers)
			ctx := context.Background()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			m.start()
			for w := range writers {
				wg.Go(func() {
					batch := make([]ledger.Transaction, size)
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						for j := range batch {
							batch[j] = award(fmt.Sprintf("batch/%d/%d", i, j), w*size+j)
						}
						if _, err := l.PostBatch(ctx, batch); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			m.report(b, b.N*size)
		})
	}
}

// BenchmarkHotAccountRedeem100 has 100 goroutines redeeming 1 point at a
// time from one customer account: every redemption serialises on that
// account's row lock.
func BenchmarkHotAccountRedeem100(b *testing.B) {
	l, m := benchLedger(b, 0)
	ctx := context.Background()
	customer(b, l, "hot")
	if _, err := l.Post(ctx, ledger.Transaction{Key: "fund",
		Postings: []ledger.Posting{{From: issuance, To: "hot", Amount: decimal.New(int64(b.N), 0)}}}); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	m.start()
	for g := 0; g < 100; g++ {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := l.Post(ctx, ledger.Transaction{Key: fmt.Sprintf("redeem/%d", i),
					Postings: []ledger.Posting{{From: "hot", To: redeemed, Amount: decimal.New(1, 0)}}}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	m.report(b, b.N)
	if bal, err := l.Balance(ctx, "hot", time.Time{}); err != nil || !bal.Available.IsZero() {
		b.Fatalf("hot account after %d redemptions: %v %v, want 0", b.N, bal.Available, err)
	}
}

// BenchmarkBalance reads the current balance of customers holding expiring
// lots, from 8 goroutines per core: the HTTP service's hottest read.
// "snapshot" is the engine's AccountSnapshot path (one round trip);
// "general" asks for a balance one nanosecond in the future through a
// store without that capability (Begin, account, holds, lots, Commit).
func BenchmarkBalance(b *testing.B) {
	for _, mode := range []string{"snapshot", "general"} {
		b.Run(mode, func(b *testing.B) {
			l, m := benchLedger(b, 100)
			ctx := context.Background()
			exp := time.Now().Add(365 * 24 * time.Hour)
			for c := range 100 {
				for k := range 3 {
					tx := award(fmt.Sprintf("bal/%d/%d", c, k), c)
					tx.Postings[0].ExpiresAt = exp.Add(time.Duration(k) * time.Hour)
					if _, err := l.Post(ctx, tx); err != nil {
						b.Fatal(err)
					}
				}
			}
			if mode == "general" {
				var err error
				if l, err = ledger.New(generalOnly{l.Store()}); err != nil {
					b.Fatal(err)
				}
			}
			var n atomic.Int64
			b.SetParallelism(8)
			b.ReportAllocs()
			b.ResetTimer()
			m.start()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c := n.Add(1) % 100
					bal, err := l.Balance(ctx, fmt.Sprintf("cust/%d", c), time.Time{})
					if err != nil {
						b.Error(err)
						return
					}
					if !bal.PendingExpiry.Equal(decimal.New(375, -2)) {
						b.Errorf("cust/%d: pending expiry %s, want 3.75", c, bal.PendingExpiry)
						return
					}
				}
			})
			m.report(b, b.N)
		})
	}
}

// generalOnly hides the store's optional capabilities but for the ones the
// general balance path uses through its transactions.
type generalOnly struct{ s ledger.Store }

func (g generalOnly) Begin(ctx context.Context, write bool) (ledger.StoreTx, error) {
	return g.s.Begin(ctx, write)
}
func (g generalOnly) Close() error { return nil }
