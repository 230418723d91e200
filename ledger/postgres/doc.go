// Package postgres is the PostgreSQL adapter of the negawatt points ledger,
// for deployments where several service instances share one ledger.
//
// It implements [ledger.Store] with pgx v5 (github.com/jackc/pgx/v5); all
// ledger rules live in package ledger's engine, so this adapter behaves
// exactly like the in-memory and SQLite ones and passes the same
// conformance suite (ledger/ledgertest).
//
// # Schema and migrations
//
// The schema ships inside the binary as ordered SQL migrations and is
// applied by an explicit call, never implicitly on Open:
//
//	pool, _ := pgxpool.New(ctx, url)
//	if err := postgres.Migrate(ctx, pool); err != nil { ... } // at deploy time
//	l, err := postgres.OpenPool(ctx, pool)                    // at service start
//
// Migrate records versions in a schema_version table and holds a
// transaction-scoped advisory lock, so several processes may call it at
// once. Open and OpenPool refuse a schema that is older (ErrNotMigrated) or
// newer (ErrSchemaTooNew) than the build expects. The ledger lives in the
// first schema of the connection's search_path (add search_path=... to the
// URL to use another one).
//
// # Concurrency and durability
//
// Each unit of work of the engine (a Post, a PostBatch, a hold, a sweep) is
// one PostgreSQL transaction at READ COMMITTED that first locks every
// account it touches with SELECT ... ORDER BY id FOR UPDATE. Locks are
// taken in one sorted order, so writers never deadlock on accounts, and a
// writer that waited reads the balance its predecessor committed: no lost
// update and no overdraft, across goroutines and processes. Idempotency
// keys are a UNIQUE column next to the SHA-256 of the request's canonical
// content. Serialization failures, deadlocks and duplicate-key races are
// reported to the engine as [ledger.ErrRetry], which re-runs the unit of
// work. Commits are as durable as the server's synchronous_commit setting
// (on by default); a connection lost or a context cancelled before COMMIT
// leaves nothing behind, and re-posting the same keys completes the work
// exactly once.
//
// A batch's writes are set-based statements over array parameters, sent as
// one pipelined pgx.Batch, so a batch of 100 transactions costs a handful
// of round trips and one WAL flush.
//
// Instants are stored as int64 nanoseconds since the Unix epoch, so they
// come back exactly as given (PostgreSQL's timestamptz keeps microseconds);
// the storable range is 1677-09-21 to 2262-04-11 ([ErrTimeRange]).
package postgres
