package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/negawatt/negawatt/ledger"
	"github.com/shopspring/decimal"
)

// Store is the SQLite storage driver for [ledger.New]. It is safe for
// concurrent use. Write transactions run one at a time on a single
// connection (BEGIN IMMEDIATE), read transactions on a pool of read-only
// connections that see a consistent WAL snapshot and never block the writer.
//
// Several processes may open the same file: SQLite's file lock serialises
// their writers and a writer that finds the lock taken waits up to the busy
// timeout, then fails with an error wrapping [ledger.ErrRetry].
type Store struct {
	w, r *sql.DB
	path string

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared on w, by SQL text
	rstmts map[string]*sql.Stmt // prepared on r, by SQL text

	// seqMu guards nextSeq, the lowest sequence number not yet handed out
	// by this process (0: not loaded). Only the writer touches it, but the
	// mutex keeps the race detector and future readers honest.
	seqMu   sync.Mutex
	nextSeq int64

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ ledger.Store = (*Store)(nil)

// OpenStore opens (creating if needed) the ledger database at path, applies
// pending schema migrations and returns the Store. Most callers use [Open],
// which also wraps the store with [ledger.New].
func OpenStore(ctx context.Context, path string, opts ...Option) (*Store, error) {
	c := defaultConfig()
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	w, r, err := openDBs(ctx, path, c)
	if err != nil {
		return nil, err
	}
	s := &Store{w: w, r: r, path: path, stmts: map[string]*sql.Stmt{}, rstmts: map[string]*sql.Stmt{}}
	if err := migrate(ctx, w, time.Now()); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// Open opens the ledger database at path (see [OpenStore]) and returns the
// ledger engine over it. Closing the engine closes the database.
//
// Durability: with the default [SyncFull] a transaction is on disk (WAL
// fsynced) when Post returns; see [WithSynchronous] for the faster
// [SyncNormal].
func Open(ctx context.Context, path string, opts ...Option) (*ledger.Engine, error) {
	c := defaultConfig()
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	s, err := OpenStore(ctx, path, opts...)
	if err != nil {
		return nil, err
	}
	e, err := ledger.New(s, c.ledgerOpts...)
	if err != nil {
		s.Close()
		return nil, err
	}
	return e, nil
}

// Path returns the database file path.
func (s *Store) Path() string { return s.path }

// Close closes the database. Running SQLite's "PRAGMA optimize" first keeps
// the query planner's statistics fresh, as https://www.sqlite.org/lang_analyze.html
// recommends for long-lived databases.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, _ = s.w.ExecContext(ctx, "PRAGMA optimize")
		s.stmtMu.Lock()
		for _, st := range s.stmts {
			st.Close()
		}
		for _, st := range s.rstmts {
			st.Close()
		}
		s.stmts, s.rstmts = nil, nil
		s.stmtMu.Unlock()

		errR := s.r.Close()
		errW := s.w.Close()
		s.closeErr = errors.Join(errW, errR)
	})
	return s.closeErr
}

// Begin starts a storage transaction: on the writer connection with BEGIN
// IMMEDIATE when write is true (waiting, with ctx, for the writer in use),
// on the read pool otherwise.
func (s *Store) Begin(ctx context.Context, write bool) (ledger.StoreTx, error) {
	db := s.r
	if write {
		db = s.w
	}
	if s.closed.Load() {
		return nil, fmt.Errorf("sqlite: begin: %w", ledger.ErrClosed)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		if s.closed.Load() {
			return nil, fmt.Errorf("sqlite: begin: %w", ledger.ErrClosed)
		}
		return nil, mapErr(ctx, "begin", err)
	}
	return &storeTx{s: s, tx: tx, write: write, ctx: ctx}, nil
}

type storeTx struct {
	s     *Store
	tx    *sql.Tx
	write bool
	done  bool
	ctx   context.Context // of Begin: database/sql rolls back when it ends

	stmts   map[string]*sql.Stmt // tx-bound views of s.stmts, or prepared in the tx
	prepare []string             // SQL to prepare on the writer once this tx ends
	nextSeq int64                // reserved in this tx, published on Commit
	args    []any                // reused by Apply
	failed  error                // Apply's error: Commit rolls back instead
}

func (t *storeTx) Commit() error {
	if t.done {
		return nil
	}
	t.done = true
	defer t.end()
	if t.failed != nil {
		// Apply's OR FAIL statements may have left part of the unit
		// written: never commit it.
		_ = t.tx.Rollback()
		return fmt.Errorf("sqlite: commit after a failed Apply: %w", t.failed)
	}
	if err := t.tx.Commit(); err != nil {
		// A context that ended mid-transaction made database/sql roll back;
		// report the cancellation, not the resulting ErrTxDone.
		return mapErr(t.ctx, "commit", err)
	}
	if t.nextSeq != 0 {
		t.s.seqMu.Lock()
		if t.nextSeq > t.s.nextSeq {
			t.s.nextSeq = t.nextSeq
		}
		t.s.seqMu.Unlock()
	}
	return nil
}

