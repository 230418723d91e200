package ledgertest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/ledger"
)

// RunOption tunes Run.
type RunOption func(*runConfig)

type runConfig struct{ checks int }

// WithChecks sets how many random operation sequences the state-machine
// test runs (default 20, sized so SQLite and PostgreSQL finish in well
// under a minute under -race). An explicit -rapid.checks flag wins.
func WithChecks(n int) RunOption { return func(c *runConfig) { c.checks = n } }

// Run runs the whole conformance suite against ledgers made by open. Each
// subtest opens its own ledger.
func Run(t *testing.T, open Opener, opts ...RunOption) {
	cfg := runConfig{checks: 20}
	for _, o := range opts {
		o(&cfg)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"Accounts", testAccounts},
		{"PostAndBalance", testPostAndBalance},
		{"Validation", testValidation},
		{"Idempotency", testIdempotency},
		{"NoNegative", testNoNegative},
		{"Batch", testBatch},
		{"LotsFIFO", testLotsFIFO},
		{"Expiry", testExpiry},
		{"Holds", testHolds},
		{"HoldExpiry", testHoldExpiry},
		{"HeldPointsDoNotExpire", testHeldPointsDoNotExpire},
		{"Reversal", testReversal},
		{"ReversalRestoresLots", testReversalRestoresLots},
		{"History", testHistory},
		{"Lookup", testLookup},
		{"AwardedSum", testAwardedSum},
		{"BalanceAsOf", testBalanceAsOf},
		{"BalanceAsOfHolds", testBalanceAsOfHolds},
		{"ConcurrentRedeem", testConcurrentRedeem},
		{"ConcurrentMixed", testConcurrentMixed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, open)
			tc.fn(t, e)
			CheckInvariants(t, e.l)
		})
	}
	t.Run("AutoCreate", func(t *testing.T) { testAutoCreate(t, open) })
	t.Run("Close", func(t *testing.T) {
		e := newEnv(t, open)
		if err := e.l.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := e.l.Post(e.ctx, award("late", Alice, "1", time.Time{})); !errors.Is(err, ledger.ErrClosed) {
			t.Errorf("Post after Close: %v, want ErrClosed", err)
		}
		if err := e.l.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	t.Run("StateMachine", func(t *testing.T) { testStateMachine(t, open, cfg.checks) })
}

func holder(t *testing.T, e *env) ledger.Holder {
	t.Helper()
	h, ok := e.l.(ledger.Holder)
	if !ok {
		t.Skipf("%T does not implement ledger.Holder", e.l)
	}
	return h
}

func expirer(t *testing.T, e *env) ledger.Expirer {
	t.Helper()
	x, ok := e.l.(ledger.Expirer)
	if !ok {
		t.Skipf("%T does not implement ledger.Expirer", e.l)
	}
	return x
}

func reverser(t *testing.T, e *env) ledger.Reverser {
	t.Helper()
	r, ok := e.l.(ledger.Reverser)
	if !ok {
		t.Skipf("%T does not implement ledger.Reverser", e.l)
	}
	return r
}

func batcher(t *testing.T, e *env) ledger.BatchPoster {
	t.Helper()
	b, ok := e.l.(ledger.BatchPoster)
	if !ok {
		t.Skipf("%T does not implement ledger.BatchPoster", e.l)
	}
	return b
}

func summer(t *testing.T, e *env) ledger.AwardSummer {
	t.Helper()
	s, ok := e.l.(ledger.AwardSummer)
	if !ok {
		t.Skipf("%T does not implement ledger.AwardSummer", e.l)
	}
	return s
}

func testAccounts(t *testing.T, e *env) {
	ctx := e.ctx
	got, err := e.l.Account(ctx, Alice)
	if err != nil {
		t.Fatal(err)
	}
	want := ledger.Account{ID: Alice, Kind: ledger.KindCustomer, Flags: ledger.FlagNoNegative, Currency: "points", CreatedAt: got.CreatedAt}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("customer account (-want +got):\n%s", diff)
	}
	// Identical re-creation is idempotent (the customer flag is implied).
	again, err := e.l.CreateAccount(ctx, ledger.Account{ID: Alice, Kind: ledger.KindCustomer, Flags: ledger.FlagNoNegative})
	if err != nil || !again.CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("re-create identical: %+v, %v", again, err)
	}
	if _, err := e.l.CreateAccount(ctx, ledger.Account{ID: Alice, Kind: ledger.KindAdjustment}); !errors.Is(err, ledger.ErrAccountConflict) {
		t.Errorf("re-create with other kind: %v, want ErrAccountConflict", err)
	}
	if _, err := e.l.CreateAccount(ctx, ledger.Account{ID: Alice, Kind: ledger.KindCustomer, Currency: Credits.Code}); !errors.Is(err, ledger.ErrAccountConflict) {
		t.Errorf("re-create with other currency: %v, want ErrAccountConflict", err)
	}
	if _, err := e.l.Account(ctx, "nobody"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Account(nobody): %v, want ErrNotFound", err)
	}
	for _, bad := range []ledger.Account{
		{ID: "", Kind: ledger.KindCustomer},
		{ID: "x", Kind: 0},
		{ID: "x", Kind: 99},
		{ID: "x", Kind: ledger.KindSystem, Flags: 1 << 7},
	} {
		if _, err := e.l.CreateAccount(ctx, bad); !errors.Is(err, ledger.ErrInvalidTransaction) {
			t.Errorf("CreateAccount(%+v): %v, want ErrInvalidTransaction", bad, err)
		}
	}
	if _, err := e.l.CreateAccount(ctx, ledger.Account{ID: "x", Kind: ledger.KindSystem, Currency: "nope"}); !errors.Is(err, ledger.ErrUnknownCurrency) {
		t.Errorf("unknown currency: %v", err)
	}
	sys, err := e.l.CreateAccount(ctx, ledger.Account{ID: "sys", Kind: ledger.KindSystem, Flags: ledger.FlagNoNegative})
	if err != nil || sys.Flags != ledger.FlagNoNegative {
		t.Errorf("system account with FlagNoNegative: %+v, %v", sys, err)
	}
	if _, err := e.l.Balance(ctx, "nobody", time.Time{}); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Balance(nobody): %v", err)
	}
}

