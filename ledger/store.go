package ledger

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Store is the storage driver the engine ([New]) runs on. It persists rows
// and answers simple indexed queries; it contains no business rules. All
// validation, double entry, idempotency, lot consumption, holds, expiry and
// reversal live once in the engine, so every adapter behaves identically
// and passes ledgertest.Run.
//
// A unit of work is: Begin → reads (LockAccounts first for writes) →
// ReserveSeq → Apply → Commit. A batch of transactions is one unit of work,
// so an adapter commits it with one storage transaction and can send the
// writes of Apply as one round trip (e.g. a pgx.Batch or multi-row INSERTs).
//
// Stores must be safe for concurrent use; each StoreTx is used by one
// goroutine at a time.
type Store interface {
	// Begin starts a storage transaction. A write transaction must be
	// isolated from concurrent writers on the accounts it locks (see
	// StoreTx.LockAccounts); SQLite may simply serialise writers (BEGIN
	// IMMEDIATE). A read-only transaction sees a consistent snapshot.
	Begin(ctx context.Context, write bool) (StoreTx, error)

	// Close releases the store. The engine calls it from Ledger.Close.
	Close() error
}

// StoreTx is one storage transaction. Methods take the context that was
// current for the operation; if it is cancelled the adapter returns its
// error and the engine rolls back. Any error returned for a transient race
// (serialization failure, deadlock, busy, unique violation when two
// writers create the same account) should wrap [ErrRetry]: the engine then
// rolls back and re-runs the unit of work.
//
// Slices passed in are owned by the engine; adapters must copy what they keep.
// Returned records are owned by the engine.
type StoreTx interface {
	// Commit makes every Apply of this transaction durable atomically.
	Commit() error
	// Rollback discards it. The engine calls exactly one of Commit and
	// Rollback per transaction.
	Rollback() error

	// LockAccounts returns the stored state of the accounts with these IDs
	// (sorted ascending, unique), omitting IDs that do not exist, in the
	// same order. In a write transaction it also locks them until
	// Commit/Rollback (PostgreSQL: SELECT ... ORDER BY id FOR UPDATE); the
	// engine locks every account a unit of work touches in one call, in
	// sorted order, so concurrent writers cannot deadlock.
	LockAccounts(ctx context.Context, ids []string) ([]AccountState, error)

	// Transactions returns the stored transactions with these keys (unique),
	// omitting unknown keys, in any order. Used for idempotency and Lookup.
	Transactions(ctx context.Context, keys []string) ([]TxRecord, error)

	// OpenLots returns the lots of these accounts (sorted, unique IDs) whose
	// Remaining > 0, in any order (the engine sorts them into consumption
	// order). Lots of locked accounts cannot change under the caller.
	OpenLots(ctx context.Context, accounts []string) ([]Lot, error)

	// Lots returns the lots with these IDs, even when Remaining is zero,
	// omitting unknown IDs. Used to give reversed debits back to their lots.
	Lots(ctx context.Context, ids []LotID) ([]Lot, error)

	// Holds returns the holds with these IDs, omitting unknown ones.
	Holds(ctx context.Context, ids []string) ([]HoldRecord, error)

	// OpenHolds returns the holds of the account whose Status is HoldOpen,
	// in any order.
	OpenHolds(ctx context.Context, account string) ([]HoldRecord, error)

	// ExpiredLots returns up to limit lots with Remaining > 0 and a non-zero
	// ExpiresAt ≤ at, ordered by (ExpiresAt, ID). Index: (expires_at) WHERE
	// remaining > 0.
	ExpiredLots(ctx context.Context, at time.Time, limit int) ([]Lot, error)

	// ExpiredHolds returns up to limit holds with Status HoldOpen and
	// Deadline ≤ at, ordered by (Deadline, ID).
	ExpiredHolds(ctx context.Context, at time.Time, limit int) ([]HoldRecord, error)

	// History returns up to limit transactions that have a posting from or
	// to account. Ascending (desc false): Seq > cursor, by Seq ascending.
	// Descending: Seq < cursor, by Seq descending, where cursor 0 means no
	// bound (start from the newest).
	History(ctx context.Context, account string, cursor int64, desc bool, limit int) ([]TxRecord, error)

	// SumTagged returns the sums of the amounts credited to and debited from
	// account by postings of transactions with Metadata[key] == value and
	// from ≤ EffectiveAt < to. Index: (account, tag key, tag value,
	// effective_at) on a postings×tags relation, or equivalent.
	SumTagged(ctx context.Context, account, key, value string, from, to time.Time) (credits, debits decimal.Decimal, err error)

	// ReserveSeq reserves n consecutive sequence numbers and returns the
	// first. Numbers must exceed every Seq ever stored (imported ones
	// included) and every number reserved before; gaps (rolled back
	// reservations) are allowed. Within one account the engine calls it only
	// after LockAccounts, so Seq order on an account is commit order.
	ReserveSeq(ctx context.Context, n int) (int64, error)

	// Apply persists a set of changes computed by the engine. Inserts must
	// fail (wrapping ErrRetry) on a duplicate primary key rather than
	// overwrite. The engine calls it once per unit of work, usually;
	// adapters should write it with as few round trips as possible.
	Apply(ctx context.Context, c *Changes) error

	// ScanAccounts, ScanTransactions, ScanLots and ScanHolds page through
	// everything stored, for export and invariant checks.
	//
	// ScanAccounts returns up to limit accounts with ID > after, by ID.
	ScanAccounts(ctx context.Context, after string, limit int) ([]AccountState, error)
	// ScanTransactions returns up to limit transactions with Seq > after, by Seq.
	ScanTransactions(ctx context.Context, after int64, limit int) ([]TxRecord, error)
	// ScanLots returns up to limit lots with ID > after (by Seq, then Posting).
	ScanLots(ctx context.Context, after LotID, limit int) ([]Lot, error)
	// ScanHolds returns up to limit holds with ID > after, by ID.
	ScanHolds(ctx context.Context, after string, limit int) ([]HoldRecord, error)
}

