package ledgertest

import (
	"context"
	"fmt"
	"testing"

	"github.com/negawatt/negawatt/ledger"
	"github.com/shopspring/decimal"
)

// StoreProvider is implemented by ledgers built on [ledger.New]
// (*ledger.Engine), giving CheckInvariants access to the stored rows.
type StoreProvider interface {
	Store() ledger.Store
}

// CheckInvariants reads everything l has stored and fails t if any
// invariant is broken:
//   - the account totals of each currency sum to zero (double entry);
//   - every account's Posted equals the sum of its postings, and its Held
//     the sum of its open holds;
//   - for a lot-keeping account, Posted equals its lots' remainders plus
//     its open holds (no point is lost or counted twice);
//   - every lot belongs to the credit posting that opened it, with
//     0 ≤ Remaining ≤ Amount; every lot use and reservation names a lot;
//   - no key is half-applied: each transaction's postings are all reflected
//     in the totals above, reversal links point both ways, and a committed
//     hold's transaction exists.
//
// Ledgers that do not expose a Store are skipped with a log line.
func CheckInvariants(t testing.TB, l ledger.Ledger) {
	t.Helper()
	sp, ok := l.(StoreProvider)
	if !ok {
		t.Logf("CheckInvariants: %T exposes no ledger.Store; skipped", l)
		return
	}
	if err := checkInvariants(context.Background(), sp.Store()); err != nil {
		t.Errorf("ledger invariant broken: %v", err)
	}
}

func checkInvariants(ctx context.Context, s ledger.Store) error {
	stx, err := s.Begin(ctx, false)
	if err != nil {
		return err
	}
	defer func() { _ = stx.Rollback() }()
	const page = 500
	accts := map[string]ledger.AccountState{}
	for after := ""; ; {
		as, err := stx.ScanAccounts(ctx, after, page)
		if err != nil {
			return err
		}
		for _, a := range as {
			accts[a.ID] = a
			after = a.ID
		}
		if len(as) < page {
			break
		}
	}
	txs := map[string]ledger.TxRecord{}
	bySeq := map[int64]ledger.TxRecord{}
	sums := map[string]decimal.Decimal{}
	var lastSeq int64
	for after := int64(0); ; {
		rs, err := stx.ScanTransactions(ctx, after, page)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Seq <= lastSeq {
				return fmt.Errorf("transactions out of Seq order: %d after %d", r.Seq, lastSeq)
			}
			lastSeq = r.Seq
			if _, dup := txs[r.Key]; dup {
				return fmt.Errorf("key %q stored twice", r.Key)
			}
			txs[r.Key] = r
			bySeq[r.Seq] = r
			for i, p := range r.Postings {
				fa, fok := accts[p.From]
				ta, tok := accts[p.To]
				if !fok || !tok {
					return fmt.Errorf("transaction %q posting %d names a missing account", r.Key, i)
				}
				if fa.Currency != ta.Currency {
					return fmt.Errorf("transaction %q posting %d crosses currencies", r.Key, i)
				}
				if p.Amount.Sign() <= 0 {
					return fmt.Errorf("transaction %q posting %d has amount %s", r.Key, i, p.Amount)
				}
				sums[p.From] = sums[p.From].Sub(p.Amount)
				sums[p.To] = sums[p.To].Add(p.Amount)
			}
			after = r.Seq
		}
		if len(rs) < page {
			break
		}
	}
	for k, r := range txs {
		if r.ReversedBy != "" {
			rv, ok := txs[r.ReversedBy]
			if !ok || rv.Reverses != k {
				return fmt.Errorf("%q says it was reversed by %q, which does not point back", k, r.ReversedBy)
			}
		}
		if r.Reverses != "" {
			o, ok := txs[r.Reverses]
			if !ok || o.ReversedBy != k {
				return fmt.Errorf("%q reverses %q, which does not point back", k, r.Reverses)
			}
		}
	}
	perCur := map[string]decimal.Decimal{}
	for id, a := range accts {
		perCur[a.Currency] = perCur[a.Currency].Add(a.Posted)
		if !a.Posted.Equal(sums[id]) {
			return fmt.Errorf("account %q: Posted %s but its postings sum to %s", id, a.Posted, sums[id])
		}
	}
	for cur, s := range perCur {
		if !s.IsZero() {
			return fmt.Errorf("currency %s: account totals sum to %s, not zero", cur, s)
		}
	}
	lotSums := map[string]decimal.Decimal{}
	lots := map[ledger.LotID]ledger.Lot{}
	for after := (ledger.LotID{}); ; {
		ls, err := stx.ScanLots(ctx, after, page)
		if err != nil {
			return err
		}
		for _, l := range ls {
			lots[l.ID] = l
			after = l.ID
			r, ok := bySeq[l.ID.Seq]
			if !ok || int(l.ID.Posting) >= len(r.Postings) {
				return fmt.Errorf("lot %v has no creating posting", l.ID)
			}
			p := r.Postings[l.ID.Posting]
			if p.To != l.Account || !p.Amount.Equal(l.Amount) || !p.ExpiresAt.Equal(l.ExpiresAt) {
				return fmt.Errorf("lot %v does not match its posting %+v", l.ID, p)
			}
			if l.Remaining.Sign() < 0 || l.Remaining.GreaterThan(l.Amount) {
				return fmt.Errorf("lot %v: remaining %s outside [0, %s]", l.ID, l.Remaining, l.Amount)
			}
			lotSums[l.Account] = lotSums[l.Account].Add(l.Remaining)
		}
		if len(ls) < page {
			break
		}
	}
	for k, r := range txs {
		for _, u := range r.Consumed {
			if _, ok := lots[u.Lot]; !ok {
				return fmt.Errorf("transaction %q consumed unknown lot %v", k, u.Lot)
			}
		}
	}
	held := map[string]decimal.Decimal{}
	for after := ""; ; {
		hs, err := stx.ScanHolds(ctx, after, page)
		if err != nil {
			return err
		}
		for _, h := range hs {
			after = h.ID
			if h.Status == ledger.HoldOpen {
				held[h.Account] = held[h.Account].Add(h.Amount)
				for _, u := range h.Reserved {
					if _, ok := lots[u.Lot]; !ok {
						return fmt.Errorf("hold %q reserves unknown lot %v", h.ID, u.Lot)
					}
				}
			}
			if h.Status == ledger.HoldCommitted {
				if _, ok := txs[h.CommitKey]; !ok {
					return fmt.Errorf("hold %q committed by missing transaction %q", h.ID, h.CommitKey)
				}
			}
		}
		if len(hs) < page {
			break
		}
	}
	for id, a := range accts {
		if !a.Held.Equal(held[id]) {
			return fmt.Errorf("account %q: Held %s but its open holds sum to %s", id, a.Held, held[id])
		}
		if a.Flags&ledger.FlagNoNegative != 0 {
			if want := lotSums[id].Add(held[id]); !a.Posted.Equal(want) {
				return fmt.Errorf("account %q: Posted %s but lots %s + holds %s = %s", id, a.Posted, lotSums[id], held[id], want)
			}
		} else if lotSums[id].Sign() != 0 {
			return fmt.Errorf("account %q keeps no lots but has %s in lots", id, lotSums[id])
		}
	}
	return nil
}
