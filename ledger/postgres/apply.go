package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/negawatt/negawatt/ledger"
)

// Apply implements [ledger.StoreTx]. Every kind of change is one set-based
// statement over unnest()ed array parameters, whatever the number of rows.
// They go to the server as one pipelined pgx.Batch (with BEGIN, if nothing
// was sent yet): a batch of 100 transactions costs one round trip here.
//
// COMMIT is deliberately not pipelined behind them, although that would
// save a round trip: once COMMIT is in the server's input it runs even if
// the client gives up (context cancelled while a write waits on a lock),
// and the caller would see an error for work that committed. Sent
// separately, COMMIT is never sent for a cancelled unit of work. Plain INSERTs (never
// upserts) make a duplicate key fail with 23505, reported as ErrRetry.
// UPDATEs check their row counts, so a change to a row that does not exist
// fails the unit of work instead of vanishing.
func (t *storeTx) Apply(ctx context.Context, c *ledger.Changes) error {
	if !t.write {
		return fmt.Errorf("postgres: apply in a read-only transaction")
	}
	// The Store's transactions force custom plans (see send), which
	// re-plans every statement on every execution. The INSERT ... SELECT
	// FROM unnest statements read no table, so their plan cannot go stale
	// as tables grow: they run with PostgreSQL's generic plan, made once
	// per connection, and planning no longer costs per unit of work.
	generic := false
	planMode := func(g bool) {
		if g != generic {
			mode := "force_custom_plan"
			if g {
				mode = "force_generic_plan"
			}
			t.pending.Queue("SET LOCAL plan_cache_mode = " + mode)
			t.pendingRows = append(t.pendingRows, wantRows{rows: -1})
			generic = g
		}
	}
	queue := func(rows int, sql string, args ...any) {
		planMode(strings.HasPrefix(sql, "INSERT"))
		t.pending.Queue(sql, args...)
		t.pendingRows = append(t.pendingRows, wantRows{rows: int64(rows)})
	}
	guarded := func(rows int, sql string, args ...any) {
		planMode(false)
		t.pending.Queue(sql, args...)
		t.pendingRows = append(t.pendingRows, wantRows{rows: int64(rows), guarded: true})
	}

	// Sequence numbers stored beyond what this transaction reserved come
	// from an import: keep later reservations above them.
	var hi int64
	for i := range c.Transactions {
		hi = max(hi, c.Transactions[i].Seq)
	}
	if hi > t.seqHi {
		queue(-1, `SELECT ledger_advance_seq($1)`, hi)
	}

	if n := len(c.NewAccounts); n > 0 {
		if err := queueNewAccounts(queue, c.NewAccounts); err != nil {
			return err
		}
	}
	if len(c.Accounts) > 0 {
		if err := t.queueAccounts(queue, c.Accounts); err != nil {
			return err
		}
	}
	if len(c.Transactions) > 0 {
		if err := queueTransactions(queue, c.Transactions); err != nil {
			return err
		}
	}
	if n := len(c.Reversed); n > 0 {
		keys := make([]string, n)
		by := make([]string, n)
		for i, r := range c.Reversed {
			keys[i], by[i] = r.Key, r.By
		}
		// Guarded: two writers reversing a transaction between accounts
		// that are not locked could both have read it unreversed.
		guarded(n, `UPDATE transactions t SET reversed_by = u.by
			FROM unnest($1::text[], $2::text[]) AS u(key, by) WHERE t.key = u.key AND t.reversed_by = ''`, keys, by)
	}
	if len(c.NewLots) > 0 {
		if err := queueNewLots(queue, c.NewLots); err != nil {
			return err
		}
	}
	if n := len(c.Lots); n > 0 {
		seqs := make([]int64, n)
		posts := make([]int32, n)
		rem := make([]string, n)
		exp := make([]string, n)
		for i, l := range c.Lots {
			seqs[i], posts[i], rem[i], exp[i] = l.ID.Seq, l.ID.Posting, l.Remaining.String(), l.Expired.String()
		}
		queue(n, `UPDATE lots l SET remaining = u.remaining::numeric, expired = u.expired::numeric
			FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[]) AS u(seq, posting, remaining, expired)
			WHERE l.seq = u.seq AND l.posting = u.posting`, seqs, posts, rem, exp)
	}
	if len(c.NewHolds) > 0 {
		if err := queueNewHolds(queue, c.NewHolds); err != nil {
			return err
		}
	}
	if n := len(c.Holds); n > 0 {
		ids := make([]string, n)
		status := make([]int16, n)
		committed := make([]string, n)
		commitKey := make([]string, n)
		resolved := make([]pgtype.Int8, n)
		reserved := make([]pgtype.Text, n)
		for i, h := range c.Holds {
			ids[i], status[i], committed[i], commitKey[i] = h.ID, int16(h.Status), h.Committed.String(), h.CommitKey
			var err error
			if resolved[i], err = toNS("hold "+h.ID+" ResolvedAt", h.ResolvedAt); err != nil {
				return fmt.Errorf("postgres: apply: %w", err)
			}
			if reserved[i], err = jsonText(encodeLotUses(h.Reserved)); err != nil {
				return fmt.Errorf("postgres: apply: hold %q: %w", h.ID, err)
			}
		}
		// The engine only ever updates an open hold, to resolve it. Guarded:
		// two writers resolving a hold on an account that is not locked
		// could both have read it open.
		guarded(n, `UPDATE holds h SET status = u.status, committed = u.committed::numeric,
				commit_key = u.commit_key, resolved_ns = u.resolved_ns, reserved = u.reserved::jsonb
			FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[], $5::bigint[], $6::text[])
				AS u(id, status, committed, commit_key, resolved_ns, reserved)
			WHERE h.id = u.id AND h.status = `+strconv.Itoa(int(ledger.HoldOpen)), ids, status, committed, commitKey, resolved, reserved)
	}
	if len(t.pendingRows) == 0 {
		return nil
	}
	planMode(false) // back to custom plans for whatever this transaction runs next
	br, err := t.send(ctx)
	if err != nil {
		return wrap("apply", err)
	}
	if err := br.Close(); err != nil {
		return wrap("apply", err)
	}
	// Later Applies of this transaction write their change against what
	// this one stored.
	for _, a := range c.NewAccounts {
		if a.Flags&ledger.FlagNoNegative == 0 {
			t.rememberUnlocked(a)
		}
	}
	for _, a := range c.Accounts {
		if a.Flags&ledger.FlagNoNegative == 0 {
			t.rememberUnlocked(a)
		}
	}
	return nil
}

