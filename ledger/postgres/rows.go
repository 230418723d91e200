package postgres

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/ledger"
)

// Instants are stored as int64 nanoseconds since the Unix epoch, which
// covers 1677-09-21 to 2262-04-11; NULL stands for the zero time.Time.
var (
	minStorable = time.Unix(0, math.MinInt64)
	maxStorable = time.Unix(0, math.MaxInt64)
)

// ErrTimeRange is wrapped by Apply's error when an instant to be stored is
// outside the range int64 nanoseconds since the Unix epoch can hold.
var ErrTimeRange = fmt.Errorf("postgres: instant outside storable range %s..%s",
	minStorable.UTC().Format(time.RFC3339), maxStorable.UTC().Format(time.RFC3339))

// toNS converts an instant to be stored; the zero time becomes NULL.
func toNS(field string, t time.Time) (pgtype.Int8, error) {
	if t.IsZero() {
		return pgtype.Int8{}, nil
	}
	if t.Before(minStorable) || t.After(maxStorable) {
		return pgtype.Int8{}, fmt.Errorf("%s %s: %w", field, t.Format(time.RFC3339Nano), ErrTimeRange)
	}
	return pgtype.Int8{Int64: t.UnixNano(), Valid: true}, nil
}

// clampNS converts a query bound. Bounds beyond the storable range compare
// like the range's ends, because every stored instant lies within it.
func clampNS(t time.Time) int64 {
	switch {
	case t.Before(minStorable):
		return math.MinInt64
	case t.After(maxStorable):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// fromNS is the inverse of toNS; instants come back in UTC.
func fromNS(v pgtype.Int8) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(0, v.Int64).UTC()
}

func parseDec(field, s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("postgres: stored %s %q: %w", field, s, err)
	}
	return d, nil
}

// lotUseJSON is the stored form of a ledger.LotUse (short names: the
// consumed/reserved columns repeat them for every lot a debit touches).
type lotUseJSON struct {
	Posting int32  `json:"p"`
	Seq     int64  `json:"s"`
	Lot     int32  `json:"l"`
	Amount  string `json:"a"`
}

func encodeLotUses(us []ledger.LotUse) ([]byte, error) {
	if len(us) == 0 {
		return nil, nil
	}
	js := make([]lotUseJSON, len(us))
	for i, u := range us {
		js[i] = lotUseJSON{Posting: u.Posting, Seq: u.Lot.Seq, Lot: u.Lot.Posting, Amount: u.Amount.String()}
	}
	return json.Marshal(js)
}

func decodeLotUses(b []byte) ([]ledger.LotUse, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var js []lotUseJSON
	if err := json.Unmarshal(b, &js); err != nil {
		return nil, fmt.Errorf("postgres: stored lot uses: %w", err)
	}
	if len(js) == 0 {
		return nil, nil
	}
	us := make([]ledger.LotUse, len(js))
	for i, j := range js {
		a, err := parseDec("lot use amount", j.Amount)
		if err != nil {
			return nil, err
		}
		us[i] = ledger.LotUse{Posting: j.Posting, Lot: ledger.LotID{Seq: j.Seq, Posting: j.Lot}, Amount: a}
	}
	return us, nil
}

// encodeMeta stores nil for an empty map, so it reads back as nil.
func encodeMeta(m map[string]string) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m)
}

