package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/ledger"
	"github.com/shopspring/decimal"
)

func TestMigrateRecordsVersionAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	for i := 0; i < 2; i++ { // the second open finds nothing to do
		s, err := OpenStore(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var n, v int
		if err := s.r.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_version`).Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		if n != SchemaVersion() || v != SchemaVersion() || v < 1 {
			t.Errorf("open %d: schema_version has %d rows, max %d; want %d", i, n, v, SchemaVersion())
		}
		s.Close()
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	s, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_version VALUES (?, 'future', 'x')`, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenStore(ctx, path); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("open of a newer schema: %v; want ErrSchemaTooNew", err)
	}
}

func TestDurabilityPragmas(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		opt  Synchronous
		want int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{SyncFull, 2}, {SyncNormal, 1}} {
		s, err := OpenStore(ctx, filepath.Join(t.TempDir(), "l.db"), WithSynchronous(tc.opt))
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		var sync int
		if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || sync != tc.want {
			t.Errorf("%v writer: journal_mode %s, synchronous %d; want wal, %d", tc.opt, mode, sync, tc.want)
		}
		if err := s.r.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if sync != tc.want {
			t.Errorf("%v reader: synchronous %d; want %d", tc.opt, sync, tc.want)
		}
		s.Close()
	}
}

// TestMigrateV1ToV2 writes a database in the version 1 format (entries
// (account, seq) and the lots_open index) by hand, opens it, and checks
// that history, open lots and award sums read the same through the
// version 2 entries table, and that new writes keep it in step.
func TestMigrateV1ToV2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ts := formatTime(t0)
	v1 := []string{
		ms[0].sql,
		`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
		`INSERT INTO schema_version VALUES (1, 'init', '` + ts + `')`,
		`INSERT INTO accounts VALUES
			('cust/1', 1, 1, 'points', '` + ts + `', '2', '0'),
			('issuance', 2, 0, 'points', '` + ts + `', '-8', '0'),
			('redeemed', 3, 0, 'points', '` + ts + `', '6', '0')`,
		// Two awards opening lots (1, 0) and (2, 0), then a redemption
		// consuming 3 of the first and all of the second.
		`INSERT INTO transactions (seq, key, hash, effective_at, posted_at, metadata, consumed) VALUES
			(1, 'a1', zeroblob(32), '` + ts + `', '` + ts + `', '{"rule":"r1"}', NULL),
			(2, 'a2', zeroblob(32), '` + ts + `', '` + ts + `', '{"rule":"r1"}', NULL),
			(3, 'r1', zeroblob(32), '` + ts + `', '` + ts + `', NULL, '[[0,1,0,"3"],[0,2,0,"3"]]')`,
		`INSERT INTO postings VALUES
			(1, 0, 'issuance', 'cust/1', '5', NULL),
			(2, 0, 'issuance', 'cust/1', '3', NULL),
			(3, 0, 'cust/1', 'redeemed', '6', NULL)`,
		`INSERT INTO entries VALUES ('cust/1', 1), ('issuance', 1), ('cust/1', 2), ('issuance', 2),
			('cust/1', 3), ('redeemed', 3)`,
		`INSERT INTO lots VALUES (1, 0, 'cust/1', NULL, '5', '2', '0', 1), (2, 0, 'cust/1', NULL, '3', '0', '0', 0)`,
	}
	for _, q := range v1 {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v int
	if err := s.r.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion() {
		t.Fatalf("schema version %d, %v; want %d", v, err, SchemaVersion())
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'lots_open'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("lots_open index still present (%d, %v)", n, err)
	}

	historySeqs := func(tx ledger.StoreTx, acct string) []int64 {
		t.Helper()
		h, err := tx.History(ctx, acct, 0, false, 10)
		if err != nil {
			t.Fatalf("History(%s): %v", acct, err)
		}
		var seqs []int64
		for _, r := range h {
			seqs = append(seqs, r.Seq)
		}
		return seqs
	}
	openLots := func(tx ledger.StoreTx, acct string) []ledger.LotID {
		t.Helper()
		ls, err := tx.OpenLots(ctx, []string{acct})
		if err != nil {
			t.Fatalf("OpenLots(%s): %v", acct, err)
		}
		var ids []ledger.LotID
		for _, l := range ls {
			ids = append(ids, l.ID)
		}
		return ids
	}
	r, err := s.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for acct, want := range map[string][]int64{"cust/1": {1, 2, 3}, "issuance": {1, 2}, "redeemed": {3}} {
		if diff := cmp.Diff(want, historySeqs(r, acct)); diff != "" {
			t.Errorf("History(%s) seqs after migration (-want +got):\n%s", acct, diff)
		}
	}
	if diff := cmp.Diff([]ledger.LotID{{Seq: 1, Posting: 0}}, openLots(r, "cust/1")); diff != "" {
		t.Errorf("OpenLots after migration (-want +got):\n%s", diff)
	}
	cr, dr, err := r.SumTagged(ctx, "cust/1", "rule", "r1", t0, t0.Add(time.Second))
	if err != nil || cr.String() != "8" || !dr.IsZero() {
		t.Errorf("SumTagged = %v, %v, %v; want 8, 0", cr, dr, err)
	}
	r.Rollback()

	// Closing lot (1, 0) and opening (4, 0) after the upgrade.
	w, err := s.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	lot1 := ledger.Lot{ID: ledger.LotID{Seq: 1}, Account: "cust/1", Amount: decimal.RequireFromString("5"), Remaining: decimal.RequireFromString("0"), Expired: decimal.RequireFromString("0")}
	lot4 := ledger.Lot{ID: ledger.LotID{Seq: 4}, Account: "cust/1", Amount: decimal.RequireFromString("1"), Remaining: decimal.RequireFromString("1"), Expired: decimal.RequireFromString("0")}
	if err := w.Apply(ctx, &ledger.Changes{
		Transactions: []ledger.TxRecord{{Transaction: ledger.Transaction{
			Key: "a4", Seq: 4, EffectiveAt: t0, PostedAt: t0,
			Postings: []ledger.Posting{{From: "issuance", To: "cust/1", Amount: decimal.RequireFromString("1")}},
		}}},
		NewLots: []ledger.Lot{lot4},
		Lots:    []ledger.Lot{lot1},
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	r, err = s.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback()
	if diff := cmp.Diff([]ledger.LotID{{Seq: 4, Posting: 0}}, openLots(r, "cust/1")); diff != "" {
		t.Errorf("OpenLots after closing (1, 0) and opening (4, 0) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{1, 2, 3, 4}, historySeqs(r, "cust/1")); diff != "" {
		t.Errorf("History(cust/1) after a new award (-want +got):\n%s", diff)
	}
}
