package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/ledgertest"
)

// TestConformance runs the shared ledger conformance suite, every ledger on
// a migrated schema of its own. Schemas are recycled: when the suite closes
// a ledger, its schema is emptied (TRUNCATE, sequence restarted) and handed
// to the next ledger, so the rapid state machine does not pay for CREATE
// SCHEMA and the migrations' DDL on every check.
func TestConformance(t *testing.T) {
	serverURL(t) // skip (or fail under CI) before the suite starts
	// Overlap the (sequential) suite with this package's other tests; each
	// ledger has its own schema, so they cannot see each other.
	t.Parallel()
	schemas := schemaPool{owner: t}
	ledgertest.Run(t, func(t *testing.T, opts ...ledger.Option) ledger.Ledger {
		url := schemas.get(t)
		e, err := Open(context.Background(), url, opts...)
		if err != nil {
			t.Fatal(err)
		}
		l := &recycled{Engine: e}
		l.release = func() { schemas.put(url) }
		t.Cleanup(func() { _ = l.Close() }) // the suite may have closed it already
		return l
	})
}

// schemaPool holds the URLs of migrated schemas no open ledger uses. Its
// schemas belong to owner (dropped when owner ends), not to the subtest
// that first used them.
type schemaPool struct {
	owner *testing.T
	mu    sync.Mutex
	free  []string
}

// get returns an empty migrated schema: a recycled one, emptied, or a new one.
func (p *schemaPool) get(t *testing.T) string {
	t.Helper()
	p.mu.Lock()
	var url string
	if n := len(p.free); n > 0 {
		url, p.free = p.free[n-1], p.free[:n-1]
	}
	p.mu.Unlock()
	if url == "" {
		return migratedSchema(p.owner)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to a recycled schema: %v", err)
	}
	defer conn.Close(ctx)
	// Every table the migrations create except schema_version, which
	// records them.
	if _, err := conn.Exec(ctx, `TRUNCATE accounts, account_stripes, transactions, tx_accounts, lots, holds;
		ALTER SEQUENCE ledger_seq RESTART`); err != nil {
		t.Fatalf("empty a recycled schema: %v", err)
	}
	return url
}

func (p *schemaPool) put(url string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, url)
}

// recycled is a ledger whose schema goes back to the pool once it is
// closed. Embedding keeps every capability of *ledger.Engine visible to the
// suite's type assertions.
type recycled struct {
	*ledger.Engine
	once    sync.Once
	release func()
}

func (r *recycled) Close() error {
	err := r.Engine.Close()
	r.once.Do(r.release)
	return err
}