func testPostAndBalance(t *testing.T, e *env) {
	tx := ledger.Transaction{
		Key:      "award-1",
		Postings: []ledger.Posting{{From: Issuance, To: Alice, Amount: D("100.5")}, {From: Issuance, To: Bob, Amount: D("20")}},
		Metadata: map[string]string{"rule": "r1", "program": "p"},
	}
	got := e.post(tx)
	if got.Seq <= 0 || got.Key != "award-1" || len(got.Postings) != 2 {
		t.Errorf("Post returned %+v", got)
	}
	if e.clocked && (!got.PostedAt.Equal(T0) || !got.EffectiveAt.Equal(T0)) {
		t.Errorf("PostedAt/EffectiveAt = %v/%v, want the clock %v", got.PostedAt, got.EffectiveAt, T0)
	}
	e.wantBal(Alice, avail("100.5"))
	e.wantBal(Bob, avail("20"))
	e.wantBal(Issuance, avail("-120.5"))
	e.post(redeem("redeem-1", Alice, "0.5"))
	e.wantBal(Alice, avail("100"))
	e.wantBal(Redeemed, avail("0.5"))
	// A multi-posting transaction between customers.
	e.post(ledger.Transaction{Key: "gift", Postings: []ledger.Posting{{From: Alice, To: Carol, Amount: D("10")}, {From: Bob, To: Carol, Amount: D("5")}}})
	e.wantBal(Carol, avail("15"))
	e.wantBal(Alice, avail("90"))
	e.wantBal(Bob, avail("15"))
}

func testValidation(t *testing.T, e *env) {
	if _, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: "credits/alice", Kind: ledger.KindCustomer, Currency: Credits.Code}); err != nil {
		t.Fatal(err)
	}
	p := func(from, to, amt string) ledger.Posting { return ledger.Posting{From: from, To: to, Amount: D(amt)} }
	cases := []struct {
		name string
		tx   ledger.Transaction
		want error
	}{
		{"empty key", ledger.Transaction{Postings: []ledger.Posting{p(Issuance, Alice, "1")}}, ledger.ErrInvalidTransaction},
		{"reserved key", ledger.Transaction{Key: "ledger/x", Postings: []ledger.Posting{p(Issuance, Alice, "1")}}, ledger.ErrInvalidTransaction},
		{"no postings", ledger.Transaction{Key: "k"}, ledger.ErrInvalidTransaction},
		{"zero amount", ledger.Transaction{Key: "k", Postings: []ledger.Posting{p(Issuance, Alice, "0")}}, ledger.ErrInvalidTransaction},
		{"negative amount", ledger.Transaction{Key: "k", Postings: []ledger.Posting{p(Issuance, Alice, "-1")}}, ledger.ErrInvalidTransaction},
		{"same account", ledger.Transaction{Key: "k", Postings: []ledger.Posting{p(Alice, Alice, "1")}}, ledger.ErrInvalidTransaction},
		{"empty account", ledger.Transaction{Key: "k", Postings: []ledger.Posting{p("", Alice, "1")}}, ledger.ErrInvalidTransaction},
		{"too many decimals", ledger.Transaction{Key: "k", Postings: []ledger.Posting{p(Issuance, Alice, "1.005")}}, ledger.ErrScale},
		{"unknown account", ledger.Transaction{Key: "k", Postings: []ledger.Posting{p(Issuance, "nobody", "1")}}, ledger.ErrNotFound},
		{"cross currency", ledger.Transaction{Key: "k", Postings: []ledger.Posting{p(Alice, "credits/alice", "1")}}, ledger.ErrUnbalanced},
		{"reserved metadata", ledger.Transaction{Key: "k", Postings: []ledger.Posting{p(Issuance, Alice, "1")}, Metadata: map[string]string{"ledger.reason": "x"}}, ledger.ErrInvalidTransaction},
		{"Reverses set", ledger.Transaction{Key: "k", Postings: []ledger.Posting{p(Issuance, Alice, "1")}, Reverses: "x"}, ledger.ErrInvalidTransaction},
		{"Seq set", ledger.Transaction{Key: "k", Postings: []ledger.Posting{p(Issuance, Alice, "1")}, Seq: 7}, ledger.ErrInvalidTransaction},
		{"expiring credit to a system account", ledger.Transaction{Key: "k", Postings: []ledger.Posting{{From: Alice, To: Redeemed, Amount: D("1"), ExpiresAt: T0.Add(time.Hour)}}}, ledger.ErrAccountKind},
		{"expiry in the past", ledger.Transaction{Key: "k", Postings: []ledger.Posting{{From: Issuance, To: Alice, Amount: D("1"), ExpiresAt: T0.Add(-time.Hour)}}}, ledger.ErrInvalidTransaction},
		{"absurd effective time", ledger.Transaction{Key: "k", Postings: []ledger.Posting{p(Issuance, Alice, "1")}, EffectiveAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}, ledger.ErrInvalidTransaction},
	}
	for _, c := range cases {
		if c.name == "expiry in the past" && !e.clocked {
			continue
		}
		_, err := e.l.Post(e.ctx, c.tx)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Post error = %v, want %v", c.name, err, c.want)
		}
		var fe *ledger.FieldError
		if c.want != ledger.ErrNotFound && !errors.As(err, &fe) {
			t.Errorf("%s: error %v is not a *ledger.FieldError", c.name, err)
		}
	}
	// Nothing was written.
	if _, err := e.l.Lookup(e.ctx, "k"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("a rejected transaction was stored: %v", err)
	}
	e.wantBal(Alice, avail("0"))
	// Each currency has its own scale: credits have none.
	if _, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: "credits/issuance", Kind: ledger.KindIssuance, Currency: Credits.Code}); err != nil {
		t.Fatal(err)
	}
	e.postErr(ledger.Transaction{Key: "c1", Postings: []ledger.Posting{p("credits/issuance", "credits/alice", "1.5")}}, ledger.ErrScale)
	e.post(ledger.Transaction{Key: "c2", Postings: []ledger.Posting{p("credits/issuance", "credits/alice", "2")}})
	if b := e.balanceAt("credits/alice", time.Time{}); b.Currency != Credits.Code || !b.Available.Equal(D("2")) {
		t.Errorf("credits balance: %+v", b)
	}
	// Trailing zeros within the scale are fine.
	e.post(ledger.Transaction{Key: "ok", Postings: []ledger.Posting{p(Issuance, Alice, "1.500")}})
	e.wantBal(Alice, avail("1.5"))
}