// ResolvedHoldLister is an optional [StoreTx] capability. Balance at a past
// instant needs the account's holds that were resolved after that instant;
// a StoreTx without this method makes the engine page through ScanHolds
// instead (correct, but it reads every hold).
type ResolvedHoldLister interface {
	// ResolvedHolds returns the holds of account whose Status is not
	// HoldOpen and whose ResolvedAt is after the given instant, in any
	// order. Index: (account, resolved_at).
	ResolvedHolds(ctx context.Context, account string, after time.Time) ([]HoldRecord, error)
}

// AccountSnapshotter is an optional [Store] capability for the hottest
// read, a customer's current balance. AccountSnapshot returns the account
// with its open holds (Status HoldOpen) and its open lots (Remaining > 0),
// read in one consistent snapshot outside any unit of work, in as few round
// trips as the store allows (PostgreSQL: one). found is false, with no
// error, when the account does not exist. The engine uses it for balances
// as of now or later when no open hold is due; every other read goes
// through Begin.
type AccountSnapshotter interface {
	AccountSnapshot(ctx context.Context, id string) (a AccountState, holds []HoldRecord, lots []Lot, found bool, err error)
}

// TransactionReader is an optional [Store] capability: the stored
// transaction with this key, read in one statement outside any unit of work
// (PostgreSQL: one round trip, no BEGIN or COMMIT). found is false, with no
// error, for an unknown key. Lookup uses it; an error wrapping [ErrRetry]
// makes Lookup fall back to a unit of work.
type TransactionReader interface {
	Transaction(ctx context.Context, key string) (rec TxRecord, found bool, err error)
}

