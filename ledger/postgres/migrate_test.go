package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	u := freshSchema(t)
	ctx := context.Background()
	// Several pools stand in for several processes racing to migrate one
	// schema at service start; the advisory lock must serialise them.
	const racers = 4
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			pool, err := pgxpool.New(ctx, u)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			errs[i] = Migrate(ctx, pool)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("racer %d: %v", i, err)
		}
	}
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := Migrate(ctx, pool); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	var n, max int
	if err := pool.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_version`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || max != SchemaVersion() {
		t.Fatalf("schema_version has %d rows up to %d, want %d rows up to %d", n, max, len(ms), SchemaVersion())
	}
	if err := checkVersion(ctx, pool); err != nil {
		t.Fatalf("checkVersion after Migrate: %v", err)
	}
}

func TestCheckVersion(t *testing.T) {
	t.Parallel()
	u := freshSchema(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := checkVersion(ctx, pool); !errors.Is(err, ErrNotMigrated) {
		t.Fatalf("empty schema: got %v, want ErrNotMigrated", err)
	}
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO schema_version (version, name) VALUES ($1, 'from_the_future.sql')`,
		SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	if err := checkVersion(ctx, pool); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("future schema: got %v, want ErrSchemaTooNew", err)
	}
	if err := Migrate(ctx, pool); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Migrate on future schema: got %v, want ErrSchemaTooNew", err)
	}
}
