package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
)

// Store is the PostgreSQL implementation of [ledger.Store]. It only persists
// rows; [ledger.New] wraps it with the engine that holds every ledger rule.
//
// Concurrency: write transactions run at READ COMMITTED and lock every
// account they touch with one SELECT ... ORDER BY id FOR UPDATE (rows are
// locked in sorted order, so writers cannot deadlock on accounts); a writer
// that has to wait re-reads the committed row after the lock is granted,
// so balances are never lost or overdrawn, across goroutines and processes
// alike. Read-only transactions use REPEATABLE READ for a consistent
// snapshot. Transient conflicts (serialization failure 40001, deadlock
// 40P01, unique violation 23505 when two writers insert the same key or
// account) and failures that pgconn reports as safe to retry are returned
// wrapping [ledger.ErrRetry], so the engine re-runs the whole unit of work.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	closed  atomic.Bool
	// stripe hands each write transaction the next stripe, round robin, so
	// up to [stripes] concurrent writers on one may-go-negative account
	// write distinct account_stripes rows.
	stripe atomic.Uint32
	// lookups groups concurrent Transaction calls, snapshots concurrent
	// AccountSnapshot calls.
	lookups   grouper[*lookupReq]
	snapshots grouper[*snapshotReq]
}

// stripes is the number of account_stripes rows a may-go-negative account
// spreads its running total over (migration 0003). Reading the total sums
// at most this many rows; more stripes than concurrent writers (bounded by
// the pool size) buys nothing.
const stripes = 16

var (
	_ ledger.Store              = (*Store)(nil)
	_ ledger.ResolvedHoldLister = (*storeTx)(nil)
	_ ledger.AccountSnapshotter = (*Store)(nil)
	_ ledger.TransactionReader  = (*Store)(nil)
)

// NewStore returns a Store over pool, after checking that the schema in the
// pool's search_path is exactly at [SchemaVersion] (ErrNotMigrated or
// ErrSchemaTooNew otherwise). Closing the Store does not close pool.
func NewStore(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgres: NewStore: nil pool")
	}
	if err := checkVersion(ctx, pool); err != nil {
		return nil, err
	}
	s := &Store{pool: pool}
	s.lookups.max, s.lookups.run = maxLookupGroup, s.lookupGroup
	s.snapshots.max, s.snapshots.run = maxSnapshotGroup, s.snapshotGroup
	return s, nil
}

