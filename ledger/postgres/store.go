package postgres

import (
	"context"
	"errors"
	"fmt"
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
	closed  bool
}

var _ ledger.Store = (*Store)(nil)

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
	return &Store{pool: pool}, nil
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
func (s *Store) Close() error {
	if s.closed {
		return ledger.ErrClosed
	}
	s.closed = true
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

// Begin implements [ledger.Store].
func (s *Store) Begin(ctx context.Context, write bool) (ledger.StoreTx, error) {
	opts := pgx.TxOptions{IsoLevel: pgx.ReadCommitted}
	if !write {
		opts = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	}
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, wrap("begin", err)
	}
	return &storeTx{ctx: ctx, tx: tx, write: write}, nil
}

// storeTx is one PostgreSQL transaction.
type storeTx struct {
	ctx   context.Context // of Begin; Commit uses it, so a cancelled unit of work never commits
	tx    pgx.Tx
	write bool
	done  bool
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

// Commit implements [ledger.StoreTx].
func (t *storeTx) Commit() error {
	if t.done {
		return errors.New("postgres: commit: transaction already finished")
	}
	t.done = true
	return wrap("commit", t.tx.Commit(t.ctx))
}

// rollbackTimeout bounds a rollback; it runs even when the unit of work's
// context is cancelled, since returning the connection clean matters.
const rollbackTimeout = 5 * time.Second

// Rollback implements [ledger.StoreTx].
func (t *storeTx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), rollbackTimeout)
	defer cancel()
	err := t.tx.Rollback(ctx)
	if err != nil && errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return wrap("rollback", err)
}

const accountCols = `id, kind, flags, currency, created_ns, posted::text, held::text`

// LockAccounts implements [ledger.StoreTx].
func (t *storeTx) LockAccounts(ctx context.Context, ids []string) ([]ledger.AccountState, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	q := `SELECT ` + accountCols + ` FROM accounts WHERE id = ANY($1) ORDER BY id`
	if t.write {
		q += ` FOR UPDATE`
	}
	rows, err := t.tx.Query(ctx, q, ids)
	if err != nil {
		return nil, wrap("lock accounts", err)
	}
	out, err := collect(rows, scanAccount)
	return out, wrap("lock accounts", err)
}

const txCols = `seq, key, hash, effective_ns, posted_ns, reverses, reversed_by, metadata, consumed,
	from_accts, to_accts, amounts::text[], expires_ns`

