package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/postgres"
)

// Example shows a deployment's sequence: migrate the schema (an explicit
// step, e.g. at deploy time), open the ledger over a pool, award points,
// redeem some and read the balance. It needs a PostgreSQL server, so it
// is compiled but not run by go test (no Output comment); the same steps
// run against a real server in the package's tests.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("NEGAWATT_POSTGRES_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		log.Fatal(err)
	}
	l, err := postgres.OpenPool(ctx, pool)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	for _, a := range []ledger.Account{
		{ID: "program/issuance", Kind: ledger.KindIssuance},
		{ID: "program/redeemed", Kind: ledger.KindRedeemed},
		{ID: "customer/42", Kind: ledger.KindCustomer},
	} {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			log.Fatal(err)
		}
	}
	// The key makes the award idempotent: a retry after a timeout cannot
	// pay twice.
	if _, err := l.Post(ctx, ledger.Transaction{
		Key:      "award/customer-42/2026-07",
		Postings: []ledger.Posting{{From: "program/issuance", To: "customer/42", Amount: decimal.RequireFromString("125.50")}},
		Metadata: map[string]string{"rule": "summer-peak"},
	}); err != nil {
		log.Fatal(err)
	}
	if _, err := l.Post(ctx, ledger.Transaction{
		Key:      "redeem/customer-42/gift-card-1",
		Postings: []ledger.Posting{{From: "customer/42", To: "program/redeemed", Amount: decimal.RequireFromString("100")}},
	}); err != nil {
		log.Fatal(err)
	}
	b, err := l.Balance(ctx, "customer/42", time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("available:", b.Available.StringFixed(2))
}