func decodeMeta(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("postgres: stored metadata: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// collect reads every row with scan and closes rows.
func collect[T any](rows pgx.Rows, scan func(pgx.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanAccount(rows pgx.Rows) (ledger.AccountState, error) {
	var (
		a              ledger.AccountState
		kind           int16
		flags          int32
		created        pgtype.Int8
		posted, heldSt string
	)
	if err := rows.Scan(&a.ID, &kind, &flags, &a.Currency, &created, &posted, &heldSt); err != nil {
		return a, err
	}
	a.Kind = ledger.AccountKind(kind)
	a.Flags = ledger.AccountFlags(flags)
	a.CreatedAt = fromNS(created)
	var err error
	if a.Posted, err = parseDec("posted", posted); err != nil {
		return a, err
	}
	a.Held, err = parseDec("held", heldSt)
	return a, err
}

func scanTx(rows pgx.Rows) (ledger.TxRecord, error) {
	var (
		r                 ledger.TxRecord
		hash, meta, cons  []byte
		effective, posted pgtype.Int8
		froms, tos, amts  []string
		expires           []pgtype.Int8
	)
	if err := rows.Scan(&r.Seq, &r.Key, &hash, &effective, &posted, &r.Reverses, &r.ReversedBy,
		&meta, &cons, &froms, &tos, &amts, &expires); err != nil {
		return r, err
	}
	if len(hash) != len(r.Hash) {
		return r, fmt.Errorf("postgres: transaction %q: stored hash has %d bytes, want %d", r.Key, len(hash), len(r.Hash))
	}
	copy(r.Hash[:], hash)
	r.EffectiveAt = fromNS(effective)
	r.PostedAt = fromNS(posted)
	var err error
	if r.Metadata, err = decodeMeta(meta); err != nil {
		return r, err
	}
	if r.Consumed, err = decodeLotUses(cons); err != nil {
		return r, err
	}
	if len(tos) != len(froms) || len(amts) != len(froms) || len(expires) != len(froms) {
		return r, fmt.Errorf("postgres: transaction %q: posting arrays of unequal length", r.Key)
	}
	r.Postings = make([]ledger.Posting, len(froms))
	for i := range froms {
		a, err := parseDec("amount", amts[i])
		if err != nil {
			return r, err
		}
		r.Postings[i] = ledger.Posting{From: froms[i], To: tos[i], Amount: a, ExpiresAt: fromNS(expires[i])}
	}
	return r, nil
}

func scanLot(rows pgx.Rows) (ledger.Lot, error) {
	var (
		l                   ledger.Lot
		expires             pgtype.Int8
		amt, rem, expiredSt string
	)
	if err := rows.Scan(&l.ID.Seq, &l.ID.Posting, &l.Account, &expires, &amt, &rem, &expiredSt); err != nil {
		return l, err
	}
	l.ExpiresAt = fromNS(expires)
	var err error
	if l.Amount, err = parseDec("lot amount", amt); err != nil {
		return l, err
	}
	if l.Remaining, err = parseDec("lot remaining", rem); err != nil {
		return l, err
	}
	l.Expired, err = parseDec("lot expired", expiredSt)
	return l, err
}

func scanHold(rows pgx.Rows) (ledger.HoldRecord, error) {
	var (
		h                           ledger.HoldRecord
		amt, committed              string
		deadline, created, resolved pgtype.Int8
		meta, hash, reserved        []byte
		status                      int16
	)
	if err := rows.Scan(&h.ID, &h.Account, &h.To, &amt, &deadline, &meta, &status,
		&committed, &h.CommitKey, &created, &resolved, &hash, &reserved); err != nil {
		return h, err
	}
	if len(hash) != len(h.Hash) {
		return h, fmt.Errorf("postgres: hold %q: stored hash has %d bytes, want %d", h.ID, len(hash), len(h.Hash))
	}
	copy(h.Hash[:], hash)
	h.Status = ledger.HoldStatus(status)
	h.Deadline = fromNS(deadline)
	h.CreatedAt = fromNS(created)
	h.ResolvedAt = fromNS(resolved)
	var err error
	if h.Amount, err = parseDec("hold amount", amt); err != nil {
		return h, err
	}
	if h.Committed, err = parseDec("hold committed", committed); err != nil {
		return h, err
	}
	if h.Metadata, err = decodeMeta(meta); err != nil {
		return h, err
	}
	h.Reserved, err = decodeLotUses(reserved)
	return h, err
}