func (t *storeTx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	defer t.end()
	err := t.tx.Rollback()
	if errors.Is(err, sql.ErrTxDone) {
		// database/sql already rolled back after a context cancellation.
		return nil
	}
	return mapErr(context.Background(), "rollback", err)
}

// stmt returns a statement for q bound to this transaction. Statements
// are prepared once per Store and reused, on the writer and on the read
// pool alike: a statement not yet prepared is prepared inside this
// transaction (its connection is busy with it) and then, after the
// transaction ends, on the writer or read pool for every later transaction.
func (t *storeTx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := t.stmts[q]; ok {
		return st, nil
	}
	t.s.stmtMu.Lock()
	ps := t.s.cache(t.write)[q]
	t.s.stmtMu.Unlock()
	var st *sql.Stmt
	if ps != nil {
		// database/sql prepares ps on this transaction's connection the
		// first time and keeps it there: a read pool connection prepares
		// each query once, not once per transaction.
		st = t.tx.StmtContext(ctx, ps)
	} else {
		var err error
		st, err = t.tx.PrepareContext(ctx, q)
		if err != nil {
			return nil, mapErr(ctx, "prepare", err)
		}
		t.prepare = append(t.prepare, q)
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[q] = st
	return st, nil
}

// cache returns the prepared statements of the writer or of the read pool.
// The caller holds stmtMu.
func (s *Store) cache(write bool) map[string]*sql.Stmt {
	if write {
		return s.stmts
	}
	return s.rstmts
}

// end runs after Commit or Rollback: it prepares on the writer (or the read
// pool) the statements this transaction had to prepare for itself, now
// that its connection is free. Preparing on the read pool while holding one
// of its connections could wait forever for a second one.
func (t *storeTx) end() {
	db := t.s.r
	if t.write {
		db = t.s.w
	}
	for _, q := range t.prepare {
		ps, err := db.PrepareContext(context.Background(), q)
		if err != nil {
			continue // closed store, or a statement for a schema rolled back: prepare next time
		}
		t.s.stmtMu.Lock()
		if c := t.s.cache(t.write); c == nil || c[q] != nil {
			ps.Close()
		} else {
			c[q] = ps
		}
		t.s.stmtMu.Unlock()
	}
	t.prepare = nil
}

// bulkSizes are the row counts of the multi-row statements Apply uses: a
// batch of 100 rows goes out as 64+16+16+4, four statements instead of 100.
// Per-statement overhead (database/sql, bind, VDBE setup) dominates small
// inserts, so this is most of what makes batches fast.
var bulkSizes = [...]int{64, 16, 4, 1}

// bulkShape is one multi-row statement: head, then n tuples, then tail,
// with its SQL text built once for each of bulkSizes.
type bulkShape struct {
	head, tuple, tail string
	sqls              [len(bulkSizes)]string
}

func newBulk(head, tuple, tail string) *bulkShape {
	b := &bulkShape{head: head, tuple: tuple, tail: tail}
	for i, n := range bulkSizes {
		b.sqls[i] = b.sql(n)
	}
	return b
}

func (b *bulkShape) sql(n int) string {
	return b.head + strings.Repeat(b.tuple+", ", n-1) + b.tuple + b.tail
}

// Apply's statements say OR FAIL rather than SQLite's default ABORT. ABORT
// undoes a failing statement's earlier rows, so every multi-row statement
// inside a transaction first copies each page it touches into a statement
// journal; FAIL keeps those rows, which costs nothing here because an Apply
// that fails is never committed: the transaction is rolled back whole (see
// storeTx.failed), so no partial unit can reach the database.
// https://www.sqlite.org/lang_conflict.html
var (
	bulkInsAccounts = newBulk(`INSERT OR FAIL INTO accounts (`+accountCols+`) VALUES `, tup7, "")
	bulkUpdAccounts = newBulk(`UPDATE OR FAIL accounts SET posted = v.column2, held = v.column3 FROM (VALUES `, tup3,
		`) AS v WHERE accounts.id = v.column1`)
	bulkInsTxs      = newBulk(`INSERT OR FAIL INTO transactions (`+txCols+`) VALUES `, tup9, "")
	bulkInsPostings = newBulk(`INSERT OR FAIL INTO postings (seq, idx, from_account, to_account, amount, expires_at) VALUES `, tup6, "")
	bulkInsEntries  = newBulk(`INSERT OR FAIL INTO entries (account, seq) VALUES `, tup2, "")
	bulkReversed    = newBulk(`UPDATE OR FAIL transactions SET reversed_by = v.column2 FROM (VALUES `, tup2,
		`) AS v WHERE transactions.key = v.column1`)
	bulkInsLots = newBulk(`INSERT OR FAIL INTO lots (`+lotCols+`, open) VALUES `, tup8, "")
	// bulkInsLotsFromPostings opens a lot per credit posting (seq, idx):
	// the whole amount remaining, nothing expired (see lotsOfNewCredits).
	bulkInsLotsFromPostings = newBulk(`INSERT OR FAIL INTO lots (`+lotCols+`, open)
		SELECT seq, idx, to_account, expires_at, amount, amount, '0', 1 FROM postings
		WHERE (seq, idx) IN (VALUES `, tup2, `)`)
	bulkUpdLots = newBulk(`UPDATE OR FAIL lots SET remaining = v.column3, expired = v.column4, open = v.column5 FROM (VALUES `,
		tup5, `) AS v WHERE lots.seq = v.column1 AND lots.posting = v.column2`)
	bulkInsHolds = newBulk(`INSERT OR FAIL INTO holds (`+holdCols+`) VALUES `, tup13, "")
)

// execBulk runs shape over args, which holds
// len(args)/width rows of width values each.
func (t *storeTx) execBulk(ctx context.Context, op string, shape *bulkShape, width int, args []any) error {
	for rows := len(args) / width; rows > 0; {
		for i, n := range bulkSizes {
			for rows >= n {
				st, err := t.stmt(ctx, shape.sqls[i])
				if err != nil {
					return err
				}
				if _, err := st.ExecContext(ctx, args[:n*width]...); err != nil {
					return mapErr(ctx, op, err)
				}
				args, rows = args[n*width:], rows-n
			}
		}
	}
	return nil
}

func (t *storeTx) exec(ctx context.Context, op, q string, args ...any) error {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return err
	}
	if _, err := st.ExecContext(ctx, args...); err != nil {
		return mapErr(ctx, op, err)
	}
	return nil
}