// Open connects to the database at url (a PostgreSQL URL or DSN as
// accepted by pgxpool.ParseConfig; add search_path=... to use a schema
// other than public) and returns the ledger over it. The database must
// have been migrated with [Migrate]. Closing the ledger closes the pool.
func Open(ctx context.Context, url string, opts ...ledger.Option) (*ledger.Engine, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s, err := NewStore(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	e, err := ledger.New(s, opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return e, nil
}

// OpenPool returns the ledger over an existing pool, which the caller keeps
// owning (closing the ledger does not close it). The schema must have been
// migrated with [Migrate].
func OpenPool(ctx context.Context, pool *pgxpool.Pool, opts ...ledger.Option) (*ledger.Engine, error) {
	s, err := NewStore(ctx, pool)
	if err != nil {
		return nil, err
	}
	return ledger.New(s, opts...)
}

// Close implements [ledger.Store]. It closes the pool if Open created it.
// Closing twice is a no-op.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

// Begin implements [ledger.Store]. It only takes a connection from the
// pool: BEGIN travels with the first statement (see storeTx), saving a
// round trip per unit of work.
func (s *Store) Begin(ctx context.Context, write bool) (ledger.StoreTx, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, wrap("begin", err)
	}
	begin := "BEGIN ISOLATION LEVEL READ COMMITTED"
	if !write {
		begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
	}
	t := &storeTx{ctx: ctx, conn: conn, begin: begin, write: write}
	if write {
		t.stripe = int16(s.stripe.Add(1) % stripes)
	}
	return t, nil
}

// storeTx is one PostgreSQL transaction on a connection of its own. To keep
// round trips few it pipelines: BEGIN is sent in one pgx.Batch with the
// first statement, and all of Apply's statements go in one batch. A write
// unit of work is five round trips (lock accounts, look up keys, reserve
// sequence numbers, write, commit), whatever the number of transactions
// in it.
type storeTx struct {
	ctx   context.Context // of Begin; Commit uses it, so a cancelled unit of work never commits
	conn  *pgxpool.Conn
	begin string // BEGIN statement, until sent
	write bool
	done  bool
	// pending holds Apply's statements while Apply builds them (it sends
	// them before returning), with the rows each must affect.
	pending     pgx.Batch
	pendingRows []wantRows
	// stripe is the account_stripes row this transaction adds its changes
	// of may-go-negative accounts to; unlocked holds the totals
	// LockAccounts returned for those accounts (Apply writes the difference).
	stripe   int16
	unlocked map[string]totals
	// locked is set once LockAccounts has run in a write transaction; from
	// then on Transactions reserves sequence numbers in the same round trip
	// (prefFirst, prefN), which ReserveSeq hands out without another.
	locked    bool
	prefFirst int64
	prefN     int
	// seqHi is the highest sequence number reserved by this transaction;
	// Apply advances ledger_seq past any stored Seq above it (imports).
	seqHi int64
}

// wrap annotates err with the operation and marks transient conflicts
// with ledger.ErrRetry.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	// 40001 and 40P01: PostgreSQL manual §13.6 ("applications using this
	// level must be prepared to retry transactions due to serialization
	// failures"); 23505: two writers inserted the same key or account.
	switch sqlstate(err) {
	case sqlstateSerializationFailure, sqlstateDeadlockDetected, sqlstateUniqueViolation:
		return fmt.Errorf("postgres: %s: %w: %w", op, ledger.ErrRetry, err)
	}
	// pgconn.SafeToRetry: the failure happened before anything reached the
	// server (e.g. a pooled connection found dead), so re-running is safe.
	if pgconn.SafeToRetry(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, ledger.ErrRetry, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// connectionLost reports whether err means the connection itself failed: a
// network error, or the server ending the session (SQLSTATE class 08,
// connection exception, or 57, operator intervention, e.g. 57P01 sent by
// pg_terminate_backend or a shutdown).
func connectionLost(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true
	}
	return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57")
}

// send runs BEGIN (if not yet sent), the pending Apply statements and then
// the given statements, in one round trip. It checks the results of BEGIN
// and of the pending statements and returns the open batch results
// positioned at the first of stmts; the caller reads those and closes br.
func (t *storeTx) send(ctx context.Context, stmts ...func(*pgx.Batch)) (pgx.BatchResults, error) {
	if t.done {
		return nil, errors.New("postgres: transaction already finished")
	}
	var b pgx.Batch
	began := t.begin != ""
	if began {
		b.Queue(t.begin)
		// pgx prepares and caches every statement; after five executions
		// PostgreSQL may switch a prepared statement to a generic plan
		// costed with the statistics of that moment. For the lookups by
		// key = ANY($1) on a young, growing table that plan is a
		// sequential scan that then stays, making every unit of work
		// slower as the ledger grows (measured: 5 ms at 3,000 rows). A
		// custom plan per execution costs a fraction of a millisecond.
		b.Queue("SET LOCAL plan_cache_mode = force_custom_plan")
	}
	b.QueuedQueries = append(b.QueuedQueries, t.pending.QueuedQueries...)
	want := t.pendingRows
	t.pending.QueuedQueries, t.pendingRows = nil, nil
	for _, q := range stmts {
		q(&b)
	}
	br := t.conn.SendBatch(ctx, &b)
	if began {
		for range 2 { // BEGIN, SET LOCAL
			if _, err := br.Exec(); err != nil {
				br.Close()
				if connectionLost(err) && t.ctx.Err() == nil {
					// The connection failed before the transaction began
					// (typically a pooled connection the server closed
					// while idle): nothing can have been written, so the
					// engine may safely start over on a fresh connection.
					return nil, fmt.Errorf("connection lost before BEGIN: %w: %w", ledger.ErrRetry, err)
				}
				return nil, err
			}
		}
		t.begin = ""
	}
	for i, w := range want {
		ct, err := br.Exec()
		if err != nil {
			br.Close()
			return nil, err
		}
		if w.rows >= 0 && ct.RowsAffected() != w.rows {
			br.Close()
			err := fmt.Errorf("write %d (%s) affected %d rows, want %d", i, firstWord(ct), ct.RowsAffected(), w.rows)
			if w.guarded {
				// A guarded UPDATE (see wantRows) lost a race to a
				// concurrent writer: re-running the unit of work reads the
				// row that writer committed.
				return nil, fmt.Errorf("%w: %w", ledger.ErrRetry, err)
			}
			return nil, err
		}
	}
	return br, nil
}

// query runs one statement in the transaction and scans every row.
func query[T any](t *storeTx, ctx context.Context, op string, scan func(pgx.Rows) (T, error), sql string, args ...any) ([]T, error) {
	if t.begin == "" && len(t.pendingRows) == 0 && !t.done {
		rows, err := t.conn.Query(ctx, sql, args...)
		if err != nil {
			return nil, wrap(op, err)
		}
		out, err := collect(rows, scan)
		return out, wrap(op, err)
	}
	br, err := t.send(ctx, func(b *pgx.Batch) { b.Queue(sql, args...) })
	if err != nil {
		return nil, wrap(op, err)
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, wrap(op, err)
	}
	out, err := collect(rows, scan)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return out, wrap(op, err)
}

// Commit implements [ledger.StoreTx]. On any failure the transaction is rolled back (or its
// connection discarded), so nothing of it remains.
func (t *storeTx) Commit() error {
	if t.done {
		return errors.New("postgres: commit: transaction already finished")
	}
	if t.begin != "" && len(t.pendingRows) == 0 {
		// Nothing was sent: there is no transaction to commit.
		t.finish()
		return nil
	}
	br, err := t.send(t.ctx, func(b *pgx.Batch) { b.Queue("COMMIT") })
	if err == nil {
		var ct pgconn.CommandTag
		ct, err = br.Exec()
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		// COMMIT of a transaction that failed earlier answers ROLLBACK.
		if err == nil && ct.String() != "COMMIT" {
			err = fmt.Errorf("transaction rolled back (%s)", ct.String())
		}
	}
	if err != nil {
		t.abort()
		return wrap("commit", err)
	}
	t.finish()
	return nil
}

// rollbackTimeout bounds a rollback; it runs even when the unit of work's
// context is cancelled, since returning the connection clean matters.
const rollbackTimeout = 5 * time.Second

// Rollback implements [ledger.StoreTx].
func (t *storeTx) Rollback() error {
	if t.done {
		return nil
	}
	t.abort()
	return nil
}

// abort rolls back whatever was sent and releases the connection; pgxpool
// destroys a released connection that is broken or still in a transaction,
// so a failed ROLLBACK cannot leak a transaction into the pool.
func (t *storeTx) abort() {
	if t.begin == "" && !t.conn.Conn().IsClosed() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), rollbackTimeout)
		_, _ = t.conn.Exec(ctx, "ROLLBACK")
		cancel()
	}
	t.finish()
}

