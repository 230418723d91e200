package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/sqlite"
	"github.com/shopspring/decimal"
)

// benchCustomers is how many customer accounts the benchmarks spread
// awards over.
const benchCustomers = 1000

func benchLedger(b *testing.B, opts ...sqlite.Option) *ledger.Engine {
	b.Helper()
	ctx := context.Background()
	l, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	accts := []ledger.Account{{ID: "issuance", Kind: ledger.KindIssuance}, {ID: "redeemed", Kind: ledger.KindRedeemed}}
	for i := range benchCustomers {
		accts = append(accts, ledger.Account{ID: fmt.Sprintf("cust/%04d", i), Kind: ledger.KindCustomer})
	}
	for _, a := range accts {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	return l
}

// benchAward is a typical award: issuance → customer, with the metadata the
// rewards engine writes.
func benchAward(n int) ledger.Transaction {
	return ledger.Transaction{
		Key:      fmt.Sprintf("award/%d", n),
		Postings: []ledger.Posting{{From: "issuance", To: fmt.Sprintf("cust/%04d", n%benchCustomers), Amount: decimal.New(125, -2)}},
		Metadata: map[string]string{"rule": "r1", "customer": fmt.Sprint(n % benchCustomers), "program": "p"},
	}
}

// cpuTime is the process's user+system CPU time so far (all threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// meter reports wall-clock tx/s and tx per CPU-second; the second depends
// less on other load on a shared machine.
type meter struct {
	wall time.Time
	cpu  time.Duration
}

func startMeter() meter { return meter{time.Now(), cpuTime()} }

func (m meter) report(b *testing.B, txs int) {
	b.ReportMetric(float64(txs)/time.Since(m.wall).Seconds(), "tx/s")
	if cpu := cpuTime() - m.cpu; cpu > 0 {
		b.ReportMetric(float64(txs)/cpu.Seconds(), "tx/cpu-s")
	}
}

func benchSingle(b *testing.B, opts ...sqlite.Option) {
	l := benchLedger(b, opts...)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	m := startMeter()
	for i := range b.N {
		if _, err := l.Post(ctx, benchAward(i)); err != nil {
			b.Fatal(err)
		}
	}
	m.report(b, b.N)
}

// BenchmarkPostSingle: one transaction per Post, one commit each.
func BenchmarkPostSingle(b *testing.B) { benchSingle(b) }

// BenchmarkPostSingleSyncNormal is BenchmarkPostSingle with synchronous=NORMAL.
func BenchmarkPostSingleSyncNormal(b *testing.B) {
	benchSingle(b, sqlite.WithSynchronous(sqlite.SyncNormal))
}

func benchBatch(b *testing.B, size int, opts ...sqlite.Option) {
	l := benchLedger(b, opts...)
	ctx := context.Background()
	batch := make([]ledger.Transaction, size)
	b.ReportAllocs()
	b.ResetTimer()
	m := startMeter()
	n := 0
	for range b.N {
		for j := range batch {
			batch[j] = benchAward(n)
			n++
		}
		if _, err := l.PostBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	m.report(b, n)
}

// BenchmarkPostBatch100: PostBatch of 100 awards, one commit per batch;
// b.N counts batches.
func BenchmarkPostBatch100(b *testing.B) { benchBatch(b, 100) }

// BenchmarkPostBatch100SyncNormal is BenchmarkPostBatch100 with synchronous=NORMAL.
func BenchmarkPostBatch100SyncNormal(b *testing.B) {
	benchBatch(b, 100, sqlite.WithSynchronous(sqlite.SyncNormal))
}

// BenchmarkPostBatch100Writers: 4 goroutines each posting PostBatch of
// 100 awards (their own keys), one durable commit per batch; b.N counts
// batches. SQLite has one writer at a time, but a batch's preparation
// (normalising, validating, building the rows) overlaps another's write.
func BenchmarkPostBatch100Writers(b *testing.B) {
	const size, writers = 100, 4
	l := benchLedger(b)
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	m := startMeter()
	for range writers {
		wg.Go(func() {
			batch := make([]ledger.Transaction, size)
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				for j := range batch {
					batch[j] = benchAward(i*size + j)
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
}

// BenchmarkHotAccountRedeem: 100 goroutines redeem 0.01 points each from
// one customer account, every redemption its own Post; b.N counts
// redemptions. The account never goes negative (checked at the end).
func BenchmarkHotAccountRedeem(b *testing.B) {
	l := benchLedger(b)
	ctx := context.Background()
	const hot = "cust/0000"
	funded := decimal.New(int64(b.N)+1, -2)
	if _, err := l.Post(ctx, ledger.Transaction{Key: "fund", Postings: []ledger.Posting{{From: "issuance", To: hot, Amount: funded}}}); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	b.ReportAllocs()
	b.ResetTimer()
	m := startMeter()
	for range 100 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				_, err := l.Post(ctx, ledger.Transaction{
					Key:      fmt.Sprintf("redeem/%d", i),
					Postings: []ledger.Posting{{From: hot, To: "redeemed", Amount: decimal.New(1, -2)}},
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	m.report(b, b.N)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	bal, err := l.Balance(ctx, hot, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	if !bal.Available.Equal(decimal.New(1, -2)) {
		b.Fatalf("hot account available = %v; want 0.01", bal.Available)
	}
}