func (t *storeTx) query(ctx context.Context, op, q string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, mapErr(ctx, op, err)
	}
	return rows, nil
}

func (t *storeTx) requireWrite(op string) error {
	if !t.write {
		return fmt.Errorf("sqlite: %s in a read-only transaction", op)
	}
	return nil
}

// ---- accounts ----

const accountCols = `id, kind, flags, currency, created_at, posted, held`

const (
	qLockAccounts = `SELECT ` + accountCols + ` FROM accounts WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`
	qScanAccounts = `SELECT ` + accountCols + ` FROM accounts WHERE id > ? ORDER BY id LIMIT ?`
)

func scanAccounts(ctx context.Context, op string, rows *sql.Rows) ([]ledger.AccountState, error) {
	defer rows.Close()
	var out []ledger.AccountState
	for rows.Next() {
		var a ledger.AccountState
		var created, posted, held string
		if err := rows.Scan(&a.ID, &a.Kind, &a.Flags, &a.Currency, &created, &posted, &held); err != nil {
			return nil, mapErr(ctx, op, err)
		}
		var err error
		if a.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if a.Posted, err = parseDec(posted); err != nil {
			return nil, err
		}
		if a.Held, err = parseDec(held); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, mapErr(ctx, op, rows.Err())
}

// LockAccounts reads the accounts. No row locks are needed: a write
// transaction holds SQLite's write lock from BEGIN IMMEDIATE to its end, so
// no other writer can change them meanwhile.
func (t *storeTx) LockAccounts(ctx context.Context, ids []string) ([]ledger.AccountState, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	js, err := jsonStrings(ids)
	if err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, "lock accounts", qLockAccounts, js)
	if err != nil {
		return nil, err
	}
	return scanAccounts(ctx, "lock accounts", rows)
}

func (t *storeTx) ScanAccounts(ctx context.Context, after string, limit int) ([]ledger.AccountState, error) {
	rows, err := t.query(ctx, "scan accounts", qScanAccounts, after, limit)
	if err != nil {
		return nil, err
	}
	return scanAccounts(ctx, "scan accounts", rows)
}

// ---- transactions ----

const txCols = `seq, key, hash, effective_at, posted_at, reverses, reversed_by, metadata, consumed`

const (
	qTxByKeys = `SELECT ` + txCols + ` FROM transactions WHERE key IN (SELECT value FROM json_each(?))`
	qTxScan   = `SELECT ` + txCols + ` FROM transactions WHERE seq > ? ORDER BY seq LIMIT ?`
	qTxHistA  = `SELECT t.seq, t.key, t.hash, t.effective_at, t.posted_at, t.reverses, t.reversed_by, t.metadata, t.consumed
		FROM entries e JOIN transactions t ON t.seq = e.seq
		WHERE e.account = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`
	qTxHistD = `SELECT t.seq, t.key, t.hash, t.effective_at, t.posted_at, t.reverses, t.reversed_by, t.metadata, t.consumed
		FROM entries e JOIN transactions t ON t.seq = e.seq
		WHERE e.account = ? AND e.seq < ? ORDER BY e.seq DESC LIMIT ?`
	qPostingsBySeqs = `SELECT seq, idx, from_account, to_account, amount, expires_at FROM postings
		WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq, idx`
	qPostingsRange = `SELECT seq, idx, from_account, to_account, amount, expires_at FROM postings
		WHERE seq >= ? AND seq <= ? ORDER BY seq, idx`
	qMaxSeq = `SELECT coalesce(max(seq), 0) FROM transactions`
)