func (t *storeTx) finish() {
	t.done = true
	t.pending.QueuedQueries, t.pendingRows = nil, nil
	t.conn.Release()
}

// wantRows is what one of Apply's statements must affect: rows (-1: any).
// A guarded statement is an UPDATE whose WHERE re-checks the state the
// engine read (hold still open, transaction not yet reversed); under READ
// COMMITTED it re-evaluates that condition on the row a concurrent writer
// committed, so a shortfall means the engine decided on stale state, and
// the unit of work is retried.
type wantRows struct {
	rows    int64
	guarded bool
}

// totals are the running totals LockAccounts read for an account it did
// not lock.
type totals struct{ posted, held decimal.Decimal }

// noNegative is ledger.FlagNoNegative in SQL: the accounts that are locked
// and keep their total in accounts.posted.
var noNegative = "flags & " + strconv.Itoa(int(ledger.FlagNoNegative))

// accountTotalCols reads an account (alias a) with its true posted total:
// for a may-go-negative account, the base in accounts.posted plus its
// stripes (migration 0003).
var accountTotalCols = `a.id, a.kind, a.flags, a.currency, a.created_ns,
	(CASE WHEN a.` + noNegative + ` <> 0 THEN a.posted ELSE a.posted +
		coalesce((SELECT sum(s.posted) FROM account_stripes s WHERE s.account = a.id), 0) END)::text,
	a.held::text`

