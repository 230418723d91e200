// Package sqlite is the embedded default storage for the negawatt points
// ledger: one SQLite file, pure Go (modernc.org/sqlite, no cgo), safe for
// many goroutines of one process.
//
// [Open] returns a [ledger.Engine] over a [Store], so every ledger rule
// (idempotency, double entry, lots, holds, expiry, reversal) is the shared
// engine's and this package only persists rows; it passes the same
// conformance suite (ledger/ledgertest) as every other adapter.
//
// # Concurrency
//
// The file is opened in WAL mode (https://www.sqlite.org/wal.html). Writes
// go through a single connection that begins with BEGIN IMMEDIATE, so
// writers of this process queue in Go (each waiting with its own context)
// and a unit of work owns the write lock from its first read to its commit:
// no lost update, no overdraft. Reads (Balance, History, Lookup...) use a
// pool of read-only connections that see a consistent snapshot and neither
// block nor are blocked by the writer. Other processes may open the same
// file; SQLite's file locks serialise their writers (see [WithBusyTimeout]).
//
// # Durability
//
// By default (synchronous=FULL, [SyncFull]) the write-ahead log is fsynced
// before a commit returns: a posted transaction survives process crashes,
// operating-system crashes and power loss. [SyncNormal] trades the last
// commits before an OS crash or power loss for speed; a process crash still
// loses nothing. In every mode a transaction or batch is atomic: after any
// crash it is either fully present or absent.
//
// # Memory
//
// The writer connection keeps a page cache of up to 64 MiB (SQLite's
// default is 2 MiB) so the index pages a batch touches stay in memory as
// the file grows; each reader keeps SQLite's default. The write-ahead log
// is checkpointed into the database file every 4000 pages (16 MiB).
//
// # Schema
//
// The schema is embedded (migrations/*.sql) and applied by [Open] inside one
// transaction; the table schema_version records each applied version, and a
// file written by a newer version of this package is refused
// ([ErrSchemaTooNew]). Amounts are stored as exact decimal strings, instants
// as fixed-width UTC text with nanoseconds (years 0000-9999); rows are
// never deleted.
package sqlite