// scanTxs reads transaction rows (without postings) into records.
func scanTxs(ctx context.Context, op string, rows *sql.Rows) ([]ledger.TxRecord, error) {
	defer rows.Close()
	var out []ledger.TxRecord
	for rows.Next() {
		var r ledger.TxRecord
		var hash []byte
		var eff, posted string
		var reverses, reversedBy, meta, consumed sql.NullString
		if err := rows.Scan(&r.Seq, &r.Key, &hash, &eff, &posted, &reverses, &reversedBy, &meta, &consumed); err != nil {
			return nil, mapErr(ctx, op, err)
		}
		if len(hash) != len(r.Hash) {
			return nil, fmt.Errorf("sqlite: transaction %q: corrupt hash of %d bytes", r.Key, len(hash))
		}
		copy(r.Hash[:], hash)
		var err error
		if r.EffectiveAt, err = parseTime(eff); err != nil {
			return nil, err
		}
		if r.PostedAt, err = parseTime(posted); err != nil {
			return nil, err
		}
		r.Reverses, r.ReversedBy = reverses.String, reversedBy.String
		if r.Metadata, err = decodeMeta(meta); err != nil {
			return nil, err
		}
		if r.Consumed, err = decodeUses(consumed); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, mapErr(ctx, op, rows.Err())
}

// attachPostings loads the postings of txs (ordered by seq when byRange).
func (t *storeTx) attachPostings(ctx context.Context, op string, txs []ledger.TxRecord) error {
	if len(txs) == 0 {
		return nil
	}
	idx := make(map[int64]int, len(txs))
	lo, hi := txs[0].Seq, txs[0].Seq
	seqs := make([]int64, len(txs))
	for i, r := range txs {
		idx[r.Seq] = i
		seqs[i] = r.Seq
		lo, hi = min(lo, r.Seq), max(hi, r.Seq)
	}
	var rows *sql.Rows
	var err error
	if hi-lo+1 == int64(len(txs)) || hi-lo < 4*int64(len(txs)) {
		// Dense seq range (scans, batches): one primary-key range scan.
		rows, err = t.query(ctx, op, qPostingsRange, lo, hi)
	} else {
		var js []byte
		js, err = jsonMarshal(seqs)
		if err == nil {
			rows, err = t.query(ctx, op, qPostingsBySeqs, string(js))
		}
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var i int32
		var p ledger.Posting
		var amt string
		var exp sql.NullString
		if err := rows.Scan(&seq, &i, &p.From, &p.To, &amt, &exp); err != nil {
			return mapErr(ctx, op, err)
		}
		k, ok := idx[seq]
		if !ok {
			continue
		}
		if p.Amount, err = parseDec(amt); err != nil {
			return err
		}
		if p.ExpiresAt, err = parseNullTime(exp); err != nil {
			return err
		}
		if int(i) != len(txs[k].Postings) {
			return fmt.Errorf("sqlite: transaction %q: posting %d missing", txs[k].Key, len(txs[k].Postings))
		}
		txs[k].Postings = append(txs[k].Postings, p)
	}
	if err := rows.Err(); err != nil {
		return mapErr(ctx, op, err)
	}
	for _, r := range txs {
		if len(r.Postings) == 0 {
			return fmt.Errorf("sqlite: transaction %q has no postings", r.Key)
		}
	}
	return nil
}

func (t *storeTx) Transactions(ctx context.Context, keys []string) ([]ledger.TxRecord, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	js, err := jsonStrings(keys)
	if err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, "transactions", qTxByKeys, js)
	if err != nil {
		return nil, err
	}
	txs, err := scanTxs(ctx, "transactions", rows)
	if err != nil {
		return nil, err
	}
	return txs, t.attachPostings(ctx, "transactions", txs)
}

func (t *storeTx) History(ctx context.Context, account string, cursor int64, desc bool, limit int) ([]ledger.TxRecord, error) {
	var rows *sql.Rows
	var err error
	if desc {
		if cursor <= 0 {
			cursor = 1<<63 - 1
		}
		rows, err = t.query(ctx, "history", qTxHistD, account, cursor, limit)
	} else {
		rows, err = t.query(ctx, "history", qTxHistA, account, cursor, limit)
	}
	if err != nil {
		return nil, err
	}
	txs, err := scanTxs(ctx, "history", rows)
	if err != nil {
		return nil, err
	}
	return txs, t.attachPostings(ctx, "history", txs)
}

func (t *storeTx) ScanTransactions(ctx context.Context, after int64, limit int) ([]ledger.TxRecord, error) {
	rows, err := t.query(ctx, "scan transactions", qTxScan, after, limit)
	if err != nil {
		return nil, err
	}
	txs, err := scanTxs(ctx, "scan transactions", rows)
	if err != nil {
		return nil, err
	}
	return txs, t.attachPostings(ctx, "scan transactions", txs)
}