// lockAccountsSQL locks the accounts with FlagNoNegative, in id order, and
// reads the others without a lock. The locked rows' columns come from the
// locking CTE, which under READ COMMITTED returns the version committed by
// a writer it waited for, not the statement's older snapshot.
var lockAccountsSQL = `WITH locked AS (
		SELECT id, kind, flags, currency, created_ns, posted, held FROM accounts
		WHERE id = ANY($1) AND ` + noNegative + ` <> 0 ORDER BY id FOR UPDATE)
	SELECT id, kind, flags, currency, created_ns, posted::text, held::text FROM locked
	UNION ALL
	SELECT ` + accountTotalCols + ` FROM accounts a WHERE a.id = ANY($1) AND a.` + noNegative + ` = 0
	ORDER BY id`

// LockAccounts implements [ledger.StoreTx]. In a write transaction it locks
// (SELECT ... FOR UPDATE) only the accounts with [ledger.FlagNoNegative],
// whose balance the engine checks. The others (issuance, redeemed, expired:
// every award touches its program's issuance account) are read without a
// lock, so concurrent awards do not queue behind one row lock held through
// each durable commit; Apply adds their change to a stripe row instead of
// overwriting the total (see the package documentation).
func (t *storeTx) LockAccounts(ctx context.Context, ids []string) ([]ledger.AccountState, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if !t.write {
		return query(t, ctx, "lock accounts", scanAccount,
			`SELECT `+accountTotalCols+` FROM accounts a WHERE a.id = ANY($1) ORDER BY a.id`, ids)
	}
	// Numbers reserved before these locks were granted could be lower than
	// those of a writer that held one of them: drop them (a gap), so Seq
	// order stays commit order on every locked account.
	t.prefN = 0
	got, err := query(t, ctx, "lock accounts", scanAccount, lockAccountsSQL, ids)
	if err != nil {
		return nil, err
	}
	t.locked = true
	for _, a := range got {
		if a.Flags&ledger.FlagNoNegative == 0 {
			t.rememberUnlocked(a)
		}
	}
	return got, nil
}

func (t *storeTx) rememberUnlocked(a ledger.AccountState) {
	if t.unlocked == nil {
		t.unlocked = make(map[string]totals)
	}
	t.unlocked[a.ID] = totals{posted: a.Posted, held: a.Held}
}

const txCols = `seq, key, hash, effective_ns, posted_ns, reverses, reversed_by, metadata, consumed,
	from_accts, to_accts, amounts::text[], expires_ns`

// Transactions implements [ledger.StoreTx]. In a write transaction after
// LockAccounts, the engine looks up the keys it is about to post and then
// reserves a sequence number per new transaction; so the lookup reserves
// len(keys) numbers in the same round trip, for ReserveSeq to hand out.
// Numbers not used (keys that turn out to be stored) are a gap, which
// ReserveSeq allows; being reserved after the locks were granted, they keep
// Seq order equal to commit order on every locked account.
func (t *storeTx) Transactions(ctx context.Context, keys []string) ([]ledger.TxRecord, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	const lookup = `SELECT ` + txCols + ` FROM transactions WHERE key = ANY($1)`
	if !t.write || !t.locked || t.prefN > 0 {
		return query(t, ctx, "transactions", scanTx, lookup, keys)
	}
	br, err := t.send(ctx, func(b *pgx.Batch) {
		b.Queue(lookup, keys)
		b.Queue(`SELECT ledger_reserve_seq($1)`, len(keys))
	})
	if err != nil {
		return nil, wrap("transactions", err)
	}
	var out []ledger.TxRecord
	rows, err := br.Query()
	if err == nil {
		out, err = collect(rows, scanTx)
	}
	var first int64
	if err == nil {
		err = br.QueryRow().Scan(&first)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, wrap("transactions", err)
	}
	t.prefFirst, t.prefN = first, len(keys)
	t.noteSeq(first, len(keys))
	return out, nil
}

const lotCols = `seq, posting, account, expires_ns, amount::text, remaining::text, expired::text`

// OpenLots implements [ledger.StoreTx].
func (t *storeTx) OpenLots(ctx context.Context, accounts []string) ([]ledger.Lot, error) {
	if len(accounts) == 0 {
		return nil, nil
	}
	return query(t, ctx, "open lots", scanLot, `SELECT `+lotCols+` FROM lots WHERE account = ANY($1) AND remaining > 0`, accounts)
}