// queueAccounts writes the new totals of existing accounts. Accounts with
// FlagNoNegative are locked (LockAccounts): their totals are overwritten.
// For the others the change since LockAccounts read them is added: posted
// to this transaction's stripe row (an upsert that locks only that row),
// held to accounts.held (holds on such accounts are rare; the UPDATE's row
// lock makes concurrent ones wait, never lose an update).
func (t *storeTx) queueAccounts(queue queueFunc, as []ledger.AccountState) error {
	var ids, posted, held []string
	var sIDs, sDelta, hIDs, hDelta []string
	for _, a := range as {
		if a.Flags&ledger.FlagNoNegative != 0 {
			ids, posted, held = append(ids, a.ID), append(posted, a.Posted.String()), append(held, a.Held.String())
			continue
		}
		was, ok := t.unlocked[a.ID]
		if !ok {
			return fmt.Errorf("postgres: apply: account %q was not read by LockAccounts in this transaction", a.ID)
		}
		if d := a.Posted.Sub(was.posted); !d.IsZero() {
			sIDs, sDelta = append(sIDs, a.ID), append(sDelta, d.String())
		}
		if d := a.Held.Sub(was.held); !d.IsZero() {
			hIDs, hDelta = append(hIDs, a.ID), append(hDelta, d.String())
		}
	}
	if n := len(ids); n > 0 {
		queue(n, `UPDATE accounts a SET posted = u.posted::numeric, held = u.held::numeric
			FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, posted, held)
			WHERE a.id = u.id`, ids, posted, held)
	}
	if n := len(hIDs); n > 0 {
		queue(n, `UPDATE accounts a SET held = a.held + u.delta::numeric
			FROM unnest($1::text[], $2::text[]) AS u(id, delta) WHERE a.id = u.id`, hIDs, hDelta)
	}
	if n := len(sIDs); n > 0 {
		// as is sorted by ID, so concurrent writers sharing a stripe lock
		// its rows in one order.
		queue(n, `INSERT INTO account_stripes (account, stripe, posted)
			SELECT u.account, $2, u.delta::numeric FROM unnest($1::text[], $3::text[]) AS u(account, delta)
			ON CONFLICT (account, stripe) DO UPDATE SET posted = account_stripes.posted + excluded.posted`,
			sIDs, t.stripe, sDelta)
	}
	return nil
}