// ReserveSeq hands out numbers above both the largest stored Seq (read
// inside the write lock, so it includes other processes' commits and
// imported transactions) and anything this process reserved before.
func (t *storeTx) ReserveSeq(ctx context.Context, n int) (int64, error) {
	if err := t.requireWrite("ReserveSeq"); err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, fmt.Errorf("sqlite: ReserveSeq(%d)", n)
	}
	if t.nextSeq == 0 {
		st, err := t.stmt(ctx, qMaxSeq)
		if err != nil {
			return 0, err
		}
		var maxSeq int64
		if err := st.QueryRowContext(ctx).Scan(&maxSeq); err != nil {
			return 0, mapErr(ctx, "reserve seq", err)
		}
		t.s.seqMu.Lock()
		t.nextSeq = max(maxSeq+1, t.s.nextSeq)
		t.s.seqMu.Unlock()
	}
	first := t.nextSeq
	t.nextSeq += int64(n)
	return first, nil
}

// ---- lots ----

const lotCols = `seq, posting, account, expires_at, amount, remaining, expired`

const (
	qOpenLots = `SELECT ` + lotCols + ` FROM lots
		WHERE open = 1 AND account IN (SELECT value FROM json_each(?))`
	qLotsByID = `SELECT ` + lotCols + ` FROM lots
		WHERE (seq, posting) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))`
	qExpiredLots = `SELECT ` + lotCols + ` FROM lots
		WHERE open = 1 AND expires_at IS NOT NULL AND expires_at <= ?
		ORDER BY expires_at, seq, posting LIMIT ?`
	qScanLots = `SELECT ` + lotCols + ` FROM lots
		WHERE (seq, posting) > (?, ?) ORDER BY seq, posting LIMIT ?`
)

func scanLots(ctx context.Context, op string, rows *sql.Rows) ([]ledger.Lot, error) {
	defer rows.Close()
	var out []ledger.Lot
	for rows.Next() {
		var l ledger.Lot
		var exp sql.NullString
		var amt, rem, expired string
		if err := rows.Scan(&l.ID.Seq, &l.ID.Posting, &l.Account, &exp, &amt, &rem, &expired); err != nil {
			return nil, mapErr(ctx, op, err)
		}
		var err error
		if l.ExpiresAt, err = parseNullTime(exp); err != nil {
			return nil, err
		}
		if l.Amount, err = parseDec(amt); err != nil {
			return nil, err
		}
		if l.Remaining, err = parseDec(rem); err != nil {
			return nil, err
		}
		if l.Expired, err = parseDec(expired); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, mapErr(ctx, op, rows.Err())
}

func (t *storeTx) OpenLots(ctx context.Context, accounts []string) ([]ledger.Lot, error) {
	if len(accounts) == 0 {
		return nil, nil
	}
	js, err := jsonStrings(accounts)
	if err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, "open lots", qOpenLots, js)
	if err != nil {
		return nil, err
	}
	return scanLots(ctx, "open lots", rows)
}

func (t *storeTx) Lots(ctx context.Context, ids []ledger.LotID) ([]ledger.Lot, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pairs := make([][2]int64, len(ids))
	for i, id := range ids {
		pairs[i] = [2]int64{id.Seq, int64(id.Posting)}
	}
	js, err := jsonMarshal(pairs)
	if err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, "lots", qLotsByID, string(js))
	if err != nil {
		return nil, err
	}
	return scanLots(ctx, "lots", rows)
}

func (t *storeTx) ExpiredLots(ctx context.Context, at time.Time, limit int) ([]ledger.Lot, error) {
	if err := checkTime("ExpiredLots at", at); err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, "expired lots", qExpiredLots, formatTime(at), limit)
	if err != nil {
		return nil, err
	}
	return scanLots(ctx, "expired lots", rows)
}

func (t *storeTx) ScanLots(ctx context.Context, after ledger.LotID, limit int) ([]ledger.Lot, error) {
	rows, err := t.query(ctx, "scan lots", qScanLots, after.Seq, after.Posting, limit)
	if err != nil {
		return nil, err
	}
	return scanLots(ctx, "scan lots", rows)
}

// ---- holds ----

const holdCols = `id, account, to_account, amount, deadline, metadata, status, committed,
	commit_key, created_at, resolved_at, hash, reserved`

const (
	qHoldsByID    = `SELECT ` + holdCols + ` FROM holds WHERE id IN (SELECT value FROM json_each(?))`
	qOpenHolds    = `SELECT ` + holdCols + ` FROM holds WHERE status = 1 AND account = ?`
	qExpiredHolds = `SELECT ` + holdCols + ` FROM holds WHERE status = 1 AND deadline <= ?
		ORDER BY deadline, id LIMIT ?`
	qScanHolds = `SELECT ` + holdCols + ` FROM holds WHERE id > ? ORDER BY id LIMIT ?`
	qUpdHold   = `UPDATE OR FAIL holds SET status = ?, committed = ?, commit_key = ?, resolved_at = ?, reserved = ?
		WHERE id = ?`
)

