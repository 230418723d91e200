package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Migrations are plain SQL files named NNNN_description.sql, applied in
// ascending NNNN order, each exactly once, each recorded in schema_version.
// They are embedded so a deployed binary carries the schema it was built for.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockClass is the first key of the two-key advisory lock Migrate
// takes; the second key is a hash of the target schema, so migrating two
// different schemas (e.g. parallel tests) does not serialise, while two
// processes migrating the same schema do.
const migrateLockClass = 0x4e57 // "NW"

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations parses the embedded migration files. It fails on a
// malformed file name or a duplicated version, which is a build-time bug.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("postgres: migration file %q: want NNNN_name.sql", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("postgres: migration version %d in both %q and %q", v, prev, name)
		}
		seen[v] = name
		body, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// SchemaVersion is the schema version this build of the package expects:
// the highest embedded migration.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// Migrate brings the ledger schema in the pool's current schema (the first
// entry of search_path) up to SchemaVersion. It is safe to call from several
// processes at once: all work happens in one transaction holding a
// transaction-scoped advisory lock (pg_advisory_xact_lock), so concurrent
// callers wait and then find nothing left to do, and a failure leaves the
// schema at its previous version (PostgreSQL DDL is transactional).
//
// Migrate returns an error wrapping ErrSchemaTooNew if the database was
// migrated by a newer build of this package.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			`SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, migrateLockClass); err != nil {
			return fmt.Errorf("postgres: migrate: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("postgres: migrate: create schema_version: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx,
			`SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current); err != nil {
			return fmt.Errorf("postgres: migrate: read version: %w", err)
		}
		if latest := ms[len(ms)-1].version; current > latest {
			return fmt.Errorf("postgres: migrate: database at version %d, this build knows %d: %w",
				current, latest, ErrSchemaTooNew)
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("postgres: migrate: apply %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx,
				`INSERT INTO schema_version (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("postgres: migrate: record %s: %w", m.name, err)
			}
		}
		return nil
	})
}

// checkVersion returns an error wrapping ErrNotMigrated or ErrSchemaTooNew
// unless the database is exactly at SchemaVersion. Open calls it so a
// service never runs against a schema it was not built for.
func checkVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) error {
	var current int
	err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current)
	if err != nil {
		if isUndefinedTable(err) {
			return fmt.Errorf("postgres: no schema_version table (call postgres.Migrate first): %w", ErrNotMigrated)
		}
		return fmt.Errorf("postgres: read schema version: %w", err)
	}
	want := SchemaVersion()
	switch {
	case current < want:
		return fmt.Errorf("postgres: schema at version %d, want %d (call postgres.Migrate): %w",
			current, want, ErrNotMigrated)
	case current > want:
		return fmt.Errorf("postgres: schema at version %d, this build knows %d: %w",
			current, want, ErrSchemaTooNew)
	}
	return nil
}
