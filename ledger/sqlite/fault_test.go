package sqlite_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/ledgertest"
	"github.com/negawatt/negawatt/ledger/sqlite"
	"github.com/shopspring/decimal"
)

// The fault test re-executes this test binary as a child process (selected
// by faultChildEnv) that posts a stream of batches and reports each commit
// on stdout; the parent SIGKILLs it mid-stream, reopens the file and checks
// that every batch is fully present or absent, that everything the child
// reported committed survived, that the invariants hold, and that
// re-posting every batch with the same keys applies each exactly once.

const (
	faultChildEnv = "NEGAWATT_SQLITE_FAULT_CHILD" // database path for the child
	faultBatch    = 50                            // transactions per batch
	faultCusts    = 5
)

// faultBatchTxs is batch b: awards to every customer, then redemptions that
// spend part of those awards, so a half-applied batch would break balances.
func faultBatchTxs(b int) []ledger.Transaction {
	txs := make([]ledger.Transaction, 0, faultBatch)
	for i := range faultBatch {
		c := fmt.Sprintf("cust/%d", i%faultCusts)
		key := fmt.Sprintf("b%d/t%d", b, i)
		if i < faultBatch/2 {
			txs = append(txs, ledger.Transaction{Key: key, Metadata: map[string]string{"batch": strconv.Itoa(b)},
				Postings: []ledger.Posting{{From: "issuance", To: c, Amount: decimal.New(300, -2)}}})
		} else {
			txs = append(txs, ledger.Transaction{Key: key,
				Postings: []ledger.Posting{{From: c, To: "redeemed", Amount: decimal.New(125, -2)}}})
		}
	}
	return txs
}

func faultSetup(ctx context.Context, path string) (*ledger.Engine, error) {
	l, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	accts := []ledger.Account{{ID: "issuance", Kind: ledger.KindIssuance}, {ID: "redeemed", Kind: ledger.KindRedeemed}}
	for i := range faultCusts {
		accts = append(accts, ledger.Account{ID: fmt.Sprintf("cust/%d", i), Kind: ledger.KindCustomer})
	}
	for _, a := range accts {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// TestFaultChild is the child process; it does nothing in a normal run.
func TestFaultChild(t *testing.T) {
	path := os.Getenv(faultChildEnv)
	if path == "" {
		t.Skip("only runs as the child of TestKillMidStream")
	}
	ctx := context.Background()
	l, err := faultSetup(ctx, path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	for b := 0; ; b++ {
		if _, err := l.PostBatch(ctx, faultBatchTxs(b)); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Println("committed", b) // unbuffered: the parent sees it at once
	}
}

func TestKillMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	path := filepath.Join(t.TempDir(), "fault.db")
	committed := -1
	// Three rounds: each kills the writer after a different number of
	// batches, the later rounds continuing on the file the earlier left.
	for round, killAfter := range []int{3, 11, 19} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFaultChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), faultChildEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		seen := 0
		for sc.Scan() {
			var b int
			if _, err := fmt.Sscanf(sc.Text(), "committed %d", &b); err != nil {
				cmd.Process.Kill()
				t.Fatalf("round %d: child said %q", round, sc.Text())
			}
			committed = max(committed, b)
			if seen++; seen == killAfter {
				break
			}
		}
		// The child is inside its next PostBatch now (or about to be).
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if seen < killAfter {
			t.Fatalf("round %d: child stopped after %d batches", round, seen)
		}
		checkAfterCrash(t, path, committed)
	}
}