func firstWord(ct pgconn.CommandTag) string {
	s := ct.String()
	for i := range len(s) {
		if s[i] == ' ' {
			return s[:i]
		}
	}
	return s
}

// jsonText turns an encoded JSON document into a nullable text parameter
// (cast to jsonb in SQL); nil stays NULL.
func jsonText(b []byte, err error) (pgtype.Text, error) {
	if err != nil || b == nil {
		return pgtype.Text{}, err
	}
	return pgtype.Text{String: string(b), Valid: true}, nil
}

type queueFunc func(rows int, sql string, args ...any)

func queueNewAccounts(queue queueFunc, as []ledger.AccountState) error {
	n := len(as)
	ids := make([]string, n)
	kinds := make([]int16, n)
	flags := make([]int32, n)
	curs := make([]string, n)
	created := make([]pgtype.Int8, n)
	posted := make([]string, n)
	held := make([]string, n)
	for i, a := range as {
		ids[i], kinds[i], flags[i], curs[i] = a.ID, int16(a.Kind), int32(a.Flags), a.Currency
		posted[i], held[i] = a.Posted.String(), a.Held.String()
		var err error
		if created[i], err = toNS("account "+a.ID+" CreatedAt", a.CreatedAt); err != nil {
			return fmt.Errorf("postgres: apply: %w", err)
		}
	}
	queue(n, `INSERT INTO accounts (id, kind, flags, currency, created_ns, posted, held)
		SELECT id, kind, flags, currency, created_ns, posted::numeric, held::numeric
		FROM unnest($1::text[], $2::smallint[], $3::integer[], $4::text[], $5::bigint[], $6::text[], $7::text[])
			AS u(id, kind, flags, currency, created_ns, posted, held)`,
		ids, kinds, flags, curs, created, posted, held)
	return nil
}

