package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/sqlite"
	"github.com/shopspring/decimal"
)

// Open a ledger file, award points, redeem some, and read the balance
// back after reopening the file.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "negawatt-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "points.db")

	l, err := sqlite.Open(ctx, path) // durable commits (synchronous=FULL) by default
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range []ledger.Account{
		{ID: "program/issuance", Kind: ledger.KindIssuance},
		{ID: "program/redeemed", Kind: ledger.KindRedeemed},
		{ID: "customer/42", Kind: ledger.KindCustomer},
	} {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			log.Fatal(err)
		}
	}
	award := ledger.Transaction{
		Key:      "award/customer-42/2026-07",
		Postings: []ledger.Posting{{From: "program/issuance", To: "customer/42", Amount: decimal.RequireFromString("120.50")}},
		Metadata: map[string]string{"rule": "summer-peak"},
	}
	for range 2 { // a retry with the same key is applied once
		if _, err := l.Post(ctx, award); err != nil {
			log.Fatal(err)
		}
	}
	redeem := ledger.Transaction{
		Key:      "redeem/customer-42/bill-credit-1",
		Postings: []ledger.Posting{{From: "customer/42", To: "program/redeemed", Amount: decimal.RequireFromString("20")}},
	}
	if _, err := l.Post(ctx, redeem); err != nil {
		log.Fatal(err)
	}
	l.Close()

	l, err = sqlite.Open(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	b, err := l.Balance(ctx, "customer/42", time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("available:", b.Available.StringFixed(2))
	// Output:
	// available: 100.50
}