// checkAfterCrash reopens the file and checks atomicity, durability,
// invariants and exactly-once retries.
func checkAfterCrash(t *testing.T, path string, committed int) {
	t.Helper()
	ctx := context.Background()
	l, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer l.Close()
	present := 0
	for b := 0; b <= committed+2; b++ {
		n := 0
		for _, tx := range faultBatchTxs(b) {
			if _, err := l.Lookup(ctx, tx.Key); err == nil {
				n++
			} else if !errors.Is(err, ledger.ErrNotFound) {
				t.Fatalf("Lookup(%s): %v", tx.Key, err)
			}
		}
		switch {
		case n == faultBatch:
			present = b + 1
		case n != 0:
			t.Fatalf("batch %d is partial: %d of %d transactions present", b, n, faultBatch)
		case b <= committed:
			t.Fatalf("batch %d was reported committed but is absent", b)
		}
	}
	ledgertest.CheckInvariants(t, l)
	// Retry every batch the child may have attempted, with the same keys:
	// present ones return their stored transactions, absent ones apply.
	for b := 0; b <= committed+2; b++ {
		got, err := l.PostBatch(ctx, faultBatchTxs(b))
		if err != nil {
			t.Fatalf("retry batch %d: %v", b, err)
		}
		again, err := l.PostBatch(ctx, faultBatchTxs(b))
		if err != nil {
			t.Fatalf("second retry of batch %d: %v", b, err)
		}
		for i := range got {
			if got[i].Seq != again[i].Seq {
				t.Fatalf("batch %d tx %d applied twice (seq %d, then %d)", b, i, got[i].Seq, again[i].Seq)
			}
		}
	}
	ledgertest.CheckInvariants(t, l)
	// Each batch moves 25×3.00 out of issuance and 25×1.25 into redeemed.
	n := decimal.NewFromInt(int64(committed + 3))
	wantBalance(t, l, "issuance", decimal.New(-7500, -2).Mul(n))
	wantBalance(t, l, "redeemed", decimal.New(3125, -2).Mul(n))
	t.Logf("after kill: %d batches present, %d reported committed; retried %d", present, committed+1, committed+3)
}

func wantBalance(t *testing.T, l ledger.Ledger, id string, want decimal.Decimal) {
	t.Helper()
	b, err := l.Balance(context.Background(), id, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Posted.Equal(want) {
		t.Errorf("Balance(%s).Posted = %v; want %v", id, b.Posted, want)
	}
}

// cancelStore cancels the operation's context at a chosen point of the
// unit of work: before Apply (reads done, nothing written) or after Apply
// (everything written, not committed).
type cancelStore struct {
	*sqlite.Store
	cancel     context.CancelFunc
	afterApply bool
	armed      bool
}

func (s *cancelStore) Begin(ctx context.Context, write bool) (ledger.StoreTx, error) {
	tx, err := s.Store.Begin(ctx, write)
	if err != nil {
		return nil, err
	}
	return &cancelTx{StoreTx: tx, s: s}, nil
}

type cancelTx struct {
	ledger.StoreTx
	s *cancelStore
}

func (t *cancelTx) Apply(ctx context.Context, c *ledger.Changes) error {
	if t.s.armed && !t.s.afterApply {
		t.s.cancel()
	}
	err := t.StoreTx.Apply(ctx, c)
	if t.s.armed && t.s.afterApply {
		t.s.cancel()
		// database/sql rolls the transaction back when its context ends;
		// give that goroutine a moment so Commit races it as in production.
		time.Sleep(10 * time.Millisecond)
	}
	return err
}

func TestCancelMidBatchLeavesNothing(t *testing.T) {
	for _, afterApply := range []bool{false, true} {
		t.Run(fmt.Sprintf("afterApply=%v", afterApply), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "cancel.db")
			l, err := faultSetup(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			st, err := sqlite.OpenStore(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithCancel(ctx)
			cs := &cancelStore{Store: st, cancel: cancel, afterApply: afterApply, armed: true}
			e, err := ledger.New(cs)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if _, err := e.PostBatch(cctx, faultBatchTxs(0)); !errors.Is(err, context.Canceled) {
				t.Fatalf("PostBatch with cancelled context: %v; want context.Canceled", err)
			}
			for _, tx := range faultBatchTxs(0) {
				if _, err := e.Lookup(ctx, tx.Key); !errors.Is(err, ledger.ErrNotFound) {
					t.Fatalf("after cancel, Lookup(%s) = %v; want ErrNotFound", tx.Key, err)
				}
			}
			ledgertest.CheckInvariants(t, e)
			cs.armed = false
			for range 2 { // retry with the same keys: applies once
				if _, err := e.PostBatch(ctx, faultBatchTxs(0)); err != nil {
					t.Fatalf("retry: %v", err)
				}
			}
			ledgertest.CheckInvariants(t, e)
			wantBalance(t, e, "issuance", decimal.New(-7500, -2))
			wantBalance(t, e, "redeemed", decimal.New(3125, -2))
		})
	}
}