func testIdempotency(t *testing.T, e *env) {
	tx := award("a1", Alice, "10", time.Time{})
	tx.Metadata = map[string]string{"rule": "r1", "fact": "f1"}
	first := e.post(tx)
	e.clock.Advance(time.Minute)
	// Same content, amount written differently: the original comes back.
	tx2 := award("a1", Alice, "10.00", time.Time{})
	tx2.Metadata = map[string]string{"fact": "f1", "rule": "r1"}
	second := e.post(tx2)
	if diff := cmp.Diff(first, second, cmpDecimal); diff != "" {
		t.Errorf("replay returned a different transaction (-first +second):\n%s", diff)
	}
	e.wantBal(Alice, avail("10"))
	for name, c := range map[string]ledger.Transaction{
		"amount":   award("a1", Alice, "11", time.Time{}),
		"account":  award("a1", Bob, "10", time.Time{}),
		"metadata": award("a1", Alice, "10", time.Time{}),
		"expiry": func() ledger.Transaction {
			x := tx
			x.Postings = []ledger.Posting{{From: Issuance, To: Alice, Amount: D("10"), ExpiresAt: T0.Add(48 * time.Hour)}}
			return x
		}(),
		"effective": func() ledger.Transaction {
			x := tx
			x.EffectiveAt = T0.Add(-time.Hour)
			return x
		}(),
	} {
		if _, err := e.l.Post(e.ctx, c); !errors.Is(err, ledger.ErrIdempotencyConflict) {
			t.Errorf("reuse with different %s: %v, want ErrIdempotencyConflict", name, err)
		}
	}
	e.wantBal(Alice, avail("10"))
	// A failed post leaves the key free.
	e.postErr(redeem("r1", Bob, "5"), ledger.ErrInsufficientFunds)
	e.post(redeem("r1", Alice, "5"))
	e.wantBal(Alice, avail("5"))
}

func testNoNegative(t *testing.T, e *env) {
	e.post(award("a", Alice, "5", time.Time{}))
	e.postErr(redeem("r", Alice, "5.01"), ledger.ErrInsufficientFunds)
	e.post(redeem("r", Alice, "5"))
	e.postErr(redeem("r2", Alice, "0.01"), ledger.ErrInsufficientFunds)
	e.wantBal(Alice, avail("0"))
	// System accounts may go negative; the issuance account does on every award.
	e.wantBal(Issuance, avail("-5"))
	if _, err := e.l.CreateAccount(e.ctx, ledger.Account{ID: "strict", Kind: ledger.KindSystem, Flags: ledger.FlagNoNegative}); err != nil {
		t.Fatal(err)
	}
	e.postErr(ledger.Transaction{Key: "s", Postings: []ledger.Posting{{From: "strict", To: Alice, Amount: D("1")}}}, ledger.ErrInsufficientFunds)
	// Within one transaction, a later posting cannot spend what an earlier one
	// took away.
	e.post(award("b", Bob, "3", time.Time{}))
	e.postErr(ledger.Transaction{Key: "two", Postings: []ledger.Posting{
		{From: Bob, To: Redeemed, Amount: D("2")}, {From: Bob, To: Carol, Amount: D("2")}}}, ledger.ErrInsufficientFunds)
	e.wantBal(Bob, avail("3"))
	e.wantBal(Carol, avail("0"))
}

