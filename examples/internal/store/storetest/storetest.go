// Package storetest gives tests a private PostgreSQL schema, so the
// store, app and httpserver tests can share one database (and run in
// parallel) without seeing each other's rows.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresURL returns NEGAWATT_POSTGRES_URL with search_path set to a
// fresh schema that is dropped when the test ends. Without the variable
// it skips the test, or fails it when CI=true (CI must test PostgreSQL).
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("NEGAWATT_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but NEGAWATT_POSTGRES_URL is unset: PostgreSQL mode must be tested in CI")
		}
		t.Skip("NEGAWATT_POSTGRES_URL unset: skipping PostgreSQL mode")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect %s: %v", redact(base), err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "apptest_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("NEGAWATT_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
