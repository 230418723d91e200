// Package store is the example service's application data: customers,
// usage and temperature readings, fitted baseline models, rule-set
// versions and settled savings facts. Points are not here: they live in
// the ledger (ledger/sqlite or ledger/postgres), the one source of truth
// for balances.
//
// Store is the interface; Open returns the SQLite implementation (one
// file, WAL, pure Go via modernc.org/sqlite) and OpenPostgres the
// PostgreSQL one (pgx, tables prefixed app_ next to the ledger's).
// Both run the same SQL through database/sql, with embedded, versioned
// migrations applied on open, and are tested by the same suite.
//
// Writes of many rows (usage, temperature, settlements) are one
// database transaction: all rows or none. Usage and temperature are
// upserted per (series, period start), so re-sending a file is
// idempotent and a corrected reading replaces the old one.
package store