func testBatch(t *testing.T, e *env) {
	b := batcher(t, e)
	ctx := e.ctx
	got, err := b.PostBatch(ctx, []ledger.Transaction{
		award("b1", Alice, "10", time.Time{}),
		redeem("b2", Alice, "4"), // spends what b1 credited
		award("b3", Bob, "1", time.Time{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !(got[0].Seq < got[1].Seq && got[1].Seq < got[2].Seq) {
		t.Errorf("batch results out of order: %+v", got)
	}
	e.wantBal(Alice, avail("6"))
	// A failure anywhere rolls the whole batch back.
	_, err = b.PostBatch(ctx, []ledger.Transaction{
		award("c1", Carol, "7", time.Time{}),
		redeem("c2", Bob, "2"), // Bob has 1
		award("c3", Carol, "1", time.Time{}),
	})
	var be *ledger.BatchError
	if !errors.As(err, &be) || be.Index != 1 || be.Key != "c2" || !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Fatalf("failing batch: %v, want *BatchError at 1 wrapping ErrInsufficientFunds", err)
	}
	e.wantBal(Carol, avail("0"))
	if _, err := e.l.Lookup(ctx, "c1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("c1 of a failed batch is visible: %v", err)
	}
	// Replaying a committed batch, plus new work, is idempotent for the old part.
	got2, err := b.PostBatch(ctx, []ledger.Transaction{
		award("b1", Alice, "10", time.Time{}),
		award("b4", Alice, "1", time.Time{}),
		award("b4", Alice, "1", time.Time{}), // same key twice, same content
	})
	if err != nil {
		t.Fatal(err)
	}
	if got2[0].Seq != got[0].Seq || got2[1].Seq != got2[2].Seq {
		t.Errorf("replayed batch: %+v", got2)
	}
	e.wantBal(Alice, avail("7"))
	_, err = b.PostBatch(ctx, []ledger.Transaction{award("d1", Alice, "1", time.Time{}), award("d1", Alice, "2", time.Time{})})
	if !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Errorf("same key with different content in one batch: %v", err)
	}
	if got, err := b.PostBatch(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("empty batch: %v, %v", got, err)
	}
}

func testLotsFIFO(t *testing.T, e *env) {
	e.needClock(t)
	x := expirer(t, e)
	day := 24 * time.Hour
	e.post(award("never", Alice, "5", time.Time{}))
	e.post(award("late", Alice, "10", T0.Add(30*day)))
	e.post(award("early", Alice, "10", T0.Add(10*day)))
	e.post(award("early2", Alice, "1", T0.Add(10*day)))
	b := e.balanceAt(Alice, time.Time{})
	if diff := cmp.Diff([]ledger.Expiry{{At: T0.Add(10 * day), Amount: D("11")}, {At: T0.Add(30 * day), Amount: D("10")}}, b.NextExpiries, cmpDecimal); diff != "" {
		t.Errorf("NextExpiries (-want +got):\n%s", diff)
	}
	// 12 takes the 10 expiring first, then the other lot expiring the same
	// day (created later), then 1 from the 30-day lot.
	e.post(redeem("r1", Alice, "12"))
	e.wantBal(Alice, bal{"14.00", "14.00", "0.00", "0.00", "9.00"})
	e.clock.Advance(11 * day)
	res, err := x.SweepExpired(e.ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Transactions) != 0 {
		t.Errorf("nothing should expire at day 11, got %+v", res.Transactions)
	}
	e.clock.Advance(20 * day)
	res, err = x.SweepExpired(e.ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Transactions) != 1 || !res.Transactions[0].Postings[0].Amount.Equal(D("9")) {
		t.Fatalf("sweep at day 31: %+v, want one expiry of 9", res.Transactions)
	}
	e.wantBal(Alice, avail("5"))
}

func testExpiry(t *testing.T, e *env) {
	e.needClock(t)
	x := expirer(t, e)
	day := 24 * time.Hour
	e.post(award("a1", Alice, "10", T0.Add(day)))
	e.post(award("a2", Alice, "3", time.Time{}))
	e.post(award("b1", Bob, "4", T0.Add(2*day)))
	// Projected balance: after a day the 10 are expired (not yet swept).
	if diff := cmp.Diff(bal{"13.00", "3.00", "0.00", "10.00", "0.00"}, toBal(e.balanceAt(Alice, T0.Add(day)))); diff != "" {
		t.Errorf("projected balance (-want +got):\n%s", diff)
	}
	e.clock.Advance(day)
	// Expired but unswept points are not spendable.
	e.wantBal(Alice, bal{"13.00", "3.00", "0.00", "10.00", "0.00"})
	e.postErr(redeem("r1", Alice, "4"), ledger.ErrInsufficientFunds)
	res, err := x.SweepExpired(e.ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Transactions) != 1 {
		t.Fatalf("sweep: %+v, want one transaction", res.Transactions)
	}
	st := res.Transactions[0]
	p := st.Postings[0]
	if p.From != Alice || !p.Amount.Equal(D("10")) || st.Metadata[ledger.MetaReason] != "expiry" || !st.EffectiveAt.Equal(T0.Add(day)) {
		t.Errorf("expiry transaction: %+v", st)
	}
	e.wantBal(Alice, avail("3"))
	e.wantBal(p.To, avail("10"))
	acct, err := e.l.Account(e.ctx, p.To)
	if err != nil || acct.Kind != ledger.KindExpired {
		t.Errorf("expired account: %+v, %v", acct, err)
	}
	// Sweeping again changes nothing.
	res, err = x.SweepExpired(e.ctx, time.Time{})
	if err != nil || len(res.Transactions) != 0 {
		t.Errorf("second sweep: %+v, %v", res, err)
	}
	// The expiry is an ordinary transaction found by key.
	if got, err := e.l.Lookup(e.ctx, st.Key); err != nil || got.Seq != st.Seq {
		t.Errorf("Lookup(expiry): %+v, %v", got, err)
	}
	// A sweep at an explicit instant.
	res, err = x.SweepExpired(e.ctx, T0.Add(3*day))
	if err != nil || len(res.Transactions) != 1 || res.Transactions[0].Postings[0].From != Bob {
		t.Errorf("sweep at day 3: %+v, %v", res, err)
	}
	e.wantBal(Bob, avail("0"))
}

func testHolds(t *testing.T, e *env) {
	h := holder(t, e)
	ctx := e.ctx
	e.post(award("a", Alice, "100", time.Time{}))
	req := ledger.HoldRequest{ID: "h1", Account: Alice, To: Redeemed, Amount: D("30"), Deadline: T0.Add(time.Hour), Metadata: map[string]string{"order": "o1"}}
	hd, err := h.Hold(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if hd.Status != ledger.HoldOpen || !hd.Amount.Equal(D("30")) {
		t.Errorf("hold: %+v", hd)
	}
	e.wantBal(Alice, bal{"100.00", "70.00", "30.00", "0.00", "0.00"})
	// Idempotent.
	if again, err := h.Hold(ctx, req); err != nil || again.Status != ledger.HoldOpen {
		t.Errorf("same hold again: %+v, %v", again, err)
	}
	e.wantBal(Alice, bal{"100.00", "70.00", "30.00", "0.00", "0.00"})
	r2 := req
	r2.Amount = D("31")
	if _, err := h.Hold(ctx, r2); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Errorf("hold id reused: %v", err)
	}
	// Held points cannot be spent.
	e.postErr(redeem("r", Alice, "70.01"), ledger.ErrInsufficientFunds)
	if _, err := h.Hold(ctx, ledger.HoldRequest{ID: "h-big", Account: Alice, To: Redeemed, Amount: D("71"), Deadline: T0.Add(time.Hour)}); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Errorf("hold beyond available: %v", err)
	}
	// Partial commit: 25 of 30; the other 5 go back.
	if _, err := h.CommitHold(ctx, "h1", D("30.01")); !errors.Is(err, ledger.ErrInvalidTransaction) {
		t.Errorf("commit more than held: %v", err)
	}
	tx, err := h.CommitHold(ctx, "h1", D("25"))
	if err != nil {
		t.Fatal(err)
	}
	if tx.Postings[0].From != Alice || tx.Postings[0].To != Redeemed || !tx.Postings[0].Amount.Equal(D("25")) ||
		tx.Metadata["order"] != "o1" || tx.Metadata[ledger.MetaHold] != "h1" {
		t.Errorf("commit transaction: %+v", tx)
	}
	e.wantBal(Alice, avail("75"))
	e.wantBal(Redeemed, avail("25"))
	// Same commit again returns the same transaction; anything else is resolved.
	if again, err := h.CommitHold(ctx, "h1", D("25.00")); err != nil || again.Seq != tx.Seq {
		t.Errorf("commit retry: %+v, %v", again, err)
	}
	if _, err := h.CommitHold(ctx, "h1", D("5")); !errors.Is(err, ledger.ErrHoldResolved) {
		t.Errorf("second commit: %v", err)
	}
	if _, err := h.VoidHold(ctx, "h1"); !errors.Is(err, ledger.ErrHoldResolved) {
		t.Errorf("void after commit: %v", err)
	}
	got, err := h.GetHold(ctx, "h1")
	if err != nil || got.Status != ledger.HoldCommitted || !got.Committed.Equal(D("25")) || got.CommitKey != tx.Key {
		t.Errorf("GetHold after commit: %+v, %v", got, err)
	}
	// Void.
	if _, err := h.Hold(ctx, ledger.HoldRequest{ID: "h2", Account: Alice, To: Redeemed, Amount: D("75"), Deadline: T0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.wantBal(Alice, bal{"75.00", "0.00", "75.00", "0.00", "0.00"})
	v, err := h.VoidHold(ctx, "h2")
	if err != nil || v.Status != ledger.HoldVoided {
		t.Errorf("void: %+v, %v", v, err)
	}
	if v, err := h.VoidHold(ctx, "h2"); err != nil || v.Status != ledger.HoldVoided {
		t.Errorf("void again: %+v, %v", v, err)
	}
	if _, err := h.CommitHold(ctx, "h2", D("1")); !errors.Is(err, ledger.ErrHoldResolved) {
		t.Errorf("commit after void: %v", err)
	}
	e.wantBal(Alice, avail("75"))
	for _, c := range []struct {
		name string
		req  ledger.HoldRequest
		want error
	}{
		{"unknown hold account", ledger.HoldRequest{ID: "x", Account: "nobody", To: Redeemed, Amount: D("1"), Deadline: T0.Add(time.Hour)}, ledger.ErrNotFound},
		{"zero amount", ledger.HoldRequest{ID: "x", Account: Alice, To: Redeemed, Amount: D("0"), Deadline: T0.Add(time.Hour)}, ledger.ErrInvalidTransaction},
		{"no deadline", ledger.HoldRequest{ID: "x", Account: Alice, To: Redeemed, Amount: D("1")}, ledger.ErrInvalidTransaction},
		{"scale", ledger.HoldRequest{ID: "x", Account: Alice, To: Redeemed, Amount: D("0.001"), Deadline: T0.Add(time.Hour)}, ledger.ErrScale},
		{"same account", ledger.HoldRequest{ID: "x", Account: Alice, To: Alice, Amount: D("1"), Deadline: T0.Add(time.Hour)}, ledger.ErrInvalidTransaction},
	} {
		if _, err := h.Hold(ctx, c.req); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := h.CommitHold(ctx, "nope", D("1")); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("commit unknown hold: %v", err)
	}
	if _, err := h.GetHold(ctx, "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("get unknown hold: %v", err)
	}
}

func testHoldExpiry(t *testing.T, e *env) {
	e.needClock(t)
	h := holder(t, e)
	x := expirer(t, e)
	ctx := e.ctx
	e.post(award("a", Alice, "10", time.Time{}))
	for _, id := range []string{"h1", "h2", "h3"} {
		if _, err := h.Hold(ctx, ledger.HoldRequest{ID: id, Account: Alice, To: Redeemed, Amount: D("3"), Deadline: T0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	e.wantBal(Alice, bal{"10.00", "1.00", "9.00", "0.00", "0.00"})
	// Projected past the deadline, the holds are released.
	if diff := cmp.Diff(avail("10"), toBal(e.balanceAt(Alice, T0.Add(time.Hour)))); diff != "" {
		t.Errorf("projected balance (-want +got):\n%s", diff)
	}
	e.clock.Advance(time.Hour)
	e.wantBal(Alice, avail("10"))
	if _, err := h.CommitHold(ctx, "h1", D("3")); !errors.Is(err, ledger.ErrHoldExpired) {
		t.Errorf("commit after deadline: %v", err)
	}
	if _, err := h.VoidHold(ctx, "h2"); !errors.Is(err, ledger.ErrHoldExpired) {
		t.Errorf("void after deadline: %v", err)
	}
	if g, err := h.GetHold(ctx, "h3"); err != nil || g.Status != ledger.HoldExpired {
		t.Errorf("GetHold past deadline: %+v, %v", g, err)
	}
	res, err := x.SweepExpired(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"h3"}, res.HoldsExpired); diff != "" {
		t.Errorf("HoldsExpired (-want +got):\n%s", diff)
	}
	e.wantBal(Alice, avail("10"))
	e.post(redeem("r", Alice, "10"))
	if _, err := h.CommitHold(ctx, "h3", D("3")); !errors.Is(err, ledger.ErrHoldExpired) {
		t.Errorf("commit after sweep: %v", err)
	}
}

func testHeldPointsDoNotExpire(t *testing.T, e *env) {
	e.needClock(t)
	h := holder(t, e)
	x := expirer(t, e)
	ctx := e.ctx
	day := 24 * time.Hour
	e.post(award("a", Alice, "10", T0.Add(day)))
	if _, err := h.Hold(ctx, ledger.HoldRequest{ID: "h", Account: Alice, To: Redeemed, Amount: D("4"), Deadline: T0.Add(3 * day)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * day)
	res, err := x.SweepExpired(ctx, time.Time{})
	if err != nil || len(res.Transactions) != 1 || !res.Transactions[0].Postings[0].Amount.Equal(D("6")) {
		t.Fatalf("sweep expires only the unheld 6: %+v, %v", res, err)
	}
	e.wantBal(Alice, bal{"4.00", "0.00", "4.00", "0.00", "0.00"})
	// Commit 1; the 3 released go back to their (expired) lot.
	if _, err := h.CommitHold(ctx, "h", D("1")); err != nil {
		t.Fatal(err)
	}
	e.wantBal(Alice, bal{"3.00", "0.00", "0.00", "3.00", "0.00"})
	res, err = x.SweepExpired(ctx, time.Time{})
	if err != nil || len(res.Transactions) != 1 || !res.Transactions[0].Postings[0].Amount.Equal(D("3")) {
		t.Fatalf("second sweep expires the released 3: %+v, %v", res, err)
	}
	if res.Transactions[0].Key == "" {
		t.Error("expiry without key")
	}
	e.wantBal(Alice, avail("0"))
}

func testReversal(t *testing.T, e *env) {
	r := reverser(t, e)
	ctx := e.ctx
	tx := award("a", Alice, "10", time.Time{})
	tx.Metadata = map[string]string{"rule": "r1"}
	tx.EffectiveAt = T0.Add(-48 * time.Hour)
	orig := e.post(tx)
	rev, err := r.Reverse(ctx, "fix-a", "a")
	if err != nil {
		t.Fatal(err)
	}
	if rev.Reverses != "a" || rev.Postings[0].From != Alice || rev.Postings[0].To != Issuance ||
		rev.Metadata["rule"] != "r1" || rev.Metadata[ledger.MetaReason] != "reversal" || !rev.EffectiveAt.Equal(orig.EffectiveAt) {
		t.Errorf("reversal: %+v", rev)
	}
	e.wantBal(Alice, avail("0"))
	e.wantBal(Issuance, avail("0"))
	got, err := e.l.Lookup(ctx, "a")
	if err != nil || got.ReversedBy != "fix-a" {
		t.Errorf("original after reversal: %+v, %v", got, err)
	}
	if again, err := r.Reverse(ctx, "fix-a", "a"); err != nil || again.Seq != rev.Seq {
		t.Errorf("same reversal again: %+v, %v", again, err)
	}
	if _, err := r.Reverse(ctx, "fix-a2", "a"); !errors.Is(err, ledger.ErrAlreadyReversed) {
		t.Errorf("second reversal: %v", err)
	}
	if _, err := r.Reverse(ctx, "fix-fix", "fix-a"); !errors.Is(err, ledger.ErrInvalidTransaction) {
		t.Errorf("reversing a reversal: %v", err)
	}
	if _, err := r.Reverse(ctx, "x", "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("reversing unknown: %v", err)
	}
	e.post(award("b", Alice, "5", time.Time{}))
	if _, err := r.Reverse(ctx, "a", "b"); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Errorf("reversal under a used key: %v", err)
	}
	// A reversal of a spent award is refused rather than overdrawing.
	e.post(redeem("spend", Alice, "5"))
	if _, err := r.Reverse(ctx, "fix-b", "b"); !errors.Is(err, ledger.ErrInsufficientFunds) {
		t.Errorf("reversing a spent award: %v", err)
	}
	// Reversing the redemption gives the points back.
	if _, err := r.Reverse(ctx, "fix-spend", "spend"); err != nil {
		t.Fatal(err)
	}
	e.wantBal(Alice, avail("5"))
	e.wantBal(Redeemed, avail("0"))
}

func testReversalRestoresLots(t *testing.T, e *env) {
	e.needClock(t)
	r := reverser(t, e)
	day := 24 * time.Hour
	e.post(award("soon", Alice, "5", T0.Add(day)))
	e.post(award("later", Alice, "5", T0.Add(5*day)))
	e.post(redeem("spend", Alice, "7"))
	if _, err := r.Reverse(e.ctx, "undo", "spend"); err != nil {
		t.Fatal(err)
	}
	b := e.balanceAt(Alice, time.Time{})
	if diff := cmp.Diff([]ledger.Expiry{{At: T0.Add(day), Amount: D("5")}, {At: T0.Add(5 * day), Amount: D("5")}}, b.NextExpiries, cmpDecimal); diff != "" {
		t.Errorf("lots after reversing a redemption (-want +got):\n%s", diff)
	}
	// Reversing an award takes its own lot, not the earliest one.
	if _, err := r.Reverse(e.ctx, "undo-later", "later"); err != nil {
		t.Fatal(err)
	}
	b = e.balanceAt(Alice, time.Time{})
	if diff := cmp.Diff([]ledger.Expiry{{At: T0.Add(day), Amount: D("5")}}, b.NextExpiries, cmpDecimal); diff != "" {
		t.Errorf("lots after reversing an award (-want +got):\n%s", diff)
	}
}

func testHistory(t *testing.T, e *env) {
	var keys []string
	for i := range 5 {
		k := fmt.Sprintf("h%d", i)
		e.post(award(k, Alice, "1", time.Time{}))
		keys = append(keys, k)
		e.post(award(k+"-bob", Bob, "1", time.Time{}))
	}
	e.post(ledger.Transaction{Key: "both", Postings: []ledger.Posting{{From: Alice, To: Bob, Amount: D("1")}, {From: Bob, To: Alice, Amount: D("0.5")}}})
	keys = append(keys, "both")
	for _, newest := range []bool{false, true} {
		var got []string
		cursor := ""
		pages := 0
		for {
			p, err := e.l.History(e.ctx, ledger.HistoryQuery{Account: Alice, Cursor: cursor, Limit: 2, NewestFirst: newest})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, tx := range p.Transactions {
				got = append(got, tx.Key)
			}
			if p.Next == "" {
				break
			}
			cursor = p.Next
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
		}
		want := keys
		if newest {
			want = make([]string, len(keys))
			for i, k := range keys {
				want[len(keys)-1-i] = k
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("history newest=%v (-want +got):\n%s", newest, diff)
		}
		if pages != 3 {
			t.Errorf("6 transactions at 2 per page took %d pages, want 3", pages)
		}
	}
	p, err := e.l.History(e.ctx, ledger.HistoryQuery{Account: Alice, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.History(e.ctx, ledger.HistoryQuery{Account: Alice, Cursor: p.Next, NewestFirst: true}); !errors.Is(err, ledger.ErrInvalidTransaction) {
		t.Errorf("cursor used in the other direction: %v", err)
	}
	if _, err := e.l.History(e.ctx, ledger.HistoryQuery{Account: Alice, Cursor: "garbage!"}); !errors.Is(err, ledger.ErrInvalidTransaction) {
		t.Errorf("bad cursor: %v", err)
	}
	if _, err := e.l.History(e.ctx, ledger.HistoryQuery{Account: Alice, Limit: 5000}); !errors.Is(err, ledger.ErrInvalidTransaction) {
		t.Errorf("huge limit: %v", err)
	}
	if _, err := e.l.History(e.ctx, ledger.HistoryQuery{Account: "nobody"}); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	p, err = e.l.History(e.ctx, ledger.HistoryQuery{Account: Carol})
	if err != nil || len(p.Transactions) != 0 || p.Next != "" {
		t.Errorf("empty history: %+v, %v", p, err)
	}
	// A cursor keeps working when newer transactions arrive.
	p, err = e.l.History(e.ctx, ledger.HistoryQuery{Account: Alice, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	e.post(award("new", Alice, "1", time.Time{}))
	p, err = e.l.History(e.ctx, ledger.HistoryQuery{Account: Alice, Cursor: p.Next})
	if err != nil || len(p.Transactions) != 2 || p.Transactions[0].Key != "both" || p.Transactions[1].Key != "new" {
		t.Errorf("page after new transaction: %+v, %v", p, err)
	}
}

func testLookup(t *testing.T, e *env) {
	tx := award("k1", Alice, "2.5", T0.Add(time.Hour))
	tx.Metadata = map[string]string{"rule": "r", "customer": "alice"}
	tx.EffectiveAt = time.Date(2029, 6, 1, 0, 0, 0, 123456000, time.FixedZone("X", 3600))
	posted := e.post(tx)
	got, err := e.l.Lookup(e.ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(posted, got, cmpDecimal); diff != "" {
		t.Errorf("Lookup differs from Post's result (-post +lookup):\n%s", diff)
	}
	if !got.EffectiveAt.Equal(tx.EffectiveAt) || got.EffectiveAt.Location() != time.UTC {
		t.Errorf("EffectiveAt = %v, want %v in UTC", got.EffectiveAt, tx.EffectiveAt)
	}
	if _, err := e.l.Lookup(e.ctx, "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Lookup(nope): %v", err)
	}
	// The caller's maps and slices are not aliased.
	got.Metadata["rule"] = "changed"
	got.Postings[0].To = "x"
	again, _ := e.l.Lookup(e.ctx, "k1")
	if again.Metadata["rule"] != "r" || again.Postings[0].To != Alice {
		t.Errorf("Lookup result aliases stored data: %+v", again)
	}
}

func testAwardedSum(t *testing.T, e *env) {
	s := summer(t, e)
	r := reverser(t, e)
	jan := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	feb := jan.AddDate(0, 1, 0)
	mk := func(key, rule string, amt string, eff time.Time) {
		tx := award(key, Alice, amt, time.Time{})
		tx.Metadata = map[string]string{"rule": rule}
		tx.EffectiveAt = eff
		e.post(tx)
	}
	mk("j1", "r1", "10", jan)
	mk("j2", "r1", "5", jan.Add(20*24*time.Hour))
	mk("f1", "r1", "7", feb)         // outside [jan, feb)
	mk("j3", "r2", "100", jan)       // other rule
	mk("j4", "r1", "1", jan.Add(-1)) // before the window
	e.post(ledger.Transaction{Key: "bob", Metadata: map[string]string{"rule": "r1"}, EffectiveAt: jan,
		Postings: []ledger.Posting{{From: Issuance, To: Bob, Amount: D("50")}}})
	q := ledger.AwardQuery{Account: Alice, TagKey: "rule", TagValue: "r1", From: jan, To: feb}
	got, err := s.AwardedSum(e.ctx, q)
	if err != nil || !got.Equal(D("15")) {
		t.Errorf("AwardedSum = %v, %v; want 15", got, err)
	}
	if _, err := r.Reverse(e.ctx, "undo-j2", "j2"); err != nil {
		t.Fatal(err)
	}
	got, err = s.AwardedSum(e.ctx, q)
	if err != nil || !got.Equal(D("10")) {
		t.Errorf("AwardedSum after reversing j2 = %v, %v; want 10", got, err)
	}
	q.To = q.From
	if got, err := s.AwardedSum(e.ctx, q); err != nil || !got.IsZero() {
		t.Errorf("empty window: %v, %v", got, err)
	}
	q.To = q.From.Add(-1)
	if _, err := s.AwardedSum(e.ctx, q); !errors.Is(err, ledger.ErrInvalidTransaction) {
		t.Errorf("inverted window: %v", err)
	}
}

func testBalanceAsOf(t *testing.T, e *env) {
	e.needClock(t)
	e.post(award("a1", Alice, "10", time.Time{}))
	e.clock.Advance(time.Hour)
	e.post(award("a2", Alice, "5", T0.Add(10*time.Hour)))
	e.clock.Advance(time.Hour)
	e.post(redeem("r1", Alice, "12"))
	e.clock.Advance(time.Hour)
	for _, c := range []struct {
		at   time.Time
		want bal
	}{
		{T0.Add(-time.Minute), avail("0")},
		{T0, avail("10")},
		{T0.Add(90 * time.Minute), bal{"15.00", "15.00", "0.00", "0.00", "5.00"}},
		{T0.Add(150 * time.Minute), bal{"3.00", "3.00", "0.00", "0.00", "0.00"}},
		{T0.Add(11 * time.Hour), avail("3")},
	} {
		if diff := cmp.Diff(c.want, toBal(e.balanceAt(Alice, c.at))); diff != "" {
			t.Errorf("Balance at %v (-want +got):\n%s", c.at, diff)
		}
	}
}

func testAutoCreate(t *testing.T, open Opener) {
	rule := func(id string) (ledger.Account, bool) {
		if strings.HasPrefix(id, "auto/") {
			return ledger.Account{Kind: ledger.KindCustomer}, true
		}
		return ledger.Account{}, false
	}
	e := newEnv(t, open, ledger.WithAutoCreate(rule))
	if _, err := e.l.Account(e.ctx, "auto/1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Account before first use: %v", err)
	}
	if _, err := e.l.Post(e.ctx, award("a", "auto/1", "5", time.Time{})); err != nil {
		t.Skipf("implementation ignores ledger.WithAutoCreate (%v)", err)
	}
	a, err := e.l.Account(e.ctx, "auto/1")
	if err != nil || a.Kind != ledger.KindCustomer || a.Flags != ledger.FlagNoNegative {
		t.Errorf("auto-created account: %+v, %v", a, err)
	}
	e.wantBal("auto/1", avail("5"))
	e.postErr(award("b", "other/1", "5", time.Time{}), ledger.ErrNotFound)
	// An auto-created account in a failed batch is not created either.
	e.postErr(ledger.Transaction{Key: "c", Postings: []ledger.Posting{{From: "auto/2", To: Redeemed, Amount: D("1")}}}, ledger.ErrInsufficientFunds)
	if _, err := e.l.Account(e.ctx, "auto/2"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("account of a refused transaction exists: %v", err)
	}
	CheckInvariants(t, e.l)
}

// testBalanceAsOfHolds: a balance in the past counts the holds open then,
// including ones committed, voided or expired since.
func testBalanceAsOfHolds(t *testing.T, e *env) {
	e.needClock(t)
	h := holder(t, e)
	ctx := e.ctx
	hold := func(id, amt string, deadline time.Duration) {
		t.Helper()
		if _, err := h.Hold(ctx, ledger.HoldRequest{ID: id, Account: Alice, To: Redeemed, Amount: D(amt), Deadline: T0.Add(deadline)}); err != nil {
			t.Fatal(err)
		}
	}
	e.post(award("a", Alice, "10", time.Time{}))
	e.clock.Advance(time.Hour)
	hold("h1", "4", 10*time.Hour) // at 1h
	e.clock.Advance(time.Hour)
	hold("h2", "3", 3*time.Hour) // at 2h, lapses at 3h
	e.clock.Advance(2 * time.Hour)
	if _, err := h.CommitHold(ctx, "h1", D("1")); err != nil { // at 4h
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	hold("h3", "2", 20*time.Hour) // at 5h
	e.clock.Advance(time.Hour)
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			at   time.Duration
			want bal
		}{
			{30 * time.Minute, avail("10")},
			{90 * time.Minute, bal{"10.00", "6.00", "4.00", "0.00", "0.00"}},
			{150 * time.Minute, bal{"10.00", "3.00", "7.00", "0.00", "0.00"}},
			{3 * time.Hour, bal{"10.00", "6.00", "4.00", "0.00", "0.00"}},
			{270 * time.Minute, avail("9")},
			{330 * time.Minute, bal{"9.00", "7.00", "2.00", "0.00", "0.00"}},
			{6 * time.Hour, bal{"9.00", "7.00", "2.00", "0.00", "0.00"}},
		} {
			if diff := cmp.Diff(c.want, toBal(e.balanceAt(Alice, T0.Add(c.at)))); diff != "" {
				t.Errorf("%s: Balance at T0+%v (-want +got):\n%s", when, c.at, diff)
			}
		}
	}
	check("before the sweep")
	if x, ok := e.l.(ledger.Expirer); ok {
		if _, err := x.SweepExpired(ctx, time.Time{}); err != nil {
			t.Fatal(err)
		}
		check("after the sweep")
	}
}
