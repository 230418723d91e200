package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Limits on identifiers and request sizes; they keep rows indexable and
// requests bounded.
const (
	maxIDBytes   = 256
	maxPostings  = 1000
	maxMetadata  = 64
	maxMetaBytes = 4096
	maxBatch     = 10000
	reservedMeta = "ledger."
	reservedKey  = "ledger/" // keys of transactions the engine creates
)

// Representable time range: UnixNano covers 1678..2262; we accept a
// narrower, obviously sane range and keep times in UTC at microsecond
// precision, PostgreSQL's timestamptz resolution, so every store returns
// exactly what was posted.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func validID(id string) bool {
	return id != "" && len(id) <= maxIDBytes && utf8.ValidString(id)
}

func checkID(key, field, id string) error {
	if !validID(id) {
		return &FieldError{Key: key, Field: field, Reason: fmt.Sprintf("must be 1..%d bytes of UTF-8", maxIDBytes)}
	}
	return nil
}

// timeInRange reports whether t is zero or within minTime..maxTime.
func timeInRange(t time.Time) bool {
	return t.IsZero() || (!t.Before(minTime) && t.Before(maxTime))
}

// postingField names a field of a posting in errors, e.g. "Postings[3].To".
func postingField(i int, field string) string {
	return "Postings[" + strconv.Itoa(i) + "]." + field
}

func checkTime(key, field string, t time.Time) error {
	if !timeInRange(t) {
		return &FieldError{Key: key, Field: field, Reason: fmt.Sprintf("%s outside 1900..2200", t.Format(time.RFC3339))}
	}
	return nil
}

func checkAmount(key, field string, d decimal.Decimal) error {
	if d.Sign() <= 0 {
		return &FieldError{Key: key, Field: field, Reason: fmt.Sprintf("amount %s must be positive", d)}
	}
	return nil
}

// checkScale rejects amounts with more decimal places than the currency
// allows; 1.500 is fine at scale 2, 1.505 is not.
func checkScale(key, field string, d decimal.Decimal, cur Currency) error {
	if inScale(d, cur) {
		return nil
	}
	return &FieldError{Key: key, Field: field, Err: ErrScale,
		Reason: fmt.Sprintf("amount %s has more than %d decimal places (currency %s)", d, cur.Scale, cur.Code)}
}

func inScale(d decimal.Decimal, cur Currency) bool {
	return d.Exponent() >= -cur.Scale || d.Equal(d.Truncate(cur.Scale))
}

func checkMeta(key string, m map[string]string, allowReserved bool) error {
	if len(m) > maxMetadata {
		return &FieldError{Key: key, Field: "Metadata", Reason: fmt.Sprintf("more than %d entries", maxMetadata)}
	}
	for k, v := range m {
		if k == "" || len(k) > maxIDBytes || !utf8.ValidString(k) {
			return &FieldError{Key: key, Field: "Metadata", Reason: fmt.Sprintf("key %q must be 1..%d bytes of UTF-8", k, maxIDBytes)}
		}
		if len(v) > maxMetaBytes || !utf8.ValidString(v) {
			return &FieldError{Key: key, Field: "Metadata[" + k + "]", Reason: fmt.Sprintf("value must be at most %d bytes of UTF-8", maxMetaBytes)}
		}
		if !allowReserved && strings.HasPrefix(k, reservedMeta) {
			return &FieldError{Key: key, Field: "Metadata[" + k + "]", Reason: "keys starting \"ledger.\" are reserved"}
		}
	}
	return nil
}

