package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/negawatt/negawatt/ledger"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

// Synchronous is SQLite's PRAGMA synchronous level, which decides what a
// committed transaction survives. See https://www.sqlite.org/pragma.html#pragma_synchronous
// and https://www.sqlite.org/wal.html#performance_considerations.
type Synchronous int

const (
	// SyncFull (the default) fsyncs the write-ahead log on every commit: a
	// transaction that Post returned for survives a process crash, an
	// operating-system crash and a power failure.
	SyncFull Synchronous = iota
	// SyncNormal fsyncs only at checkpoints. In WAL mode the database stays
	// consistent (every transaction is present or absent, never partial) and
	// commits survive a process crash, but the last transactions before an
	// operating-system crash or power failure may roll back.
	SyncNormal
)

// String returns the PRAGMA value, "FULL" or "NORMAL".
func (s Synchronous) String() string {
	switch s {
	case SyncFull:
		return "FULL"
	case SyncNormal:
		return "NORMAL"
	}
	return "Synchronous(" + strconv.Itoa(int(s)) + ")"
}

// Option configures [Open] and [OpenStore].
type Option func(*config) error

type config struct {
	sync        Synchronous
	busyTimeout time.Duration
	readConns   int
	ledgerOpts  []ledger.Option
}

func defaultConfig() config {
	return config{sync: SyncFull, busyTimeout: 5 * time.Second, readConns: 4}
}

// WithSynchronous sets the durability level (default [SyncFull]).
func WithSynchronous(s Synchronous) Option {
	return func(c *config) error {
		if s != SyncFull && s != SyncNormal {
			return fmt.Errorf("sqlite: WithSynchronous: unknown level %d", int(s))
		}
		c.sync = s
		return nil
	}
}

// WithBusyTimeout sets how long a connection waits for a lock held by
// another process sharing the file before failing with SQLITE_BUSY
// (default 5s). Writers of one process never wait on each other this way:
// they queue for the single writer connection.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("sqlite: WithBusyTimeout: negative duration %v", d)
		}
		c.busyTimeout = d
		return nil
	}
}

// WithReadConns sets the size of the read-only connection pool that serves
// Balance, History, Lookup and the other queries concurrently with the
// writer (default 4).
func WithReadConns(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("sqlite: WithReadConns: %d < 1", n)
		}
		c.readConns = n
		return nil
	}
}

// WithLedgerOptions passes options (clock, currencies, auto-create rule...)
// to [ledger.New] when [Open] builds the ledger.
func WithLedgerOptions(opts ...ledger.Option) Option {
	return func(c *config) error {
		c.ledgerOpts = append(c.ledgerOpts, opts...)
		return nil
	}
}

// dsn builds the connection string for path. Every connection runs in WAL
// mode (readers never block the writer and vice versa,
// https://www.sqlite.org/wal.html); write
// connections begin with BEGIN IMMEDIATE so a writer takes the write lock
// before its first read and cannot hit a lock upgrade deadlock.
func dsn(path string, c config, write bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(c.busyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+c.sync.String()+")")
	// Statement journals and the temporary B-trees of UNION and ORDER BY
	// stay in memory instead of temp files (syscalls on every multi-row
	// statement otherwise).
	q.Add("_pragma", "temp_store(MEMORY)")
	if write {
		q.Set("_txlock", "immediate")
		// The writer's page cache (64 MiB, default 2 MiB) keeps the
		// account-ordered index pages a batch touches in memory as the
		// database grows. Checkpointing every 4000 WAL pages (default 1000)
		// copies a page rewritten by many commits (accounts, index leaves)
		// into the database file, and fsyncs it, less often: 8 % fewer
		// pwrite and 10 % fewer fsync calls per batch of 100 awards.
		// Durability is unchanged: every commit still fsyncs the WAL.
		q.Add("_pragma", "cache_size(-65536)")
		q.Add("_pragma", "wal_autocheckpoint(4000)")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	// Plain file names have their query stripped by the driver before
	// sqlite3_open_v2 (see modernc.org/sqlite Driver.Open), so "?" in the path
	// itself must be escaped; a "file:" URI keeps SQLite's own parameters.
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(), RawQuery: q.Encode()}
	return u.String()
}

// openDBs opens the writer (one connection) and the reader pool.
func openDBs(ctx context.Context, path string, c config) (w, r *sql.DB, err error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, nil, fmt.Errorf("sqlite: path %q: want a file system path (the writer and readers share one file)", path)
	}
	w, err = sql.Open("sqlite", dsn(path, c, true))
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One writer connection: database/sql queues writers (honouring their
	// contexts) instead of letting them contend for SQLite's file lock.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		w.Close()
		return nil, nil, fmt.Errorf("sqlite: open %s: journal mode is %q, WAL is required", path, mode)
	}
	r, err = sql.Open("sqlite", dsn(path, c, false))
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(c.readConns)
	r.SetMaxIdleConns(c.readConns)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	return w, r, nil
}

// mapErr turns driver errors into what the engine expects: lost races
// (busy, locked, a unique key inserted concurrently) wrap [ledger.ErrRetry];
// a cancelled or expired context surfaces as the context's error.
func mapErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("sqlite: %s: %w", op, ctx.Err())
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED:
			return fmt.Errorf("sqlite: %s: %w (%w)", op, ledger.ErrRetry, err)
		case sqlite3lib.SQLITE_CONSTRAINT:
			switch se.Code() {
			case sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3lib.SQLITE_CONSTRAINT_UNIQUE:
				return fmt.Errorf("sqlite: %s: %w (%w)", op, ledger.ErrRetry, err)
			}
		case sqlite3lib.SQLITE_INTERRUPT:
			return fmt.Errorf("sqlite: %s: %w (%w)", op, context.Canceled, err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}
