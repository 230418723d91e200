package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/negawatt/negawatt/ledger"
	"github.com/shopspring/decimal"
)

// A utility program awards points for saved energy, a customer redeems
// some through a two-phase hold, and unspent expiring points lapse.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	l, err := ledger.NewMemory(ledger.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	defer l.Close()
	for _, a := range []ledger.Account{
		{ID: "program/issuance", Kind: ledger.KindIssuance},
		{ID: "program/redeemed", Kind: ledger.KindRedeemed},
		{ID: "cust/42", Kind: ledger.KindCustomer}, // never negative
	} {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			panic(err)
		}
	}

	// Awards, idempotent by key; one expires at the end of the year.
	_, err = l.PostBatch(ctx, []ledger.Transaction{
		{Key: "award/2026-01/cust-42", Metadata: map[string]string{"rule": "winter-saver"},
			EffectiveAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			Postings:    []ledger.Posting{{From: "program/issuance", To: "cust/42", Amount: decimal.RequireFromString("120.50")}}},
		{Key: "award/2026-02/cust-42", Metadata: map[string]string{"rule": "winter-saver"},
			EffectiveAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
			Postings: []ledger.Posting{{From: "program/issuance", To: "cust/42", Amount: decimal.RequireFromString("80"),
				ExpiresAt: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}}},
	})
	if err != nil {
		panic(err)
	}

	// The rewards engine's cap check: points from this rule in Q1.
	q1, _ := l.AwardedSum(ctx, ledger.AwardQuery{Account: "cust/42", TagKey: "rule", TagValue: "winter-saver",
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)})
	fmt.Println("awarded in Q1:", q1)

	// Redeem a 50-point gift card: hold, then commit.
	if _, err := l.Hold(ctx, ledger.HoldRequest{ID: "order-7", Account: "cust/42", To: "program/redeemed",
		Amount: decimal.NewFromInt(50), Deadline: now.Add(time.Hour)}); err != nil {
		panic(err)
	}
	b, _ := l.Balance(ctx, "cust/42", time.Time{})
	fmt.Println("available:", b.Available, "held:", b.Held)
	if _, err := l.CommitHold(ctx, "order-7", decimal.NewFromInt(50)); err != nil {
		panic(err)
	}

	// Overdrawing is refused.
	_, err = l.Post(ctx, ledger.Transaction{Key: "too-much",
		Postings: []ledger.Posting{{From: "cust/42", To: "program/redeemed", Amount: decimal.NewFromInt(500)}}})
	fmt.Println("overdraw refused:", errors.Is(err, ledger.ErrInsufficientFunds))

	// The redemption took the expiring points first; at year end the
	// rest of them lapse.
	b, _ = l.Balance(ctx, "cust/42", time.Time{})
	fmt.Println("available:", b.Available, "expiring:", b.PendingExpiry)
	res, _ := l.SweepExpired(ctx, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println("expiries:", len(res.Transactions))
	b, _ = l.Balance(ctx, "cust/42", time.Time{})
	fmt.Println("available:", b.Available)
	// Output:
	// awarded in Q1: 200.5
	// available: 150.5 held: 50
	// overdraw refused: true
	// available: 150.5 expiring: 30
	// expiries: 1
	// available: 120.5
}
