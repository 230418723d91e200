package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// FreshSchema creates an empty schema in the database at baseURL and
// returns a URL whose search_path selects it (pgx passes unknown URL
// parameters to the server as run-time settings), so each run starts
// from empty tables and never touches another's rows. drop removes the
// schema and everything in it.
func FreshSchema(ctx context.Context, baseURL string) (schemaURL string, drop func(context.Context) error, err error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "negawatt_load_" + hex.EncodeToString(b[:])
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("loadtest: PostgreSQL URL %q: want postgres://…", redact(baseURL))
	}
	conn, err := pgx.Connect(ctx, baseURL)
	if err != nil {
		return "", nil, fmt.Errorf("loadtest: connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("loadtest: create schema: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	// Tags the run's connections in pg_stat_activity (see backendCPU).
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	drop = func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, baseURL)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		return err
	}
	return u.String(), drop, nil
}

// redact hides a URL's password in messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
