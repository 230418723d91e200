package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/ledgertest"
)

func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	u := freshSchema(t)
	ctx := context.Background()
	// Several pools stand in for several processes racing to migrate one
	// schema at service start; the advisory lock must serialise them.
	const racers = 4
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			pool, err := pgxpool.New(ctx, u)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			errs[i] = Migrate(ctx, pool)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("racer %d: %v", i, err)
		}
	}
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := Migrate(ctx, pool); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	var n, max int
	if err := pool.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_version`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || max != SchemaVersion() {
		t.Fatalf("schema_version has %d rows up to %d, want %d rows up to %d", n, max, len(ms), SchemaVersion())
	}
	if err := checkVersion(ctx, pool); err != nil {
		t.Fatalf("checkVersion after Migrate: %v", err)
	}
}

func TestCheckVersion(t *testing.T) {
	t.Parallel()
	pool, _ := freshPool(t)
	ctx := context.Background()
	if err := checkVersion(ctx, pool); !errors.Is(err, ErrNotMigrated) {
		t.Fatalf("empty schema: got %v, want ErrNotMigrated", err)
	}
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO schema_version (version, name) VALUES ($1, 'from_the_future.sql')`,
		SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	if err := checkVersion(ctx, pool); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("future schema: got %v, want ErrSchemaTooNew", err)
	}
	if err := Migrate(ctx, pool); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Migrate on future schema: got %v, want ErrSchemaTooNew", err)
	}
}

// TestUpgradeFromVersion2 migrates a schema written by a version-2 build
// (totals in accounts.posted, a tx_accounts row for every account of every
// transaction) to the current version: balances, history in both
// directions and the invariants must be unchanged, and the ledger keeps
// working on the upgraded schema.
func TestUpgradeFromVersion2(t *testing.T) {
	t.Parallel()
	pool, _ := freshPool(t)
	ctx := context.Background()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE schema_version (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:2] {
		if _, err := pool.Exec(ctx, m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO schema_version (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	// What a version-2 store wrote for t1 = issuance → redeemed 5 and
	// t2 = {issuance → redeemed 1, redeemed → expired 2}.
	const ns = int64(1767225600000000000) // 2026-01-01T00:00:00Z
	for _, q := range []string{
		`INSERT INTO accounts VALUES ('issuance', 2, 0, 'points', NULL, -6, 0),
			('redeemed', 3, 0, 'points', NULL, 4, 0), ('expired', 4, 0, 'points', NULL, 2, 0)`,
		`INSERT INTO transactions (seq, key, hash, effective_ns, posted_ns, from_accts, to_accts, amounts, expires_ns)
			VALUES (1, 't1', sha256('t1'), $1, $1, '{issuance}', '{redeemed}', '{5}', '{NULL}'),
			(2, 't2', sha256('t2'), $1, $1, '{issuance,redeemed}', '{redeemed,expired}', '{1,2}', '{NULL,NULL}')`,
		`INSERT INTO tx_accounts VALUES ('issuance', 1), ('redeemed', 1), ('issuance', 2), ('redeemed', 2), ('expired', 2)`,
		`SELECT setval('ledger_seq', 2)`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, ns)
		}
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	var left []string
	rows, err := pool.Query(ctx, `SELECT account || '/' || seq FROM tx_accounts ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		left = append(left, s)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if diff := cmp.Diff([]string{"expired/2"}, left); diff != "" {
		t.Errorf("tx_accounts after migration (-want +got):\n%s", diff)
	}

	l, err := OpenPool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Post(ctx, ledger.Transaction{Key: "t3",
		Postings: []ledger.Posting{{From: "issuance", To: "expired", Amount: dec("1")}}}); err != nil {
		t.Fatal(err)
	}
	for acct, want := range map[string]string{"issuance": "t1,t2,t3", "redeemed": "t1,t2", "expired": "t2,t3"} {
		var got []string
		for _, desc := range []bool{false, true} {
			page, err := l.History(ctx, ledger.HistoryQuery{Account: acct, Limit: 2, NewestFirst: desc})
			if err != nil {
				t.Fatal(err)
			}
			var ks []string
			for {
				for _, tx := range page.Transactions {
					ks = append(ks, tx.Key)
				}
				if page.Next == "" {
					break
				}
				if page, err = l.History(ctx, ledger.HistoryQuery{Account: acct, Limit: 2, NewestFirst: desc, Cursor: page.Next}); err != nil {
					t.Fatal(err)
				}
			}
			if desc {
				slices.Reverse(ks)
			}
			got = append(got, strings.Join(ks, ","))
		}
		if got[0] != want || got[1] != want {
			t.Errorf("%s history ascending %q, descending reversed %q; want %q", acct, got[0], got[1], want)
		}
	}
	checkAvailable(t, l, "issuance", "-7")
	checkAvailable(t, l, "redeemed", "4")
	checkAvailable(t, l, "expired", "3")
	ledgertest.CheckInvariants(t, l)
}