func copyMeta(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// normalizer normalizes the transactions of a batch: their postings share
// one allocation and their canonical encodings one buffer.
type normalizer struct {
	postings []Posting // carved into each transaction's Postings
	buf      []byte    // canonical encoding scratch
}

// reserve sizes the posting slab for n postings.
func (n *normalizer) reserve(postings int) { n.postings = make([]Posting, 0, postings) }

// tx validates a caller's transaction and returns a private, normalized
// copy (times in UTC µs; metadata shared, see below) and its content hash.
func (n *normalizer) tx(tx Transaction, allowReserved bool) (Transaction, [32]byte, error) {
	var h [32]byte
	if err := checkID(tx.Key, "Key", tx.Key); err != nil {
		return tx, h, err
	}
	k := tx.Key
	if !allowReserved && strings.HasPrefix(k, reservedKey) {
		return tx, h, &FieldError{Key: k, Field: "Key", Reason: "keys starting \"ledger/\" are reserved for the ledger's own transactions"}
	}
	if len(tx.Postings) == 0 || len(tx.Postings) > maxPostings {
		return tx, h, &FieldError{Key: k, Field: "Postings", Reason: fmt.Sprintf("need 1..%d postings, got %d", maxPostings, len(tx.Postings))}
	}
	if !allowReserved && tx.Reverses != "" {
		return tx, h, &FieldError{Key: k, Field: "Reverses", Reason: "set only by Reverse"}
	}
	if tx.Seq != 0 || !tx.PostedAt.IsZero() || tx.ReversedBy != "" {
		return tx, h, &FieldError{Key: k, Field: "Seq/PostedAt/ReversedBy", Reason: "are set by the ledger and must be empty"}
	}
	if err := checkMeta(k, tx.Metadata, allowReserved); err != nil {
		return tx, h, err
	}
	if err := checkTime(k, "EffectiveAt", tx.EffectiveAt); err != nil {
		return tx, h, err
	}
	// Metadata is not copied: stores copy what they keep, and the returned
	// transaction may share the caller's own map.
	meta := tx.Metadata
	if len(meta) == 0 {
		meta = nil
	}
	out := Transaction{Key: k, Metadata: meta, EffectiveAt: normTime(tx.EffectiveAt), Reverses: tx.Reverses}
	if cap(n.postings)-len(n.postings) < len(tx.Postings) {
		n.postings = make([]Posting, 0, len(tx.Postings))
	}
	m := len(n.postings)
	n.postings = n.postings[:m+len(tx.Postings)]
	out.Postings = n.postings[m : m+len(tx.Postings) : m+len(tx.Postings)]
	// An ID equal to the one checked for the previous posting (a program
	// account paying posting after posting) is not checked again.
	var okFrom, okTo string
	for i, p := range tx.Postings {
		// Checks first, field names only when reporting.
		f := func(s string) string { return postingField(i, s) }
		if p.From != okFrom || i == 0 {
			if !validID(p.From) {
				return tx, h, checkID(k, f("From"), p.From)
			}
			okFrom = p.From
		}
		if p.To != okTo || i == 0 {
			if !validID(p.To) {
				return tx, h, checkID(k, f("To"), p.To)
			}
			okTo = p.To
		}
		if p.From == p.To {
			return tx, h, &FieldError{Key: k, Field: f("To"), Reason: "same account as From"}
		}
		if p.Amount.Sign() <= 0 {
			return tx, h, checkAmount(k, f("Amount"), p.Amount)
		}
		if !timeInRange(p.ExpiresAt) {
			return tx, h, checkTime(k, f("ExpiresAt"), p.ExpiresAt)
		}
		out.Postings[i] = Posting{From: p.From, To: p.To, Amount: p.Amount, ExpiresAt: normTime(p.ExpiresAt)}
	}
	h, n.buf = hashTx(&out, n.buf[:0])
	return out, h, nil
}

// canon builds the canonical, unambiguous byte encoding of request
// content: every field length-prefixed, maps in sorted key order, amounts
// in shortest form (decimal.String trims trailing zeros, so 1.5 and 1.50
// encode alike), times as UTC Unix microseconds.
type canon struct{ b []byte }

func (c *canon) str(s string) {
	c.b = binary.AppendUvarint(c.b, uint64(len(s)))
	c.b = append(c.b, s...)
}

func (c *canon) time(t time.Time) {
	if t.IsZero() {
		c.b = append(c.b, 0)
		return
	}
	c.b = append(c.b, 1)
	c.b = binary.AppendVarint(c.b, t.UnixMicro())
}

func (c *canon) dec(d decimal.Decimal) {
	var arr [48]byte
	s := appendDec(arr[:0], d)
	c.b = binary.AppendUvarint(c.b, uint64(len(s)))
	c.b = append(c.b, s...)
}

// appendDec appends d.String() (shortest form: no exponent, trailing
// fractional zeros trimmed, so 1.5 and 1.50 read alike) without allocating
// when the coefficient fits in an int64. Stored hashes depend on these
// bytes, so they must equal shopspring/decimal's String with its default
// settings (TrimTrailingZeros true, UseScientificNotation false) exactly;
// TestAppendDec checks that.
func appendDec(b []byte, d decimal.Decimal) []byte {
	e := d.Exponent()
	if d.NumDigits() > 18 || e > 18 || e < -18 {
		return append(b, d.String()...)
	}
	c := d.CoefficientInt64() // |c| < 10^18: no overflow negating it
	if c == 0 {
		return append(b, '0')
	}
	u := uint64(c)
	if c < 0 {
		b = append(b, '-')
		u = uint64(-c)
	}
	var arr [20]byte
	digits := strconv.AppendUint(arr[:0], u, 10)
	if e >= 0 {
		b = append(b, digits...)
		for range e {
			b = append(b, '0')
		}
		return b
	}
	frac := int(-e) // digits after the point
	var intPart, fracPart []byte
	lead := 0 // zeros between the point and fracPart
	if len(digits) > frac {
		intPart, fracPart = digits[:len(digits)-frac], digits[len(digits)-frac:]
	} else {
		intPart, lead, fracPart = []byte{'0'}, frac-len(digits), digits
	}
	for len(fracPart) > 0 && fracPart[len(fracPart)-1] == '0' {
		fracPart = fracPart[:len(fracPart)-1]
	}
	b = append(b, intPart...)
	if len(fracPart) == 0 {
		return b
	}
	b = append(b, '.')
	for range lead {
		b = append(b, '0')
	}
	return append(b, fracPart...)
}

func (c *canon) meta(m map[string]string) {
	var arr [8]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	c.b = binary.AppendUvarint(c.b, uint64(len(keys)))
	for _, k := range keys {
		c.str(k)
		c.str(m[k])
	}
}

// hashTx hashes tx's canonical content, encoding it into buf (returned for
// reuse).
func hashTx(tx *Transaction, buf []byte) ([32]byte, []byte) {
	c := canon{b: buf}
	c.str("tx/v1")
	c.str(tx.Key)
	c.b = binary.AppendUvarint(c.b, uint64(len(tx.Postings)))
	// A transaction usually credits one amount many times: an amount
	// identical to the previous one (same coefficient pointer and
	// exponent; decimals are immutable) reuses its encoding.
	var prev decimal.Decimal
	prevAt, prevEnd := -1, -1
	for _, p := range tx.Postings {
		c.str(p.From)
		c.str(p.To)
		if prevAt >= 0 && p.Amount == prev {
			c.b = append(c.b, c.b[prevAt:prevEnd]...)
		} else {
			prev, prevAt = p.Amount, len(c.b)
			c.dec(p.Amount)
			prevEnd = len(c.b)
		}
		c.time(p.ExpiresAt)
	}
	c.meta(tx.Metadata)
	c.time(tx.EffectiveAt)
	c.str(tx.Reverses)
	return sha256.Sum256(c.b), c.b
}

func hashReverse(key, orig string) [32]byte {
	c := canon{}
	c.str("reverse/v1")
	c.str(key)
	c.str(orig)
	return sha256.Sum256(c.b)
}

func hashHold(r *HoldRequest) [32]byte {
	c := canon{}
	c.str("hold/v1")
	c.str(r.ID)
	c.str(r.Account)
	c.str(r.To)
	c.dec(r.Amount)
	c.time(r.Deadline)
	c.meta(r.Metadata)
	return sha256.Sum256(c.b)
}

func hashCommit(holdID string, amount decimal.Decimal) [32]byte {
	c := canon{}
	c.str("hold-commit/v1")
	c.str(holdID)
	c.dec(amount)
	return sha256.Sum256(c.b)
}

func hashExpiry(lot LotID, amount decimal.Decimal) [32]byte {
	c := canon{}
	c.str("expire/v1")
	c.b = binary.AppendVarint(c.b, lot.Seq)
	c.b = binary.AppendVarint(c.b, int64(lot.Posting))
	c.dec(amount)
	return sha256.Sum256(c.b)
}
