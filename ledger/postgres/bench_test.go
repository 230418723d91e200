package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
)

// Benchmarks run against NEGAWATT_POSTGRES_URL with the server's own
// durability settings (logged: synchronous_commit, fsync, wal_sync_method),
// on a fresh schema per run. Results and settings: BENCHMARKS.md.

func benchLedger(b *testing.B, customers int) *ledger.Engine {
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
	return l
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
	l := benchLedger(b, 100)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := l.Post(ctx, award(fmt.Sprintf("single/%d", i), i%100)); err != nil {
			b.Fatal(err)
		}
	}
	reportTxPerSec(b, b.N)
}

// BenchmarkPostSingleParallel posts single transactions from 8 goroutines
// per core to distinct customers; PostgreSQL's group commit shares WAL
// flushes among concurrent commits.
func BenchmarkPostSingleParallel(b *testing.B) {
	l := benchLedger(b, 100)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := l.Post(ctx, award(fmt.Sprintf("par/%d", i), int(i%100))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportTxPerSec(b, int(n.Load()))
}

// BenchmarkPostBatch100 posts batches of 100 transactions (one unit of
// work, one commit each) to 100 distinct customers.
func BenchmarkPostBatch100(b *testing.B) {
	const size = 100
	l := benchLedger(b, size)
	ctx := context.Background()
	batch := make([]ledger.Transaction, size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for j := range batch {
			batch[j] = award(fmt.Sprintf("batch/%d/%d", i, j), j)
		}
		if _, err := l.PostBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	reportTxPerSec(b, b.N*size)
}

// BenchmarkHotAccountRedeem100 has 100 goroutines redeeming 1 point at a
// time from one customer account: every redemption serialises on that
// account's row lock.
func BenchmarkHotAccountRedeem100(b *testing.B) {
	l := benchLedger(b, 0)
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
	reportTxPerSec(b, b.N)
	if bal, err := l.Balance(ctx, "hot", time.Time{}); err != nil || !bal.Available.IsZero() {
		b.Fatalf("hot account after %d redemptions: %v %v, want 0", b.N, bal.Available, err)
	}
}