// Transactions implements [ledger.StoreTx].
func (t *storeTx) Transactions(ctx context.Context, keys []string) ([]ledger.TxRecord, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT `+txCols+` FROM transactions WHERE key = ANY($1)`, keys)
	if err != nil {
		return nil, wrap("transactions", err)
	}
	out, err := collect(rows, scanTx)
	return out, wrap("transactions", err)
}

const lotCols = `seq, posting, account, expires_ns, amount::text, remaining::text, expired::text`

// OpenLots implements [ledger.StoreTx].
func (t *storeTx) OpenLots(ctx context.Context, accounts []string) ([]ledger.Lot, error) {
	if len(accounts) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx,
		`SELECT `+lotCols+` FROM lots WHERE account = ANY($1) AND remaining > 0`, accounts)
	if err != nil {
		return nil, wrap("open lots", err)
	}
	out, err := collect(rows, scanLot)
	return out, wrap("open lots", err)
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
	rows, err := t.tx.Query(ctx, `SELECT `+lotCols+` FROM lots
		WHERE (seq, posting) IN (SELECT * FROM unnest($1::bigint[], $2::integer[]))`, seqs, posts)
	if err != nil {
		return nil, wrap("lots", err)
	}
	out, err := collect(rows, scanLot)
	return out, wrap("lots", err)
}

const holdCols = `id, account, to_acct, amount::text, deadline_ns, metadata, status,
	committed::text, commit_key, created_ns, resolved_ns, hash, reserved`

// Holds implements [ledger.StoreTx].
func (t *storeTx) Holds(ctx context.Context, ids []string) ([]ledger.HoldRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT `+holdCols+` FROM holds WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, wrap("holds", err)
	}
	out, err := collect(rows, scanHold)
	return out, wrap("holds", err)
}

// OpenHolds implements [ledger.StoreTx].
func (t *storeTx) OpenHolds(ctx context.Context, account string) ([]ledger.HoldRecord, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+holdCols+` FROM holds WHERE account = $1 AND status = $2`,
		account, int16(ledger.HoldOpen))
	if err != nil {
		return nil, wrap("open holds", err)
	}
	out, err := collect(rows, scanHold)
	return out, wrap("open holds", err)
}

// ExpiredLots implements [ledger.StoreTx].
func (t *storeTx) ExpiredLots(ctx context.Context, at time.Time, limit int) ([]ledger.Lot, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+lotCols+` FROM lots
		WHERE remaining > 0 AND expires_ns IS NOT NULL AND expires_ns <= $1
		ORDER BY expires_ns, seq, posting LIMIT $2`, clampNS(at), limit)
	if err != nil {
		return nil, wrap("expired lots", err)
	}
	out, err := collect(rows, scanLot)
	return out, wrap("expired lots", err)
}

// ExpiredHolds implements [ledger.StoreTx].
func (t *storeTx) ExpiredHolds(ctx context.Context, at time.Time, limit int) ([]ledger.HoldRecord, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+holdCols+` FROM holds
		WHERE status = $1 AND deadline_ns <= $2 ORDER BY deadline_ns, id LIMIT $3`,
		int16(ledger.HoldOpen), clampNS(at), limit)
	if err != nil {
		return nil, wrap("expired holds", err)
	}
	out, err := collect(rows, scanHold)
	return out, wrap("expired holds", err)
}

// History implements [ledger.StoreTx]. tx_accounts' primary key
// (account, seq) serves both directions as an index range scan.
func (t *storeTx) History(ctx context.Context, account string, cursor int64, desc bool, limit int) ([]ledger.TxRecord, error) {
	q := `SELECT ` + prefixed("t.", txCols) + ` FROM tx_accounts a JOIN transactions t ON t.seq = a.seq
		WHERE a.account = $1 AND a.seq > $2 ORDER BY a.seq LIMIT $3`
	if desc {
		if cursor == 0 {
			cursor = maxSeq
		}
		q = `SELECT ` + prefixed("t.", txCols) + ` FROM tx_accounts a JOIN transactions t ON t.seq = a.seq
		WHERE a.account = $1 AND a.seq < $2 ORDER BY a.seq DESC LIMIT $3`
	}
	rows, err := t.tx.Query(ctx, q, account, cursor, limit)
	if err != nil {
		return nil, wrap("history", err)
	}
	out, err := collect(rows, scanTx)
	return out, wrap("history", err)
}

const maxSeq = int64(^uint64(0) >> 1)

// SumTagged implements [ledger.StoreTx]. It reads the account's
// transactions through tx_accounts and filters on the metadata tag and
// effective time; each posting is counted once per side it is on.
func (t *storeTx) SumTagged(ctx context.Context, account, key, value string, from, to time.Time) (credits, debits decimal.Decimal, err error) {
	var cs, ds string
	err = t.tx.QueryRow(ctx, `SELECT
			coalesce(sum(p.amount) FILTER (WHERE p.to_acct = $1), 0)::text,
			coalesce(sum(p.amount) FILTER (WHERE p.from_acct = $1), 0)::text
		FROM tx_accounts a
		JOIN transactions t ON t.seq = a.seq
		CROSS JOIN LATERAL unnest(t.from_accts, t.to_accts, t.amounts) AS p(from_acct, to_acct, amount)
		WHERE a.account = $1 AND t.metadata ->> $2 = $3
		  AND t.effective_ns >= $4 AND t.effective_ns < $5`,
		account, key, value, clampNS(from), clampNS(to)).Scan(&cs, &ds)
	if err != nil {
		return decimal.Decimal{}, decimal.Decimal{}, wrap("sum tagged", err)
	}
	if credits, err = decimal.NewFromString(cs); err != nil {
		return decimal.Decimal{}, decimal.Decimal{}, fmt.Errorf("postgres: sum tagged: %w", err)
	}
	if debits, err = decimal.NewFromString(ds); err != nil {
		return decimal.Decimal{}, decimal.Decimal{}, fmt.Errorf("postgres: sum tagged: %w", err)
	}
	return credits, debits, nil
}

// ReserveSeq implements [ledger.StoreTx] with ledger_reserve_seq (see the
// migration): one round trip, and no lock held past the call.
func (t *storeTx) ReserveSeq(ctx context.Context, n int) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("postgres: reserve seq: n = %d < 1", n)
	}
	var first int64
	if err := t.tx.QueryRow(ctx, `SELECT ledger_reserve_seq($1)`, n).Scan(&first); err != nil {
		return 0, wrap("reserve seq", err)
	}
	if hi := first + int64(n) - 1; hi > t.seqHi {
		t.seqHi = hi
	}
	return first, nil
}

// ScanAccounts implements [ledger.StoreTx].
func (t *storeTx) ScanAccounts(ctx context.Context, after string, limit int) ([]ledger.AccountState, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+accountCols+` FROM accounts WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, wrap("scan accounts", err)
	}
	out, err := collect(rows, scanAccount)
	return out, wrap("scan accounts", err)
}

// ScanTransactions implements [ledger.StoreTx].
func (t *storeTx) ScanTransactions(ctx context.Context, after int64, limit int) ([]ledger.TxRecord, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+txCols+` FROM transactions WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, wrap("scan transactions", err)
	}
	out, err := collect(rows, scanTx)
	return out, wrap("scan transactions", err)
}

// ScanLots implements [ledger.StoreTx].
func (t *storeTx) ScanLots(ctx context.Context, after ledger.LotID, limit int) ([]ledger.Lot, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+lotCols+` FROM lots WHERE (seq, posting) > ($1, $2)
		ORDER BY seq, posting LIMIT $3`, after.Seq, after.Posting, limit)
	if err != nil {
		return nil, wrap("scan lots", err)
	}
	out, err := collect(rows, scanLot)
	return out, wrap("scan lots", err)
}

// ScanHolds implements [ledger.StoreTx].
func (t *storeTx) ScanHolds(ctx context.Context, after string, limit int) ([]ledger.HoldRecord, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+holdCols+` FROM holds WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, wrap("scan holds", err)
	}
	out, err := collect(rows, scanHold)
	return out, wrap("scan holds", err)
}
