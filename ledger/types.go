package ledger

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Currency is a unit of account with a fixed number of decimal places.
// Amounts with more places than Scale are rejected with [ErrScale].
type Currency struct {
	Code  string // e.g. "points"
	Scale int32  // decimal places allowed, 0..18
}

// Points is the default currency: loyalty points with two decimal places.
var Points = Currency{Code: "points", Scale: 2}

// AccountKind says what an account stands for. Kinds other than
// KindCustomer are system accounts of a program.
type AccountKind uint8

// Account kinds. The zero value is invalid so a forgotten kind is caught.
const (
	KindCustomer   AccountKind = iota + 1 // a customer's points wallet
	KindIssuance                          // a program's issuance (the liability it books); goes negative as it awards
	KindRedeemed                          // where redeemed points go (bill credits, gift cards)
	KindExpired                           // where expired lot remainders go (see Expirer)
	KindAdjustment                        // manual corrections and goodwill
	KindSystem                            // any other system account
)

var kindNames = [...]string{"", "customer", "issuance", "redeemed", "expired", "adjustment", "system"}

// String returns the lower-case name ("customer", "issuance", ...).
func (k AccountKind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("AccountKind(%d)", uint8(k))
}

// ParseAccountKind is the inverse of AccountKind.String.
func ParseAccountKind(s string) (AccountKind, error) {
	for i, n := range kindNames {
		if i > 0 && n == s {
			return AccountKind(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown account kind %q", ErrInvalidTransaction, s)
}

// Valid reports whether k is one of the declared kinds.
func (k AccountKind) Valid() bool { return k >= KindCustomer && k <= KindSystem }

// AccountFlags modify an account's rules.
type AccountFlags uint32

const (
	// FlagNoNegative: the account's available balance may never go below
	// zero; debits and holds that would do so fail with ErrInsufficientFunds.
	// Only such accounts keep lots (and so may receive expiring credits):
	// every credit to them opens a lot, every debit consumes lots FIFO by
	// expiry. Customer accounts always carry this flag.
	FlagNoNegative AccountFlags = 1 << iota
)

// String lists the set flags, e.g. "no-negative", or "" for none.
func (f AccountFlags) String() string {
	if f&FlagNoNegative != 0 {
		return "no-negative"
	}
	return ""
}

// Account is a wallet of one currency.
//
// Accounts are created explicitly with [Ledger.CreateAccount] (idempotent
// when the attributes are identical). A ledger built with [WithAutoCreate]
// also creates unknown accounts on first use from a rule; without it a
// posting to an unknown account fails with [ErrNotFound]. The expired
// account of each currency (see [WithExpiredAccount]) is created by the
// ledger when first needed.
type Account struct {
	ID       string       // caller-chosen, unique, 1..256 bytes of UTF-8
	Kind     AccountKind  // required
	Flags    AccountFlags // KindCustomer always gets FlagNoNegative
	Currency string       // currency code; "" means the ledger's default currency

	CreatedAt time.Time // set by the ledger
}

// Posting moves Amount from one account to another (a debit of From and a
// credit of To), so every posting, and hence every transaction, sums to zero
// in its currency. Both accounts must have the same currency.
type Posting struct {
	From   string          // debited account ID
	To     string          // credited account ID
	Amount decimal.Decimal // > 0, at most the currency's scale in decimal places

	// ExpiresAt, if not zero, makes the credited points a lot that expires at
	// this instant: unspent remainders are moved to the expired account by
	// Expirer.SweepExpired and are not available from this instant on. Only
	// valid when To has FlagNoNegative.
	ExpiresAt time.Time
}

// Transaction is an atomic set of postings with an idempotency key.
//
// Posting the same Key again with the same content returns the original
// transaction and has no effect; with different content it fails with
// [ErrIdempotencyConflict]. Content is Postings (amounts compared at the
// currency's scale, so 1.5 and 1.50 are equal), Metadata, EffectiveAt as
// given (zero stays zero for the comparison) and Reverses.
type Transaction struct {
	Key      string            // idempotency key, caller-chosen, 1..256 bytes; "ledger/..." is reserved
	Postings []Posting         // at least one
	Metadata map[string]string // e.g. "rule", "customer", "fact", "program"; keys starting "ledger." are reserved

	// EffectiveAt is the business time of the transaction (for an award,
	// the start of the savings fact it pays for). AwardedSum windows use it.
	// Zero means the ledger clock's time of posting.
	EffectiveAt time.Time

	// Reverses is the key of the transaction this one reverses. Set by
	// Reverser.Reverse; a Transaction passed to Post must leave it empty.
	Reverses string

	// Set by the ledger.
	Seq        int64     // position in the ledger's total order, increasing (gaps allowed)
	PostedAt   time.Time // ledger clock when it was recorded
	ReversedBy string    // key of the reversing transaction, if reversed
}

// Metadata keys the ledger writes on the transactions it creates.
const (
	MetaReason = "ledger.reason" // "expiry", "hold-commit" or "reversal"
	MetaLot    = "ledger.lot"    // expiry: the lot expired, "seq.posting"
	MetaHold   = "ledger.hold"   // hold-commit: the hold ID
)

// Expiry is an amount of points that expire at an instant.
type Expiry struct {
	At     time.Time
	Amount decimal.Decimal
}

// Balance is an account's position at an instant.
//
// Posted = Available + Held + Expired. Posted is the sum of the account's
// postings (credits minus debits) recorded at or before AsOf.
type Balance struct {
	Account  string
	Currency string
	AsOf     time.Time

	Posted    decimal.Decimal // credits − debits
	Available decimal.Decimal // spendable now: Posted − Held − Expired
	Held      decimal.Decimal // reserved by open holds whose deadline is after AsOf
	// Expired is points in lots whose expiry is at or before AsOf that the
	// sweep has not yet moved to the expired account. They are not spendable.
	Expired decimal.Decimal

	// PendingExpiry is the part of Available that carries an expiry after AsOf.
	PendingExpiry decimal.Decimal
	// NextExpiries lists the earliest upcoming expiries, grouped by instant,
	// earliest first (at most the ledger's WithExpiryPreview count).
	NextExpiries []Expiry
}

// HoldStatus is the state of a hold.
type HoldStatus uint8

// Hold states. A hold leaves HoldOpen once and never returns.
const (
	HoldOpen      HoldStatus = iota + 1
	HoldCommitted            // all or part committed; the rest released
	HoldVoided               // released by the caller
	HoldExpired              // released because the deadline passed
)

var holdStatusNames = [...]string{"", "open", "committed", "voided", "expired"}

// String returns "open", "committed", "voided" or "expired".
func (s HoldStatus) String() string {
	if s >= HoldOpen && s <= HoldExpired {
		return holdStatusNames[s]
	}
	return fmt.Sprintf("HoldStatus(%d)", uint8(s))
}

// HoldRequest asks to reserve Amount of Account's available points for a
// later transfer to To, until Deadline.
type HoldRequest struct {
	ID       string          // idempotency key and the hold's ID, caller-chosen
	Account  string          // the account whose points are reserved
	To       string          // the account a commit credits (e.g. a redeemed account)
	Amount   decimal.Decimal // > 0, within the currency's scale
	Deadline time.Time       // required; the hold expires at this instant
	Metadata map[string]string
}

// Hold is a two-phase reservation: Account's points are reserved (not
// available, not expiring) until the hold is committed (fully or partly,
// posting a transaction Account → To), voided, or expires at Deadline.
type Hold struct {
	HoldRequest
	Status     HoldStatus
	Committed  decimal.Decimal // amount committed (zero unless HoldCommitted)
	CommitKey  string          // key of the commit transaction
	CreatedAt  time.Time
	ResolvedAt time.Time // zero while open
}

// HistoryQuery selects a page of an account's transactions.
type HistoryQuery struct {
	Account string
	Cursor  string // from a previous HistoryPage.Next; "" starts at the beginning
	Limit   int    // 1..1000; 0 means 100
	// NewestFirst orders by descending Seq instead of ascending. A cursor
	// remembers its direction; mixing it with the other order is an error.
	NewestFirst bool
}

// HistoryPage is one page of history. Next is "" on the last page.
// Pagination is stable: transactions are ordered by Seq, and pages never
// repeat a transaction. On an account with [FlagNoNegative] (every
// customer account) a transaction always gets a higher Seq than those
// committed before it on that account, so pages never skip one either. An
// account that may go negative (issuance, redeemed, expired) is not locked
// by writers on a store that stripes its totals (ledger/postgres): there a
// transaction may commit after one with a higher Seq, and a forward pager
// that already passed its Seq misses it; read such accounts' history
// newest first from a fresh cursor, or export, for a complete list.
type HistoryPage struct {
	Transactions []Transaction
	Next         string
}

// AwardQuery asks how many points were credited to Account by transactions
// whose Metadata[TagKey] == TagValue and whose EffectiveAt is in [From, To).
type AwardQuery struct {
	Account  string
	TagKey   string // e.g. "rule"
	TagValue string // e.g. the rule ID
	From, To time.Time
}

// SweepResult reports what an expiry sweep did.
type SweepResult struct {
	Transactions []Transaction // one per expired lot, to the expired account
	HoldsExpired []string      // IDs of holds released because their deadline passed
}