// Lots implements [ledger.StoreTx].
func (t *storeTx) Lots(ctx context.Context, ids []ledger.LotID) ([]ledger.Lot, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	seqs := make([]int64, len(ids))
	posts := make([]int32, len(ids))
	for i, id := range ids {
		seqs[i], posts[i] = id.Seq, id.Posting
	}
	return query(t, ctx, "lots", scanLot, `SELECT `+lotCols+` FROM lots
		WHERE (seq, posting) IN (SELECT * FROM unnest($1::bigint[], $2::integer[]))`, seqs, posts)
}

const holdCols = `id, account, to_acct, amount::text, deadline_ns, metadata, status,
	committed::text, commit_key, created_ns, resolved_ns, hash, reserved`

// Holds implements [ledger.StoreTx].
func (t *storeTx) Holds(ctx context.Context, ids []string) ([]ledger.HoldRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return query(t, ctx, "holds", scanHold, `SELECT `+holdCols+` FROM holds WHERE id = ANY($1)`, ids)
}

// OpenHolds implements [ledger.StoreTx].
func (t *storeTx) OpenHolds(ctx context.Context, account string) ([]ledger.HoldRecord, error) {
	return query(t, ctx, "open holds", scanHold, `SELECT `+holdCols+` FROM holds WHERE account = $1 AND status = $2`,
		account, int16(ledger.HoldOpen))
}

// ResolvedHolds implements [ledger.ResolvedHoldLister] (index
// holds_resolved, migration 0002).
func (t *storeTx) ResolvedHolds(ctx context.Context, account string, after time.Time) ([]ledger.HoldRecord, error) {
	return query(t, ctx, "resolved holds", scanHold, `SELECT `+holdCols+` FROM holds
		WHERE account = $1 AND status <> $2 AND resolved_ns > $3`,
		account, int16(ledger.HoldOpen), clampNS(after))
}

// ExpiredLots implements [ledger.StoreTx].
func (t *storeTx) ExpiredLots(ctx context.Context, at time.Time, limit int) ([]ledger.Lot, error) {
	return query(t, ctx, "expired lots", scanLot, `SELECT `+lotCols+` FROM lots
		WHERE remaining > 0 AND expires_ns IS NOT NULL AND expires_ns <= $1
		ORDER BY expires_ns, seq, posting LIMIT $2`, clampNS(at), limit)
}

// ExpiredHolds implements [ledger.StoreTx].
func (t *storeTx) ExpiredHolds(ctx context.Context, at time.Time, limit int) ([]ledger.HoldRecord, error) {
	return query(t, ctx, "expired holds", scanHold, `SELECT `+holdCols+` FROM holds
		WHERE status = $1 AND deadline_ns <= $2 ORDER BY deadline_ns, id LIMIT $3`,
		int16(ledger.HoldOpen), clampNS(at), limit)
}

// accountSeqs is a query for the seqs of the transactions that touch
// account $1 and satisfy cond (over seq), each branch ordered by seq and
// limited by tail: the first posting's accounts through the expression
// indexes of migration 0004, every other account through tx_accounts.
// UNION drops the duplicate when an account is on both sides.
func accountSeqs(cond, tail string) string {
	return `(SELECT seq FROM transactions WHERE from_accts[1] = $1 AND ` + cond + tail + `)
		UNION (SELECT seq FROM transactions WHERE to_accts[1] = $1 AND ` + cond + tail + `)
		UNION (SELECT seq FROM tx_accounts WHERE account = $1 AND ` + cond + tail + `)`
}

var (
	historyAsc = `SELECT ` + txCols + ` FROM transactions WHERE seq IN (` +
		accountSeqs("seq > $2", " ORDER BY seq LIMIT $3") + `) ORDER BY seq LIMIT $3`
	historyDesc = `SELECT ` + txCols + ` FROM transactions WHERE seq IN (` +
		accountSeqs("seq < $2", " ORDER BY seq DESC LIMIT $3") + `) ORDER BY seq DESC LIMIT $3`
)

// History implements [ledger.StoreTx]: each branch of accountSeqs is an
// index range scan in either direction, stopping after limit rows.
func (t *storeTx) History(ctx context.Context, account string, cursor int64, desc bool, limit int) ([]ledger.TxRecord, error) {
	q := historyAsc
	if desc {
		if cursor == 0 {
			cursor = maxSeq
		}
		q = historyDesc
	}
	return query(t, ctx, "history", scanTx, q, account, cursor, limit)
}

const maxSeq = int64(^uint64(0) >> 1)