// queueTransactions inserts transactions with their postings folded into
// the per-row arrays, and the (account, seq) rows History reads for
// accounts not in a transaction's first posting.
// Transactions of one posting (every award) take a statement that builds
// the one-element arrays directly; the others group their postings into
// arrays server-side.
func queueTransactions(queue queueFunc, txs []ledger.TxRecord) error {
	var one, many txColumns
	var aAcct []string
	var aSeq []int64
	for i := range txs {
		r := &txs[i]
		cols := &many
		if len(r.Postings) == 1 {
			cols = &one
		}
		if err := cols.add(r); err != nil {
			return err
		}
		// The first posting's accounts are indexed on the transaction row
		// (migration 0004); tx_accounts lists the others, once each.
		if len(r.Postings) < 2 {
			continue
		}
		first := len(aAcct)
		touch := func(acct string) {
			if acct == r.Postings[0].From || acct == r.Postings[0].To {
				return
			}
			for _, a := range aAcct[first:] {
				if a == acct {
					return
				}
			}
			aAcct = append(aAcct, acct)
			aSeq = append(aSeq, r.Seq)
		}
		for _, p := range r.Postings[1:] {
			touch(p.From)
			touch(p.To)
		}
	}
	if n := len(one.seqs); n > 0 {
		queue(n, `INSERT INTO transactions (seq, key, hash, effective_ns, posted_ns, reverses, reversed_by,
				metadata, consumed, from_accts, to_accts, amounts, expires_ns)
			SELECT seq, key, hash, effective_ns, posted_ns, reverses, reversed_by,
				metadata::jsonb, consumed::jsonb,
				ARRAY[from_acct], ARRAY[to_acct], ARRAY[amount::numeric], ARRAY[expires_ns]
			FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::bigint[], $5::bigint[], $6::text[],
					$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[])
				AS t(seq, key, hash, effective_ns, posted_ns, reverses, reversed_by, metadata, consumed,
					from_acct, to_acct, amount, expires_ns)`,
			one.seqs, one.keys, one.hashes, one.effective, one.posted, one.reverses, one.reversedBy,
			one.meta, one.consumed, one.pFrom, one.pTo, one.pA, one.pExp)
	}
	if n := len(many.seqs); n > 0 {
		queue(n, `INSERT INTO transactions (seq, key, hash, effective_ns, posted_ns, reverses, reversed_by,
				metadata, consumed, from_accts, to_accts, amounts, expires_ns)
			SELECT t.seq, t.key, t.hash, t.effective_ns, t.posted_ns, t.reverses, t.reversed_by,
				t.metadata::jsonb, t.consumed::jsonb,
				coalesce(p.from_accts, '{}'), coalesce(p.to_accts, '{}'),
				coalesce(p.amounts, '{}'), coalesce(p.expires_ns, '{}')
			FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::bigint[], $5::bigint[], $6::text[],
					$7::text[], $8::text[], $9::text[])
				AS t(seq, key, hash, effective_ns, posted_ns, reverses, reversed_by, metadata, consumed)
			LEFT JOIN (
				SELECT x.seq,
					array_agg(x.from_acct ORDER BY x.idx) AS from_accts,
					array_agg(x.to_acct ORDER BY x.idx) AS to_accts,
					array_agg(x.amount::numeric ORDER BY x.idx) AS amounts,
					array_agg(x.expires_ns ORDER BY x.idx) AS expires_ns
				FROM unnest($10::bigint[], $11::integer[], $12::text[], $13::text[], $14::text[], $15::bigint[])
					AS x(seq, idx, from_acct, to_acct, amount, expires_ns)
				GROUP BY x.seq
			) p ON p.seq = t.seq`,
			many.seqs, many.keys, many.hashes, many.effective, many.posted, many.reverses, many.reversedBy,
			many.meta, many.consumed, many.pSeq, many.pIdx, many.pFrom, many.pTo, many.pA, many.pExp)
	}
	if len(aAcct) > 0 {
		queue(len(aAcct), `INSERT INTO tx_accounts (account, seq)
			SELECT * FROM unnest($1::text[], $2::bigint[])`, aAcct, aSeq)
	}
	return nil
}

// txColumns are transactions as parallel arrays (one element per
// transaction) and their postings as parallel arrays (one per posting,
// pSeq and pIdx naming the transaction and index).
type txColumns struct {
	seqs                 []int64
	keys                 []string
	hashes               [][]byte
	effective, posted    []pgtype.Int8
	reverses, reversedBy []string
	meta, consumed       []pgtype.Text
	pSeq                 []int64
	pIdx                 []int32
	pFrom, pTo, pA       []string
	pExp                 []pgtype.Int8
}

func (c *txColumns) add(r *ledger.TxRecord) error {
	effective, err := toNS("transaction "+r.Key+" EffectiveAt", r.EffectiveAt)
	if err != nil {
		return fmt.Errorf("postgres: apply: %w", err)
	}
	posted, err := toNS("transaction "+r.Key+" PostedAt", r.PostedAt)
	if err != nil {
		return fmt.Errorf("postgres: apply: %w", err)
	}
	meta, err := jsonText(encodeMeta(r.Metadata))
	if err != nil {
		return fmt.Errorf("postgres: apply: transaction %q metadata: %w", r.Key, err)
	}
	consumed, err := jsonText(encodeLotUses(r.Consumed))
	if err != nil {
		return fmt.Errorf("postgres: apply: transaction %q: %w", r.Key, err)
	}
	c.seqs, c.keys, c.hashes = append(c.seqs, r.Seq), append(c.keys, r.Key), append(c.hashes, r.Hash[:])
	c.effective, c.posted = append(c.effective, effective), append(c.posted, posted)
	c.reverses, c.reversedBy = append(c.reverses, r.Reverses), append(c.reversedBy, r.ReversedBy)
	c.meta, c.consumed = append(c.meta, meta), append(c.consumed, consumed)
	for j, p := range r.Postings {
		exp, err := toNS(fmt.Sprintf("transaction %s Postings[%d].ExpiresAt", r.Key, j), p.ExpiresAt)
		if err != nil {
			return fmt.Errorf("postgres: apply: %w", err)
		}
		c.pSeq, c.pIdx = append(c.pSeq, r.Seq), append(c.pIdx, int32(j))
		c.pFrom, c.pTo, c.pA, c.pExp = append(c.pFrom, p.From), append(c.pTo, p.To), append(c.pA, p.Amount.String()), append(c.pExp, exp)
	}
	return nil
}