// AccountState is an account with its running totals, as stored.
type AccountState struct {
	Account
	Posted decimal.Decimal // sum of postings: credits − debits
	Held   decimal.Decimal // sum of open holds' amounts
}

// TxRecord is a stored transaction: its public form plus what the engine
// needs to check idempotency and reverse it exactly.
type TxRecord struct {
	Transaction
	// Hash is the SHA-256 of the canonical content of the request that
	// created it (see Transaction); an equal hash means an idempotent retry.
	Hash [32]byte
	// Consumed lists, for reversal, the lots each debit of a lot-keeping
	// account drew from. Adapters store it opaquely (e.g. a JSON column).
	Consumed []LotUse
}

// LotID identifies a lot by the transaction Seq and posting index that
// created it. The zero LotID sorts before every lot.
type LotID struct {
	Seq     int64
	Posting int32
}

// Less orders lots by creation.
func (a LotID) Less(b LotID) bool {
	return a.Seq < b.Seq || (a.Seq == b.Seq && a.Posting < b.Posting)
}

// Lot is a credit to a lot-keeping (FlagNoNegative) account that debits
// consume: oldest expiry first, lots without expiry last, then by ID.
type Lot struct {
	ID        LotID
	Account   string
	ExpiresAt time.Time       // zero: never expires
	Amount    decimal.Decimal // credited
	Remaining decimal.Decimal // not yet consumed, reserved or expired; index WHERE remaining > 0
	Expired   decimal.Decimal // cumulative amount moved to the expired account
}

// LotUse is an amount drawn from a lot by a posting of a transaction or
// reserved by a hold.
type LotUse struct {
	Posting int32 // index of the debit posting in its transaction (0 for holds)
	Lot     LotID
	Amount  decimal.Decimal
}

// HoldRecord is a stored hold: the public form plus the request hash and
// the lots the hold reserved (given back on void/expiry).
type HoldRecord struct {
	Hold
	Hash     [32]byte
	Reserved []LotUse
}

// Changes is everything one unit of work writes. Each slice may be empty.
// The adapter applies them all in its current storage transaction.
type Changes struct {
	NewAccounts  []AccountState // insert (with their initial totals)
	Accounts     []AccountState // update Posted and Held of existing accounts
	Transactions []TxRecord     // insert, with their postings, metadata and Consumed
	Reversed     []Reversal     // set ReversedBy on stored transactions
	NewLots      []Lot          // insert
	Lots         []Lot          // update Remaining and Expired of existing lots
	NewHolds     []HoldRecord   // insert
	Holds        []HoldRecord   // update Status, Committed, CommitKey, ResolvedAt, Reserved

	// posted is only filled for a store that implements accountLocker:
	// then it has one element per Accounts element and, where ok, holds
	// that account's new Posted (left zero in Accounts). Other stores
	// never see it.
	posted []unitTotal
	// ph holds, for an accountLocker store, the store's own From and To
	// accounts of the postings of Transactions: those of Transactions[i]
	// start at ph[phOff[i]] (−1: none). apply checks each one's ID and
	// looks up any that is missing or does not match.
	ph    []*memAccount
	phOff []int
}

// Reversal marks the stored transaction Key as reversed by By.
type Reversal struct {
	Key string
	By  string
}

// Reset empties c for reuse, keeping capacity.
func (c *Changes) Reset() {
	// Drop the store's accounts: a pooled unit must not keep them alive.
	clear(c.posted)
	clear(c.ph)
	*c = Changes{
		NewAccounts:  c.NewAccounts[:0],
		Accounts:     c.Accounts[:0],
		Transactions: c.Transactions[:0],
		Reversed:     c.Reversed[:0],
		NewLots:      c.NewLots[:0],
		Lots:         c.Lots[:0],
		NewHolds:     c.NewHolds[:0],
		Holds:        c.Holds[:0],
		posted:       c.posted[:0],
		ph:           c.ph[:0],
		phOff:        c.phOff[:0],
	}
}
