package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
	"github.com/negawatt/negawatt/ledger/ledgertest"
)

// Fault tests (issue 3, "Faults"): a killed process, a cancelled context and
// a dropped connection in the middle of a batch leave every batch either
// fully present or absent; retrying with the same keys completes the work
// exactly once; several processes on one hot account never overdraw it.

// Child processes are this test binary re-executed with -test.run naming
// TestChildProcess and these variables set (the os/exec test pattern).
const (
	envChildRole = "NEGAWATT_PG_CHILD_ROLE" // "stream" or "redeem"
	envChildURL  = "NEGAWATT_PG_CHILD_URL"
)

const (
	issuance = "issuance/program"
	redeemed = "redeemed/program"
)

// openLedger opens the engine-wrapped ledger on url (already migrated) with
// the system accounts the fault tests use.
func openLedger(t testing.TB, url string) *ledger.Engine {
	t.Helper()
	ctx := context.Background()
	l, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, a := range []ledger.Account{
		{ID: issuance, Kind: ledger.KindIssuance},
		{ID: redeemed, Kind: ledger.KindRedeemed},
	} {
		if _, err := l.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func customer(t testing.TB, l ledger.Ledger, id string) {
	t.Helper()
	if _, err := l.CreateAccount(context.Background(), ledger.Account{ID: id, Kind: ledger.KindCustomer}); err != nil {
		t.Fatal(err)
	}
}

// streamBatch is batch i of the killed child's stream: batchSize awards of
// 1 point spread over a few customers, keys "stream/<i>/<j>".
const (
	batchSize     = 50
	streamCusts   = 5
	streamBatches = 100_000 // effectively endless: the parent kills the child
)

func streamBatch(i int) []ledger.Transaction {
	txs := make([]ledger.Transaction, batchSize)
	for j := range txs {
		txs[j] = ledger.Transaction{
			Key:      fmt.Sprintf("stream/%d/%d", i, j),
			Postings: []ledger.Posting{{From: issuance, To: fmt.Sprintf("cust/%d", j%streamCusts), Amount: decimal.New(1, 0)}},
			Metadata: map[string]string{"batch": strconv.Itoa(i)},
		}
	}
	return txs
}

// TestChildProcess is the body of the child processes; it does nothing in a
// normal run.
func TestChildProcess(t *testing.T) {
	role := os.Getenv(envChildRole)
	if role == "" {
		t.Skip("helper for the fault tests; runs only as their child process")
	}
	url := os.Getenv(envChildURL)
	ctx := context.Background()
	l, err := Open(ctx, url)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	switch role {
	case "stream":
		// Post batches forever, reporting each one after it committed.
		for i := range streamBatches {
			if _, err := l.PostBatch(ctx, streamBatch(i)); err != nil {
				fmt.Println("error", err)
				os.Exit(3)
			}
			fmt.Println("committed", i)
		}
	case "redeem":
		// Redeem 1 point at a time from the hot account with several
		// goroutines until it runs dry; report the successes.
		var n, failed int
		var mu sync.Mutex
		var wg sync.WaitGroup
		pid := os.Getpid()
		for g := range 8 {
			wg.Go(func() {
				for i := 0; ; i++ {
					_, err := l.Post(ctx, ledger.Transaction{
						Key:      fmt.Sprintf("redeem/%d/%d/%d", pid, g, i),
						Postings: []ledger.Posting{{From: "hot", To: redeemed, Amount: decimal.New(1, 0)}},
					})
					mu.Lock()
					switch {
					case err == nil:
						n++
					case errors.Is(err, ledger.ErrInsufficientFunds):
						mu.Unlock()
						return
					default:
						failed++
						fmt.Println("error", err)
						if failed > 10 {
							mu.Unlock()
							return
						}
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		fmt.Println("redeemed", n, "failed", failed)
	}
	l.Close()
	os.Exit(0)
}

func child(t *testing.T, role, url string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChildRole+"="+role, envChildURL+"="+url)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestKillMidStream SIGKILLs a process that is posting a stream of batches
// and checks that every batch is entirely present or entirely absent, that
// every batch the child reported committed is present, and that the
// ledger's invariants hold after reopening.
func TestKillMidStream(t *testing.T) {
	t.Parallel()
	_, url := testPool(t)
	setup := openLedger(t, url)
	for c := range streamCusts {
		customer(t, setup, fmt.Sprintf("cust/%d", c))
	}
	setup.Close()

	cmd := child(t, "stream", url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 15 // committed batches seen before the kill
	lastReported := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "committed" {
			lastReported, _ = strconv.Atoi(f[1])
			if lastReported+1 >= killAfter {
				// The child is already posting the next batch.
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				break
			}
			continue
		}
		t.Fatalf("child: %s", sc.Text())
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", err)
	}
	if lastReported+1 < killAfter {
		t.Fatalf("child reported only %d batches before exiting", lastReported+1)
	}

	l := openLedger(t, url)
	ctx := context.Background()
	present := func(i int) int {
		n := 0
		for _, tx := range streamBatch(i) {
			_, err := l.Lookup(ctx, tx.Key)
			switch {
			case err == nil:
				n++
			case !errors.Is(err, ledger.ErrNotFound):
				t.Fatalf("Lookup(%s): %v", tx.Key, err)
			}
		}
		return n
	}
	total := 0
	for i := 0; ; i++ {
		n := present(i)
		if n != 0 && n != batchSize {
			t.Fatalf("batch %d is half-applied: %d of %d transactions present", i, n, batchSize)
		}
		if n == 0 {
			if i <= lastReported {
				t.Fatalf("batch %d was reported committed but is absent", i)
			}
			if m := present(i + 1); m != 0 {
				t.Fatalf("batch %d absent but batch %d has %d transactions", i, i+1, m)
			}
			t.Logf("killed after %d reported batches; %d batches present", lastReported+1, i)
			break
		}
		total += n
	}
	ledgertest.CheckInvariants(t, l)
	bal, err := l.Balance(ctx, issuance, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := decimal.New(int64(-total), 0); !bal.Posted.Equal(want) {
		t.Fatalf("issuance balance %s, want %s (one point per present transaction)", bal.Posted, want)
	}
}

// blockApply makes the next writer that inserts the transaction key wait
// inside Apply: it inserts that key in a transaction of its own and keeps
// it open (a unique-index insert waits for the other inserter's outcome).
// It returns the blocking transaction, to be rolled back by the caller.
func blockApply(t *testing.T, pool *pgxpool.Pool, key string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) }) // before the pool closes
	if _, err := tx.Exec(ctx, `INSERT INTO transactions (seq, key, hash, from_accts, to_accts, amounts, expires_ns)
		VALUES (-1, $1, '\x00', '{}', '{}', '{}', '{}')`, key); err != nil {
		t.Fatal(err)
	}
	return tx
}

// waitBlocked waits until a backend is waiting for a lock while inserting
// transactions, and returns its pid. It fails if the batch ends first.
func waitBlocked(t *testing.T, pool *pgxpool.Pool, done <-chan error) int32 {
	t.Helper()
	ctx := context.Background()
	for range 1000 {
		var pid int32
		err := pool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'
			  AND application_name = current_setting('application_name')
			  AND query LIKE 'INSERT INTO transactions%' AND query LIKE '%unnest%'`).Scan(&pid)
		if err == nil {
			return pid
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("the batch ended (%v) before reaching its INSERT of transactions", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("the batch never reached its INSERT of transactions")
	return 0
}

// TestInterruptedBatch interrupts a batch while it is inside Apply (its
// account updates and lots already written in its transaction) by
// cancelling its context or terminating its connection, then checks that
// nothing of it is visible and that re-posting the same keys applies it
// exactly once.
func TestInterruptedBatch(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"cancel", "terminate"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			pool, url := testPool(t)
			l := openLedger(t, url)
			ctx := context.Background()
			customer(t, l, "alice")
			if _, err := l.Post(ctx, ledger.Transaction{Key: "seed",
				Postings: []ledger.Posting{{From: issuance, To: "alice", Amount: decimal.New(10, 0)}}}); err != nil {
				t.Fatal(err)
			}
			batch := make([]ledger.Transaction, 20)
			for i := range batch {
				batch[i] = ledger.Transaction{Key: fmt.Sprintf("b/%d", i),
					Postings: []ledger.Posting{{From: "alice", To: redeemed, Amount: decimal.New(5, -1)}}}
			}
			blocker := blockApply(t, pool, "b/7")
			bctx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan error, 1)
			go func() { _, err := l.PostBatch(bctx, batch); done <- err }()
			pid := waitBlocked(t, pool, done)
			switch how {
			case "cancel":
				cancel()
			case "terminate":
				if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
					t.Fatal(err)
				}
			}
			err := <-done
			if err == nil {
				t.Fatal("interrupted batch reported success")
			}
			t.Logf("interrupted batch: %v", err)
			if err := blocker.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			for _, tx := range batch {
				if _, err := l.Lookup(ctx, tx.Key); !errors.Is(err, ledger.ErrNotFound) {
					t.Fatalf("after interruption Lookup(%s) = %v, want ErrNotFound", tx.Key, err)
				}
			}
			checkAvailable(t, l, "alice", "10")
			ledgertest.CheckInvariants(t, l)

			// Retry twice with the same keys: applied once.
			for attempt := range 2 {
				got, err := l.PostBatch(ctx, batch)
				if err != nil {
					t.Fatalf("retry %d: %v", attempt, err)
				}
				if len(got) != len(batch) {
					t.Fatalf("retry %d returned %d transactions, want %d", attempt, len(got), len(batch))
				}
			}
			checkAvailable(t, l, "alice", "0")
			ledgertest.CheckInvariants(t, l)
		})
	}
}

func checkAvailable(t *testing.T, l ledger.Ledger, acct, want string) {
	t.Helper()
	b, err := l.Balance(context.Background(), acct, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Available.Equal(decimal.RequireFromString(want)) {
		t.Fatalf("%s available = %s, want %s", acct, b.Available, want)
	}
}

// TestHotAccountManyProcesses runs several processes, each with its own
// pool and several goroutines, redeeming 1 point at a time from one account
// until it is empty: the successes across processes add up to exactly the
// funded amount and the balance ends at zero, never below.
func TestHotAccountManyProcesses(t *testing.T) {
	t.Parallel()
	_, url := testPool(t)
	l := openLedger(t, url)
	ctx := context.Background()
	customer(t, l, "hot")
	const funded = 150
	if _, err := l.Post(ctx, ledger.Transaction{Key: "fund",
		Postings: []ledger.Posting{{From: issuance, To: "hot", Amount: decimal.New(funded, 0)}}}); err != nil {
		t.Fatal(err)
	}
	const procs = 3
	outs := make([]strings.Builder, procs)
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmds[i] = child(t, "redeem", url)
		cmds[i].Stdout = &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, outs[i].String())
		}
		var n, failed int
		last := strings.TrimSpace(outs[i].String())
		if j := strings.LastIndexByte(last, '\n'); j >= 0 {
			last = last[j+1:]
		}
		if _, err := fmt.Sscanf(last, "redeemed %d failed %d", &n, &failed); err != nil || failed != 0 {
			t.Fatalf("process %d output %q (failed %d): %v", i, outs[i].String(), failed, err)
		}
		t.Logf("process %d redeemed %d", i, n)
		total += n
	}
	if total != funded {
		t.Fatalf("processes redeemed %d points in total, want exactly %d", total, funded)
	}
	checkAvailable(t, l, "hot", "0")
	ledgertest.CheckInvariants(t, l)
}