func scanHolds(ctx context.Context, op string, rows *sql.Rows) ([]ledger.HoldRecord, error) {
	defer rows.Close()
	var out []ledger.HoldRecord
	for rows.Next() {
		var h ledger.HoldRecord
		var amt, deadline, committed, created string
		var meta, commitKey, resolved, reserved sql.NullString
		var hash []byte
		if err := rows.Scan(&h.ID, &h.Account, &h.To, &amt, &deadline, &meta, &h.Status, &committed,
			&commitKey, &created, &resolved, &hash, &reserved); err != nil {
			return nil, mapErr(ctx, op, err)
		}
		if len(hash) != len(h.Hash) {
			return nil, fmt.Errorf("sqlite: hold %q: corrupt hash of %d bytes", h.ID, len(hash))
		}
		copy(h.Hash[:], hash)
		var err error
		if h.Amount, err = parseDec(amt); err != nil {
			return nil, err
		}
		if h.Deadline, err = parseTime(deadline); err != nil {
			return nil, err
		}
		if h.Metadata, err = decodeMeta(meta); err != nil {
			return nil, err
		}
		if h.Committed, err = parseDec(committed); err != nil {
			return nil, err
		}
		h.CommitKey = commitKey.String
		if h.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if h.ResolvedAt, err = parseNullTime(resolved); err != nil {
			return nil, err
		}
		if h.Reserved, err = decodeUses(reserved); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, mapErr(ctx, op, rows.Err())
}

func (t *storeTx) Holds(ctx context.Context, ids []string) ([]ledger.HoldRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	js, err := jsonStrings(ids)
	if err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, "holds", qHoldsByID, js)
	if err != nil {
		return nil, err
	}
	return scanHolds(ctx, "holds", rows)
}

func (t *storeTx) OpenHolds(ctx context.Context, account string) ([]ledger.HoldRecord, error) {
	rows, err := t.query(ctx, "open holds", qOpenHolds, account)
	if err != nil {
		return nil, err
	}
	return scanHolds(ctx, "open holds", rows)
}

func (t *storeTx) ExpiredHolds(ctx context.Context, at time.Time, limit int) ([]ledger.HoldRecord, error) {
	if err := checkTime("ExpiredHolds at", at); err != nil {
		return nil, err
	}
	rows, err := t.query(ctx, "expired holds", qExpiredHolds, formatTime(at), limit)
	if err != nil {
		return nil, err
	}
	return scanHolds(ctx, "expired holds", rows)
}

func (t *storeTx) ScanHolds(ctx context.Context, after string, limit int) ([]ledger.HoldRecord, error) {
	rows, err := t.query(ctx, "scan holds", qScanHolds, after, limit)
	if err != nil {
		return nil, err
	}
	return scanHolds(ctx, "scan holds", rows)
}

// ---- award sums ----

// qSumTagged walks the account's transactions (entries index), keeps those
// in the effective-time window carrying the tag, and returns their postings
// that touch the account. Cost is proportional to the account's own
// history, which for a customer account is small.
const qSumTagged = `SELECT p.from_account = ?1, p.to_account = ?1, p.amount
	FROM entries e
	JOIN transactions t ON t.seq = e.seq
	JOIN postings p ON p.seq = e.seq
	WHERE e.account = ?1
	  AND t.effective_at >= ?4 AND t.effective_at < ?5
	  AND t.metadata IS NOT NULL
	  AND EXISTS (SELECT 1 FROM json_each(t.metadata) m WHERE m.key = ?2 AND m.value = ?3)
	  AND (p.from_account = ?1 OR p.to_account = ?1)`

func (t *storeTx) SumTagged(ctx context.Context, account, key, value string, from, to time.Time) (credits, debits decimal.Decimal, err error) {
	if err := checkTime("SumTagged from", from); err != nil {
		return credits, debits, err
	}
	if err := checkTime("SumTagged to", to); err != nil {
		return credits, debits, err
	}
	rows, err := t.query(ctx, "sum tagged", qSumTagged, account, key, value, formatTime(from), formatTime(to))
	if err != nil {
		return credits, debits, err
	}
	defer rows.Close()
	for rows.Next() {
		var isFrom, isTo bool
		var amt string
		if err := rows.Scan(&isFrom, &isTo, &amt); err != nil {
			return credits, debits, mapErr(ctx, "sum tagged", err)
		}
		d, err := parseDec(amt)
		if err != nil {
			return credits, debits, err
		}
		if isTo {
			credits = credits.Add(d)
		}
		if isFrom {
			debits = debits.Add(d)
		}
	}
	return credits, debits, mapErr(ctx, "sum tagged", rows.Err())
}

// ---- Apply ----