func queueNewLots(queue queueFunc, ls []ledger.Lot) error {
	n := len(ls)
	seqs := make([]int64, n)
	posts := make([]int32, n)
	accts := make([]string, n)
	exp := make([]pgtype.Int8, n)
	amt := make([]string, n)
	rem := make([]string, n)
	expired := make([]string, n)
	for i, l := range ls {
		seqs[i], posts[i], accts[i] = l.ID.Seq, l.ID.Posting, l.Account
		amt[i], rem[i], expired[i] = l.Amount.String(), l.Remaining.String(), l.Expired.String()
		var err error
		if exp[i], err = toNS(fmt.Sprintf("lot %d.%d ExpiresAt", l.ID.Seq, l.ID.Posting), l.ExpiresAt); err != nil {
			return fmt.Errorf("postgres: apply: %w", err)
		}
	}
	queue(n, `INSERT INTO lots (seq, posting, account, expires_ns, amount, remaining, expired)
		SELECT seq, posting, account, expires_ns, amount::numeric, remaining::numeric, expired::numeric
		FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
			AS u(seq, posting, account, expires_ns, amount, remaining, expired)`,
		seqs, posts, accts, exp, amt, rem, expired)
	return nil
}

func queueNewHolds(queue queueFunc, hs []ledger.HoldRecord) error {
	n := len(hs)
	ids := make([]string, n)
	accts := make([]string, n)
	tos := make([]string, n)
	amt := make([]string, n)
	deadline := make([]pgtype.Int8, n)
	meta := make([]pgtype.Text, n)
	status := make([]int16, n)
	committed := make([]string, n)
	commitKey := make([]string, n)
	created := make([]pgtype.Int8, n)
	resolved := make([]pgtype.Int8, n)
	hashes := make([][]byte, n)
	reserved := make([]pgtype.Text, n)
	for i := range hs {
		h := &hs[i]
		ids[i], accts[i], tos[i], amt[i] = h.ID, h.Account, h.To, h.Amount.String()
		status[i], committed[i], commitKey[i], hashes[i] = int16(h.Status), h.Committed.String(), h.CommitKey, h.Hash[:]
		var err error
		if deadline[i], err = toNS("hold "+h.ID+" Deadline", h.Deadline); err != nil {
			return fmt.Errorf("postgres: apply: %w", err)
		}
		if created[i], err = toNS("hold "+h.ID+" CreatedAt", h.CreatedAt); err != nil {
			return fmt.Errorf("postgres: apply: %w", err)
		}
		if resolved[i], err = toNS("hold "+h.ID+" ResolvedAt", h.ResolvedAt); err != nil {
			return fmt.Errorf("postgres: apply: %w", err)
		}
		if meta[i], err = jsonText(encodeMeta(h.Metadata)); err != nil {
			return fmt.Errorf("postgres: apply: hold %q metadata: %w", h.ID, err)
		}
		if reserved[i], err = jsonText(encodeLotUses(h.Reserved)); err != nil {
			return fmt.Errorf("postgres: apply: hold %q: %w", h.ID, err)
		}
	}
	queue(n, `INSERT INTO holds (id, account, to_acct, amount, deadline_ns, metadata, status,
			committed, commit_key, created_ns, resolved_ns, hash, reserved)
		SELECT id, account, to_acct, amount::numeric, deadline_ns, metadata::jsonb, status,
			committed::numeric, commit_key, created_ns, resolved_ns, hash, reserved::jsonb
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::smallint[],
				$8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bytea[], $13::text[])
			AS u(id, account, to_acct, amount, deadline_ns, metadata, status,
				committed, commit_key, created_ns, resolved_ns, hash, reserved)`,
		ids, accts, tos, amt, deadline, meta, status, committed, commitKey, created, resolved, hashes, reserved)
	return nil
}
