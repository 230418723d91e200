package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// envURL names the environment variable holding the test server's URL;
// .ci/run starts PostgreSQL and exports it.
const envURL = "NEGAWATT_POSTGRES_URL"

// serverURL returns the test server's URL. Locally a missing URL skips the
// test with a message; under CI=true it fails it, so CI cannot go green by
// silently skipping the PostgreSQL adapter.
func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u != "" {
		return u
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("%s is not set but CI=true: the PostgreSQL adapter must be tested in CI (.ci/run starts PostgreSQL and exports it)", envURL)
	}
	t.Skipf("%s is not set; skipping PostgreSQL tests (e.g. %s=postgres://user:pass@127.0.0.1:5432/db)", envURL, envURL)
	return ""
}

// freshSchema creates an empty schema for one test and returns a URL whose
// search_path selects it, so tests run in parallel and repeat (-count=N)
// without seeing each other's rows. The schema is dropped when the test ends.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := serverURL(t)
	ctx := context.Background()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "negawatt_test_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", envURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(),
			"DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", envURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	// The schema name doubles as application_name, so a test can find its
	// own backends in pg_stat_activity among those of parallel tests.
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// migratedSchema returns the URL of a fresh schema migrated with a
// short-lived pool, so a test that opens many ledgers (the rapid state
// machine) holds no connection per ledger beyond the ledger's own.
func migratedSchema(t testing.TB) string {
	t.Helper()
	pool, u := freshPool(t)
	defer pool.Close() // short-lived: Close is idempotent
	if err := Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return u
}

// testPool opens a pool on a fresh, migrated schema.
func testPool(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	pool, u := freshPool(t)
	if err := Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return pool, u
}

// freshPool opens a pool on a fresh schema that is not migrated yet,
// closed when the test ends; it returns the schema's URL too.
func freshPool(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	u := freshSchema(t)
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, u
}
