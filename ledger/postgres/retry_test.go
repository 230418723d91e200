package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
)

// TestRetryTransientErrors injects serialization failures (40001) and
// deadlocks (40P01) into the write of a transaction with a trigger: the
// engine re-runs the unit of work transparently and the posting takes
// effect exactly once; a failure that never clears surfaces as ErrRetry
// after the bounded retries, with nothing written.
func TestRetryTransientErrors(t *testing.T) {
	t.Parallel()
	pool, url := testPool(t)
	ctx := context.Background()
	// A sequence counts attempts: nextval is not rolled back with the
	// aborted transaction, so the trigger fails only the first attempts.
	if _, err := pool.Exec(ctx, `
		CREATE SEQUENCE injected_attempts;
		CREATE TABLE injected_failures (n integer NOT NULL);
		INSERT INTO injected_failures VALUES (0);
		CREATE FUNCTION inject_failure() RETURNS trigger LANGUAGE plpgsql AS $$
		DECLARE
			attempt bigint := nextval('injected_attempts');
			fail integer := (SELECT n FROM injected_failures);
		BEGIN
			IF attempt <= fail THEN
				IF attempt % 2 = 1 THEN
					RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = '40001';
				END IF;
				RAISE EXCEPTION 'injected deadlock' USING ERRCODE = '40P01';
			END IF;
			RETURN NULL;
		END $$;
		CREATE TRIGGER inject_failure AFTER INSERT ON transactions
			FOR EACH STATEMENT EXECUTE FUNCTION inject_failure();`); err != nil {
		t.Fatal(err)
	}
	l := openLedger(t, url)
	customer(t, l, "alice")
	arm := func(failures int) {
		t.Helper()
		if _, err := pool.Exec(ctx, `SELECT setval('injected_attempts', 1, false)`); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `UPDATE injected_failures SET n = $1`, failures); err != nil {
			t.Fatal(err)
		}
	}
	award := ledger.Transaction{Key: "award/1",
		Postings: []ledger.Posting{{From: issuance, To: "alice", Amount: decimal.New(7, 0)}}}

	arm(4) // two serialization failures and two deadlocks, then success
	if _, err := l.Post(ctx, award); err != nil {
		t.Fatalf("Post with 4 injected transient failures: %v", err)
	}
	var attempts int64
	if err := pool.QueryRow(ctx, `SELECT last_value FROM injected_attempts`).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if attempts != 5 {
		t.Errorf("trigger saw %d attempts, want 5 (4 failures + 1 success)", attempts)
	}
	checkAvailable(t, l, "alice", "7")

	arm(1 << 30) // never clears
	_, err := l.Post(ctx, ledger.Transaction{Key: "award/2",
		Postings: []ledger.Posting{{From: issuance, To: "alice", Amount: decimal.New(1, 0)}}})
	if !errors.Is(err, ledger.ErrRetry) {
		t.Fatalf("Post with endless injected failures: got %v, want ErrRetry", err)
	}
	if _, err := l.Lookup(ctx, "award/2"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("failed Post left award/2 behind: %v", err)
	}
	checkAvailable(t, l, "alice", "7")
}
