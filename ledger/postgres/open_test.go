package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/negawatt/negawatt/ledger"
)

func TestOpenRequiresMigrate(t *testing.T) {
	t.Parallel()
	u := freshSchema(t)
	ctx := context.Background()
	if _, err := Open(ctx, u); !errors.Is(err, ErrNotMigrated) {
		t.Fatalf("Open on an empty schema: got %v, want ErrNotMigrated", err)
	}
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := OpenPool(ctx, pool); !errors.Is(err, ErrNotMigrated) {
		t.Fatalf("OpenPool on an empty schema: got %v, want ErrNotMigrated", err)
	}
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	l, err := OpenPool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// The caller owns the pool: closing the ledger leaves it usable.
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("pool after closing the ledger: %v", err)
	}
	if _, err := l.Account(ctx, "x"); !errors.Is(err, ledger.ErrClosed) {
		t.Fatalf("Account after Close: got %v, want ErrClosed", err)
	}
	if _, err := Open(ctx, "postgres://%zz"); err == nil {
		t.Fatal("Open with a malformed URL succeeded")
	}
}
