package ledger

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// A memory store that has no room left for a commit's records refuses the
// whole commit with ErrStoreFull and keeps what it had.
func TestMemoryStoreFull(t *testing.T) {
	ctx := context.Background()
	l, err := NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, a := range []Account{{ID: "iss", Kind: KindIssuance}, {ID: "c", Kind: KindCustomer}} {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	award := func(key string, n int64) Transaction {
		return Transaction{Key: key, Postings: []Posting{{From: "iss", To: "c", Amount: decimal.NewFromInt(n)}}}
	}
	if _, err := l.Post(ctx, award("a", 5)); err != nil {
		t.Fatal(err)
	}
	defer func(old int) { memMaxRecords = old }(memMaxRecords)
	memMaxRecords = 2 // room for one more record, not for two
	_, err = l.PostBatch(ctx, []Transaction{award("b", 1), award("c", 2)})
	if !errors.Is(err, ErrStoreFull) {
		t.Fatalf("batch past the limit: err = %v, want ErrStoreFull", err)
	}
	b, err := l.Balance(ctx, "c", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Available.Equal(decimal.NewFromInt(5)) {
		t.Fatalf("balance after the refused batch = %s, want 5", b.Available)
	}
	if _, err := l.Post(ctx, award("b", 1)); err != nil {
		t.Fatalf("one record still fits: %v", err)
	}
	if _, err := l.Post(ctx, award("d", 1)); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("post into a full store: err = %v, want ErrStoreFull", err)
	}
}