// SumTagged implements [ledger.StoreTx]. It reads the account's
// transactions (accountSeqs) and filters on the metadata tag and effective
// time; each posting is counted once per side it is on.
func (t *storeTx) SumTagged(ctx context.Context, account, key, value string, from, to time.Time) (credits, debits decimal.Decimal, err error) {
	type sums struct{ credits, debits string }
	got, err := query(t, ctx, "sum tagged", func(rows pgx.Rows) (sums, error) {
		var s sums
		return s, rows.Scan(&s.credits, &s.debits)
	}, `SELECT
			coalesce(sum(p.amount) FILTER (WHERE p.to_acct = $1), 0)::text,
			coalesce(sum(p.amount) FILTER (WHERE p.from_acct = $1), 0)::text
		FROM transactions t
		CROSS JOIN LATERAL unnest(t.from_accts, t.to_accts, t.amounts) AS p(from_acct, to_acct, amount)
		WHERE t.seq IN (`+accountSeqs("true", "")+`) AND t.metadata ->> $2 = $3
		  AND t.effective_ns >= $4 AND t.effective_ns < $5`,
		account, key, value, clampNS(from), clampNS(to))
	if err != nil {
		return decimal.Decimal{}, decimal.Decimal{}, err
	}
	if credits, err = parseDec("credit sum", got[0].credits); err != nil {
		return decimal.Decimal{}, decimal.Decimal{}, err
	}
	if debits, err = parseDec("debit sum", got[0].debits); err != nil {
		return decimal.Decimal{}, decimal.Decimal{}, err
	}
	return credits, debits, nil
}

// ReserveSeq implements [ledger.StoreTx] with ledger_reserve_seq (see the
// migration): one round trip, and no lock held past the call.
func (t *storeTx) ReserveSeq(ctx context.Context, n int) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("postgres: reserve seq: n = %d < 1", n)
	}
	if n <= t.prefN {
		first := t.prefFirst
		t.prefN = 0 // the rest of the block is a gap
		return first, nil
	}
	got, err := query(t, ctx, "reserve seq", func(rows pgx.Rows) (int64, error) {
		var v int64
		return v, rows.Scan(&v)
	}, `SELECT ledger_reserve_seq($1)`, n)
	if err != nil {
		return 0, err
	}
	first := got[0]
	t.noteSeq(first, n)
	return first, nil
}

// noteSeq records a reservation of n numbers from first (see seqHi).
func (t *storeTx) noteSeq(first int64, n int) {
	if hi := first + int64(n) - 1; hi > t.seqHi {
		t.seqHi = hi
	}
}

// ScanAccounts implements [ledger.StoreTx].
func (t *storeTx) ScanAccounts(ctx context.Context, after string, limit int) ([]ledger.AccountState, error) {
	return query(t, ctx, "scan accounts", scanAccount,
		`SELECT `+accountTotalCols+` FROM accounts a WHERE a.id > $1 ORDER BY a.id LIMIT $2`, after, limit)
}