const (
	tup2  = "(?, ?)"
	tup3  = "(?, ?, ?)"
	tup5  = "(?, ?, ?, ?, ?)"
	tup6  = "(?, ?, ?, ?, ?, ?)"
	tup7  = "(?, ?, ?, ?, ?, ?, ?)"
	tup8  = "(?, ?, ?, ?, ?, ?, ?, ?)"
	tup9  = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
	tup13 = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

// Apply writes c with multi-row statements on the writer connection (see
// bulkSizes). It is one storage transaction with the reads before it, so a
// failure at any row leaves nothing behind once the engine rolls back.
func (t *storeTx) Apply(ctx context.Context, c *ledger.Changes) error {
	if err := t.requireWrite("Apply"); err != nil {
		return err
	}
	if t.failed != nil {
		return fmt.Errorf("sqlite: Apply after a failed Apply: %w", t.failed)
	}
	err := t.apply(ctx, c)
	if err != nil {
		t.failed = err
	}
	return err
}

func (t *storeTx) apply(ctx context.Context, c *ledger.Changes) error {
	args := t.args[:0]
	defer func() { t.args = args[:0] }()

	if len(c.NewAccounts) > 0 {
		for _, a := range c.NewAccounts {
			if err := checkTime("account CreatedAt", a.CreatedAt); err != nil {
				return err
			}
			args = append(args, a.ID, a.Kind, a.Flags, a.Currency, formatTime(a.CreatedAt), a.Posted.String(), a.Held.String())
		}
		if err := t.execBulk(ctx, "insert accounts", bulkInsAccounts, 7, args); err != nil {
			return err
		}
		args = args[:0]
	}
	if len(c.Accounts) > 0 {
		for _, a := range c.Accounts {
			args = append(args, a.ID, a.Posted.String(), a.Held.String())
		}
		if err := t.execBulk(ctx, "update accounts", bulkUpdAccounts, 3, args); err != nil {
			return err
		}
		args = args[:0]
	}
	if len(c.Transactions) > 0 {
		for i := range c.Transactions {
			r := &c.Transactions[i]
			if err := checkTime("transaction EffectiveAt", r.EffectiveAt); err != nil {
				return err
			}
			if err := checkTime("transaction PostedAt", r.PostedAt); err != nil {
				return err
			}
			meta, err := encodeMeta(r.Metadata)
			if err != nil {
				return err
			}
			cons, err := encodeUses(r.Consumed)
			if err != nil {
				return err
			}
			args = append(args, r.Seq, r.Key, r.Hash[:], formatTime(r.EffectiveAt), formatTime(r.PostedAt),
				nullString(r.Reverses), nullString(r.ReversedBy), meta, cons)
		}
		if err := t.execBulk(ctx, "insert transactions", bulkInsTxs, 9, args); err != nil {
			return err
		}
		args = args[:0]
		for i := range c.Transactions {
			r := &c.Transactions[i]
			for j, p := range r.Postings {
				if err := checkTime("posting ExpiresAt", p.ExpiresAt); err != nil {
					return err
				}
				args = append(args, r.Seq, j, p.From, p.To, p.Amount.String(), nullTime(p.ExpiresAt))
			}
		}
		if err := t.execBulk(ctx, "insert postings", bulkInsPostings, 6, args); err != nil {
			return err
		}
		args = args[:0]
		if lo, hi, ok := seqRange(c.Transactions); ok {
			// The engine's transactions have consecutive, freshly reserved
			// seqs, and the postings just inserted are exactly those in
			// [lo, hi] (their primary key would have refused a stored
			// one): derive the entries from them in one statement with two
			// parameters instead of binding two per entry.
			if err := t.exec(ctx, "insert entries", qInsEntriesFromPostings, lo, hi); err != nil {
				return err
			}
		} else {
			for i := range c.Transactions {
				r := &c.Transactions[i]
				start := len(args)
				for _, p := range r.Postings {
					for _, acc := range [2]string{p.From, p.To} {
						if !hasAccount(args[start:], acc) {
							args = append(args, acc, r.Seq)
						}
					}
				}
			}
			if err := t.execBulk(ctx, "insert entries", bulkInsEntries, 2, args); err != nil {
				return err
			}
			args = args[:0]
		}
	}
	if len(c.Reversed) > 0 {
		for _, rv := range c.Reversed {
			args = append(args, rv.Key, rv.By)
		}
		if err := t.execBulk(ctx, "mark reversed", bulkReversed, 2, args); err != nil {
			return err
		}
		args = args[:0]
	}
	if len(c.NewLots) > 0 && lotsOfNewCredits(c) {
		// Every new lot is a fresh credit posting of this Apply, whole and
		// unexpired: copy it from the posting row just inserted, binding
		// only its key.
		for _, l := range c.NewLots {
			args = append(args, l.ID.Seq, l.ID.Posting)
		}
		if err := t.execBulk(ctx, "insert lots", bulkInsLotsFromPostings, 2, args); err != nil {
			return err
		}
		args = args[:0]
	} else if len(c.NewLots) > 0 {
		for _, l := range c.NewLots {
			if err := checkTime("lot ExpiresAt", l.ExpiresAt); err != nil {
				return err
			}
			args = append(args, l.ID.Seq, l.ID.Posting, l.Account, nullTime(l.ExpiresAt),
				l.Amount.String(), l.Remaining.String(), l.Expired.String(), l.Remaining.IsPositive())
		}
		if err := t.execBulk(ctx, "insert lots", bulkInsLots, 8, args); err != nil {
			return err
		}
		args = args[:0]
	}
	if len(c.Lots) > 0 {
		for _, l := range c.Lots {
			args = append(args, l.ID.Seq, l.ID.Posting, l.Remaining.String(), l.Expired.String(), l.Remaining.IsPositive())
		}
		if err := t.execBulk(ctx, "update lots", bulkUpdLots, 5, args); err != nil {
			return err
		}
		args = args[:0]
	}
	if len(c.NewHolds) > 0 {
		for i := range c.NewHolds {
			h := &c.NewHolds[i]
			for _, f := range []struct {
				name string
				t    time.Time
			}{{"Deadline", h.Deadline}, {"CreatedAt", h.CreatedAt}, {"ResolvedAt", h.ResolvedAt}} {
				if err := checkTime("hold "+f.name, f.t); err != nil {
					return err
				}
			}
			meta, err := encodeMeta(h.Metadata)
			if err != nil {
				return err
			}
			res, err := encodeUses(h.Reserved)
			if err != nil {
				return err
			}
			args = append(args, h.ID, h.Account, h.To, h.Amount.String(), formatTime(h.Deadline),
				meta, h.Status, h.Committed.String(), nullString(h.CommitKey), formatTime(h.CreatedAt),
				nullTime(h.ResolvedAt), h.Hash[:], res)
		}
		if err := t.execBulk(ctx, "insert holds", bulkInsHolds, 13, args); err != nil {
			return err
		}
		args = args[:0]
	}
	for _, h := range c.Holds {
		if err := checkTime("hold ResolvedAt", h.ResolvedAt); err != nil {
			return err
		}
		res, err := encodeUses(h.Reserved)
		if err != nil {
			return err
		}
		if err := t.exec(ctx, "update hold "+h.ID, qUpdHold, h.Status, h.Committed.String(), nullString(h.CommitKey),
			nullTime(h.ResolvedAt), res, h.ID); err != nil {
			return err
		}
	}
	return nil
}

// hasAccount reports whether the (account, seq) pairs in args name acc.
// lotsOfNewCredits reports whether every lot in c.NewLots is the credit
// posting of a transaction in c.Transactions that created it, stored with
// the same text: account = To, same expiry, Amount and Remaining equal to
// the posting's amount (value and exponent, so their String() is the
// posting's), Expired zero. Then bulkInsLotsFromPostings writes the same
// rows as binding every column would.
func lotsOfNewCredits(c *ledger.Changes) bool {
	if len(c.Transactions) == 0 {
		return false
	}
	lo, _, ok := seqRange(c.Transactions)
	if !ok {
		return false
	}
	same := func(a, b decimal.Decimal) bool { return a.Exponent() == b.Exponent() && a.Equal(b) }
	for i := range c.NewLots {
		l := &c.NewLots[i]
		j := l.ID.Seq - lo
		if j < 0 || j >= int64(len(c.Transactions)) {
			return false
		}
		r := &c.Transactions[j]
		if r.Seq != l.ID.Seq || l.ID.Posting < 0 || int(l.ID.Posting) >= len(r.Postings) {
			return false
		}
		p := &r.Postings[l.ID.Posting]
		if p.To != l.Account || !p.ExpiresAt.Equal(l.ExpiresAt) || p.ExpiresAt.IsZero() != l.ExpiresAt.IsZero() ||
			!same(l.Amount, p.Amount) || !same(l.Remaining, p.Amount) || !l.Expired.IsZero() || l.Expired.String() != "0" ||
			!p.Amount.IsPositive() {
			return false
		}
	}
	return true
}

// qInsEntriesFromPostings writes the entries of the transactions with
// seq in [?1, ?2] from their postings; UNION lists an account once per
// transaction however many of its postings name it.
const qInsEntriesFromPostings = `INSERT OR FAIL INTO entries (account, seq)
	SELECT from_account, seq FROM postings WHERE seq BETWEEN ?1 AND ?2
	UNION SELECT to_account, seq FROM postings WHERE seq BETWEEN ?1 AND ?2`

// seqRange returns the lowest and highest Seq of txs and whether they are
// consecutive (every seq in between belongs to one of txs).
func seqRange(txs []ledger.TxRecord) (lo, hi int64, ok bool) {
	lo, hi = txs[0].Seq, txs[0].Seq
	for i := range txs {
		lo, hi = min(lo, txs[i].Seq), max(hi, txs[i].Seq)
	}
	return lo, hi, hi-lo+1 == int64(len(txs))
}

func hasAccount(args []any, acc string) bool {
	for i := 0; i < len(args); i += 2 {
		if args[i].(string) == acc {
			return true
		}
	}
	return false
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
