package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/ledger"
	"github.com/shopspring/decimal"
)

// TestPostBatchLarge: a batch large enough to be normalized in two halves
// posts every transaction, and reports the first invalid one by index
// whichever half it is in.
func TestPostBatchLarge(t *testing.T) {
	ctx := context.Background()
	newLedger := func(t *testing.T) *ledger.Engine {
		l, err := ledger.NewMemory()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []ledger.Account{{ID: "issuance", Kind: ledger.KindIssuance}, {ID: "c1", Kind: ledger.KindCustomer}} {
			if _, err := l.CreateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		return l
	}
	batch := func(n int, bad ...int) []ledger.Transaction {
		txs := make([]ledger.Transaction, n)
		for i := range txs {
			txs[i] = ledger.Transaction{Key: fmt.Sprintf("k%d", i), Metadata: map[string]string{"rule": "r1"},
				Postings: []ledger.Posting{{From: "issuance", To: "c1", Amount: decimal.New(int64(i+1), -2)}}}
		}
		for _, i := range bad {
			txs[i].Postings[0].Amount = decimal.Zero
		}
		return txs
	}
	for _, tc := range []struct {
		name string
		bad  []int
		want int // failing index, -1 for none
	}{
		{"valid", nil, -1},
		{"first half", []int{10}, 10},
		{"second half", []int{250}, 250},
		{"both halves", []int{250, 10}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(t)
			txs := batch(300, tc.bad...)
			got, err := l.PostBatch(ctx, txs)
			if tc.want >= 0 {
				var be *ledger.BatchError
				if !errors.As(err, &be) || be.Index != tc.want || be.Key != txs[tc.want].Key {
					t.Fatalf("PostBatch error = %v, want a BatchError at index %d", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range txs {
				if diff := cmp.Diff(txs[i].Postings, got[i].Postings); diff != "" {
					t.Fatalf("transaction %d postings (-posted +stored):\n%s", i, diff)
				}
			}
			bal, err := l.Balance(ctx, "c1", got[len(got)-1].PostedAt)
			if err != nil {
				t.Fatal(err)
			}
			if want := decimal.New(300*301/2, -2); !bal.Posted.Equal(want) {
				t.Errorf("c1 posted %s, want %s", bal.Posted, want)
			}
		})
	}
}