// ScanTransactions implements [ledger.StoreTx].
func (t *storeTx) ScanTransactions(ctx context.Context, after int64, limit int) ([]ledger.TxRecord, error) {
	return query(t, ctx, "scan transactions", scanTx, `SELECT `+txCols+` FROM transactions WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
}

// ScanLots implements [ledger.StoreTx].
func (t *storeTx) ScanLots(ctx context.Context, after ledger.LotID, limit int) ([]ledger.Lot, error) {
	return query(t, ctx, "scan lots", scanLot, `SELECT `+lotCols+` FROM lots WHERE (seq, posting) > ($1, $2)
		ORDER BY seq, posting LIMIT $3`, after.Seq, after.Posting, limit)
}

// ScanHolds implements [ledger.StoreTx].
func (t *storeTx) ScanHolds(ctx context.Context, after string, limit int) ([]ledger.HoldRecord, error) {
	return query(t, ctx, "scan holds", scanHold, `SELECT `+holdCols+` FROM holds WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
}

// snapshotSQL reads an account with its open lots as parallel arrays (one
// aggregate, so the arrays are aligned row by row), in one statement and
// so in one snapshot. Whether the account has an open hold is read from
// accounts.held, the sum of its open holds' amounts (ledger.AccountState),
// each positive: it is zero exactly when there is none. That spares the
// holds table a probe per read; a probe with the status as a parameter
// would also, once PostgreSQL switched the prepared statement to its
// generic plan, scan every open hold (the partial index holds_open needs
// the literal status).
var snapshotSQL = `SELECT ` + accountTotalCols + `,
		l.seqs, l.posts, l.exps, l.amts, l.rems, l.expd
	FROM accounts a LEFT JOIN LATERAL (
		SELECT array_agg(seq) AS seqs, array_agg(posting) AS posts, array_agg(expires_ns) AS exps,
			array_agg(amount::text) AS amts, array_agg(remaining::text) AS rems, array_agg(expired::text) AS expd
		FROM lots WHERE account = a.id AND remaining > 0) l ON true
	WHERE a.id = $1`

// snapshotManySQL is snapshotSQL for a group of accounts: a row per
// account found.
var snapshotManySQL = strings.Replace(snapshotSQL, "WHERE a.id = $1", "WHERE a.id = ANY($1)", 1)

// AccountSnapshot implements [ledger.AccountSnapshotter]: the account, its
// open holds and its open lots in one round trip. Without open holds (the
// common case: accounts.held is zero) it is one statement, which reads one
// snapshot, with no BEGIN or COMMIT; an account with open holds takes a
// second round trip that reads all three in a read-only REPEATABLE READ
// transaction.
//
// Concurrent snapshots go out in groups (see grouper): one statement
// (snapshotManySQL) reads every account of a group, each in the same
// snapshot, after each caller asked and before it returns.
func (s *Store) AccountSnapshot(ctx context.Context, id string) (a ledger.AccountState, holds []ledger.HoldRecord, lots []ledger.Lot, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return a, nil, nil, false, wrap("account snapshot", err)
	}
	req := &snapshotReq{id: id, done: make(chan struct{})}
	s.snapshots.add(req)
	select {
	case <-req.done:
	case <-ctx.Done():
		return a, nil, nil, false, wrap("account snapshot", ctx.Err())
	}
	switch {
	case req.err != nil:
		return a, nil, nil, false, req.err
	case !req.found:
		return a, nil, nil, false, nil
	case !req.a.Held.IsZero():
		// Open holds: read them with the rest, in one transaction.
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return a, nil, nil, false, wrap("account snapshot", err)
		}
		// A connection left inside a transaction by an error is
		// destroyed by the pool on release rather than reused.
		defer conn.Release()
		return snapshotTx(ctx, conn, id)
	}
	return req.a, nil, req.lots, true, nil
}

// snapshotReq is one queued AccountSnapshot.
type snapshotReq struct {
	id    string
	a     ledger.AccountState
	lots  []ledger.Lot
	found bool
	err   error
	done  chan struct{}
}

func (r *snapshotReq) finish() { close(r.done) }

// maxSnapshotGroup bounds the accounts one snapshot statement reads.
const maxSnapshotGroup = 64

