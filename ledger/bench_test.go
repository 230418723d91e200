package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/negawatt/negawatt/ledger"
	"github.com/shopspring/decimal"
)

const benchCustomers = 1000

func benchLedger(b *testing.B) *ledger.Engine {
	b.Helper()
	l, err := ledger.NewMemory()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := l.CreateAccount(ctx, ledger.Account{ID: "issuance", Kind: ledger.KindIssuance}); err != nil {
		b.Fatal(err)
	}
	if _, err := l.CreateAccount(ctx, ledger.Account{ID: "redeemed", Kind: ledger.KindRedeemed}); err != nil {
		b.Fatal(err)
	}
	for i := range benchCustomers {
		if _, err := l.CreateAccount(ctx, ledger.Account{ID: fmt.Sprintf("c%04d", i), Kind: ledger.KindCustomer}); err != nil {
			b.Fatal(err)
		}
	}
	return l
}

var benchAmount = decimal.RequireFromString("12.34")

// benchAward is an award with an expiry, the common case (one lot opened).
func benchAward(i int) ledger.Transaction {
	return ledger.Transaction{
		Key:         fmt.Sprintf("award-%d", i),
		Postings:    []ledger.Posting{{From: "issuance", To: fmt.Sprintf("c%04d", i%benchCustomers), Amount: benchAmount, ExpiresAt: time.Now().Add(365 * 24 * time.Hour)}},
		Metadata:    map[string]string{"rule": "r1"},
		EffectiveAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// report adds throughput per wall-clock second and per CPU-second (cpu is
// the process CPU time used during the timed loop, all threads, GC included).
func report(b *testing.B, txs, postings int, cpu time.Duration) {
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(txs)/s, "tx/s")
	b.ReportMetric(float64(postings)/s, "postings/s")
	if cpu > 0 {
		b.ReportMetric(float64(postings)/cpu.Seconds(), "postings/cpu-s")
	}
}

// BenchmarkPostSingle: one Post (one award) per operation.
func BenchmarkPostSingle(b *testing.B) {
	l := benchLedger(b)
	ctx := context.Background()
	txs := make([]ledger.Transaction, b.N)
	for i := range txs {
		txs[i] = benchAward(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := range b.N {
		if _, err := l.Post(ctx, txs[i]); err != nil {
			b.Fatal(err)
		}
	}
	report(b, b.N, b.N, processCPU()-cpu0)
}

// BenchmarkPostBatch100: PostBatch of 100 awards per operation.
func BenchmarkPostBatch100(b *testing.B) {
	benchBatch(b, 1)
}

// BenchmarkPostBatch100x10: 100 transactions per batch, 10 postings each
// (a program paying ten customers per transaction).
func BenchmarkPostBatch100x10(b *testing.B) {
	benchBatch(b, 10)
}

// benchBatch posts b.N batches of 100 transactions with the given postings
// each. A caller streams its batches, so each is built just before it is
// posted, with the timer stopped and its CPU not counted; building all b.N
// up front would keep hundreds of megabytes of inputs live for the
// collector to rescan during the timed loop, which is the harness's cost,
// not the ledger's.
func benchBatch(b *testing.B, postings int) {
	l := benchLedger(b)
	ctx := context.Background()
	exp := time.Now().Add(365 * 24 * time.Hour)
	n := 0
	build := func() []ledger.Transaction {
		batch := make([]ledger.Transaction, 100)
		for j := range batch {
			ps := make([]ledger.Posting, postings)
			for k := range ps {
				ps[k] = ledger.Posting{From: "issuance", To: fmt.Sprintf("c%04d", (n*postings+k)%benchCustomers), Amount: benchAmount, ExpiresAt: exp}
			}
			batch[j] = ledger.Transaction{Key: fmt.Sprintf("b-%d", n), Postings: ps, Metadata: map[string]string{"rule": "r1"}}
			n++
		}
		return batch
	}
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for range b.N {
		b.StopTimer()
		batch := build()
		b.StartTimer()
		cpu0 := processCPU()
		if _, err := l.PostBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU() - cpu0
	}
	report(b, 100*b.N, 100*postings*b.N, cpu)
}

// BenchmarkHotAccountRedeem100: 100 goroutines redeem from one customer
// account concurrently; b.N redemptions in total.
func BenchmarkHotAccountRedeem100(b *testing.B) {
	l := benchLedger(b)
	ctx := context.Background()
	fund := ledger.Transaction{Key: "fund", Postings: []ledger.Posting{{From: "issuance", To: "c0000", Amount: decimal.NewFromInt(int64(b.N) + 1)}}}
	if _, err := l.Post(ctx, fund); err != nil {
		b.Fatal(err)
	}
	one := decimal.NewFromInt(1)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				tx := ledger.Transaction{Key: fmt.Sprintf("r-%d", i), Postings: []ledger.Posting{{From: "c0000", To: "redeemed", Amount: one}}}
				if _, err := l.Post(ctx, tx); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	report(b, b.N, b.N, processCPU()-cpu0)
	bal, err := l.Balance(ctx, "c0000", time.Time{})
	if err != nil || !bal.Available.Equal(one) {
		b.Fatalf("hot account ends at %v, %v; want 1", bal.Available, err)
	}
}

// BenchmarkBalance: Balance (now) of a customer holding 10 open lots, the
// read a points app makes most; one read-only storage transaction each.
func BenchmarkBalance(b *testing.B) {
	l := benchLedger(b)
	ctx := context.Background()
	for i := range 10 * benchCustomers {
		if _, err := l.Post(ctx, benchAward(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		bal, err := l.Balance(ctx, fmt.Sprintf("c%04d", i%benchCustomers), time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		if !bal.Posted.Equal(benchAmount.Mul(decimal.NewFromInt(10))) {
			b.Fatalf("posted %s, want 10 × %s", bal.Posted, benchAmount)
		}
		i++
	}
}
