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
// one PostgreSQL transaction at READ COMMITTED that first locks the
// accounts it touches that have [ledger.FlagNoNegative] (customer accounts)
// with SELECT ... ORDER BY id FOR UPDATE. Locks are taken in one sorted
// order, so writers never deadlock on accounts, and a writer that waited
// reads the balance its predecessor committed: no lost update and no
// overdraft, across goroutines and processes. Idempotency keys are a
// UNIQUE column next to the SHA-256 of the request's canonical content.
// Serialization failures, deadlocks and duplicate-key races are reported
// to the engine as [ledger.ErrRetry], which re-runs the unit of work; so is
// a pooled connection found dead before BEGIN (server restart, failover,
// idle timeout), since nothing can have been written on it. Commits are as
// durable as the server's synchronous_commit setting (on by default); a
// connection lost or a context cancelled before COMMIT leaves nothing
// behind, and re-posting the same keys completes the work exactly once.
//
// # Accounts that may go negative: striped totals, no lock
//
// Every award debits its program's issuance account. Locking that row
// would make every award in the system wait for the previous one's
// durable commit. Accounts without FlagNoNegative (issuance, redeemed,
// expired) need no lock, since the engine never checks their balance, so
// LockAccounts reads them without one, and their running total is
//
//	accounts.posted (a base) + sum(account_stripes.posted)
//
// where each write transaction adds its change (the engine's new total
// minus what LockAccounts read) to one of 16 stripe rows, picked round
// robin per transaction: concurrent writers rarely share a row, and when
// two do, the second waits only for that row and then adds to the value
// the first committed. Held (open holds) of such accounts is updated the
// same way, relatively (held = held + change), under that row's lock.
// What the account lock used to guarantee is kept otherwise:
//
//   - Totals: every reader (Balance, ScanAccounts for export and invariant
//     checks) sums the base and the stripes in one statement, i.e. one
//     snapshot, so it sees exactly the committed transactions' postings.
//   - Holds and reversals: the UPDATE that resolves a hold requires it to
//     be still open, and the one that marks a transaction reversed
//     requires it to be unreversed; under READ COMMITTED both re-check the
//     row a concurrent writer committed, and a miss is [ledger.ErrRetry],
//     so the engine re-runs against the new state (ErrHoldResolved,
//     ErrAlreadyReversed, or the idempotent result).
//   - Idempotency keys and new accounts were never protected by the lock
//     (unique violations are retried), so nothing changes there.
//   - Import writes totals as the base, with no stripes; export reads the
//     sum, so round trips stay exact.
//
// One property is weaker on these accounts only: sequence numbers are
// reserved after LockAccounts, and without a lock two transactions on the
// same may-go-negative account can commit in the opposite order of their
// Seq. A History reader paging forward through such an account while
// transactions commit may therefore miss one that commits after the page
// was read with a lower Seq than the page's last. Pages of accounts with
// FlagNoNegative (customers) are unaffected, as are reads of a quiescent
// account; page through a system account's history by time window or
// after writes have settled if every row must be seen.
//
// # Round trips
//
// A unit of work costs four round trips and one WAL flush whatever the
// number of transactions in it: BEGIN rides with the first statement
// (lock accounts); the idempotency-key lookup also reserves the sequence
// numbers; all writes are set-based statements over array parameters sent
// as one pipelined pgx.Batch; COMMIT is sent on its own so a cancelled
// context never commits. Inside its transactions the Store sets
// plan_cache_mode to force_custom_plan, so lookups by key stay index scans
// as tables grow, except around Apply's INSERT ... SELECT FROM unnest
// statements, which read no table and reuse one generic plan. A transaction's accounts are found for History through
// expression indexes on its first posting's accounts plus tx_accounts rows
// for the accounts of later postings. See BENCHMARKS.md for throughput.
//
// Instants are stored as int64 nanoseconds since the Unix epoch, so they
// come back exactly as given (PostgreSQL's timestamptz keeps microseconds);
// the storable range is 1677-09-21 to 2262-04-11 ([ErrTimeRange]).
package postgres