// snapshotGroup reads the accounts of group (a lone one with snapshotSQL,
// several with snapshotManySQL) and records each one's answer. Two
// requests for the same account get their own copies of the lots.
func (s *Store) snapshotGroup(ctx context.Context, group []*snapshotReq) {
	fail := func(err error) {
		for _, r := range group {
			r.err = wrap("account snapshot", err)
		}
	}
	var (
		rows pgx.Rows
		err  error
	)
	if len(group) == 1 {
		rows, err = s.pool.Query(ctx, snapshotSQL, pgx.QueryResultFormats{pgx.TextFormatCode}, group[0].id)
	} else {
		ids := make([]string, len(group))
		for i, r := range group {
			ids[i] = r.id
		}
		rows, err = s.pool.Query(ctx, snapshotManySQL, pgx.QueryResultFormats{pgx.TextFormatCode}, ids)
	}
	if err != nil {
		fail(err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		a, lots, err := decodeSnapshot(rows.RawValues())
		if err != nil {
			for _, r := range group {
				r.err = err // already says what and where
			}
			return
		}
		shared := false
		for _, r := range group {
			if r.id != a.ID || r.found {
				continue
			}
			r.a, r.lots, r.found = a, lots, true
			if shared {
				r.lots = slices.Clone(lots)
			}
			shared = true
		}
	}
	if err := rows.Err(); err != nil {
		fail(err)
	}
}

// snapshotTx reads the account, its open holds and its open lots as one
// pipeline inside a read-only REPEATABLE READ transaction: one round trip,
// one snapshot.
func snapshotTx(ctx context.Context, conn *pgxpool.Conn, id string) (a ledger.AccountState, holds []ledger.HoldRecord, lots []ledger.Lot, found bool, err error) {
	var b pgx.Batch
	b.Queue("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	b.Queue(`SELECT `+accountTotalCols+` FROM accounts a WHERE a.id = $1`, id)
	b.Queue(`SELECT `+holdCols+` FROM holds WHERE account = $1 AND status = $2`, id, int16(ledger.HoldOpen))
	b.Queue(`SELECT `+lotCols+` FROM lots WHERE account = $1 AND remaining > 0`, id)
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, &b)
	defer func() {
		if cerr := br.Close(); err == nil && cerr != nil {
			err = wrap("account snapshot", cerr)
		}
	}()
	if _, err = br.Exec(); err != nil {
		return a, nil, nil, false, wrap("account snapshot: begin", err)
	}
	var accts []ledger.AccountState
	if accts, err = scanAll(br, scanAccount); err != nil {
		return a, nil, nil, false, wrap("account snapshot: account", err)
	}
	if holds, err = scanAll(br, scanHold); err != nil {
		return a, nil, nil, false, wrap("account snapshot: holds", err)
	}
	if lots, err = scanAll(br, scanLot); err != nil {
		return a, nil, nil, false, wrap("account snapshot: lots", err)
	}
	if _, err = br.Exec(); err != nil {
		return a, nil, nil, false, wrap("account snapshot: commit", err)
	}
	if len(accts) == 0 {
		return a, nil, nil, false, nil
	}
	return accts[0], holds, lots, true, nil
}

// Transaction implements [ledger.TransactionReader]: one statement on a
// pooled connection, outside any transaction. The lookup is by key = $1 on
// its unique index, so even a generic plan is an index scan (the unit of
// work's key = ANY($1) lookups force custom plans instead, see send).
func (s *Store) Transaction(ctx context.Context, key string) (rec ledger.TxRecord, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return rec, false, wrap("transaction", err)
	}
	req := &lookupReq{key: key, done: make(chan struct{})}
	s.lookups.add(req)
	select {
	case <-req.done:
		return req.rec, req.found, req.err
	case <-ctx.Done():
		// A read has no effect to wait for: the group goes on without
		// this caller.
		return rec, false, wrap("transaction", ctx.Err())
	}
}

// Concurrent key lookups (Store.Transaction, which ledger.Engine.Lookup
// calls) go out in groups, one pgx.Batch per group (see grouper): under
// load, concurrent settlements each look up their award before posting it.
// Each lookup stays its own statement, the same one a lone lookup runs
// (key = $1, which every plan serves from the unique index).
type lookupReq struct {
	key   string
	rec   ledger.TxRecord
	found bool
	err   error
	done  chan struct{}
}

func (r *lookupReq) finish() { close(r.done) }

// maxLookupGroup bounds the lookups one round trip carries.
const maxLookupGroup = 64

const lookupSQL = `SELECT ` + txCols + ` FROM transactions WHERE key = $1`

// lookupGroup runs the lookups of group and records each one's answer.
func (s *Store) lookupGroup(ctx context.Context, group []*lookupReq) {
	if len(group) == 1 {
		r := group[0]
		rows, err := s.pool.Query(ctx, lookupSQL, r.key)
		if err == nil {
			r.rec, r.found, err = first(collect(rows, scanTx))
		}
		r.err = wrap("transaction", err)
		return
	}
	var b pgx.Batch
	for _, r := range group {
		b.Queue(lookupSQL, r.key)
	}
	br := s.pool.SendBatch(ctx, &b)
	for _, r := range group {
		rows, err := br.Query()
		if err == nil {
			r.rec, r.found, err = first(collect(rows, scanTx))
		}
		r.err = wrap("transaction", err)
	}
	// Every member has its answer or its error by now; Close only
	// repeats the first error.
	_ = br.Close()
}

// first is the only record of a lookup by key, if any.
func first(got []ledger.TxRecord, err error) (ledger.TxRecord, bool, error) {
	if err != nil || len(got) == 0 {
		return ledger.TxRecord{}, false, err
	}
	return got[0], true, nil
}

// scanAll reads the next result of a batch and scans every row.
func scanAll[T any](br pgx.BatchResults, scan func(pgx.Rows) (T, error)) ([]T, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	return collect(rows, scan)
}
