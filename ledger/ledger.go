package ledger

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Ledger is the core interface every implementation provides. It is safe for
// concurrent use by many goroutines.
//
// Optional capabilities (batches, holds, expiry, reversal, award sums) are
// separate interfaces discovered by type assertion, as database/sql/driver
// does; the [*Engine] returned by [New] and [NewMemory] implements all of them:
//
//	if bp, ok := l.(ledger.BatchPoster); ok { ... }
type Ledger interface {
	// CreateAccount creates an account, or returns the existing one if an
	// account with that ID exists with the same kind, flags and currency
	// (ErrAccountConflict otherwise).
	CreateAccount(ctx context.Context, a Account) (Account, error)

	// Account returns an account by ID, or ErrNotFound.
	Account(ctx context.Context, id string) (Account, error)

	// Post records a transaction atomically and returns it as stored (Seq,
	// PostedAt and EffectiveAt filled in). A key seen before with the same
	// content returns the original transaction and changes nothing.
	Post(ctx context.Context, tx Transaction) (Transaction, error)

	// Balance returns the account's balance at asOf; a zero asOf means now.
	Balance(ctx context.Context, account string, asOf time.Time) (Balance, error)

	// History returns a page of the account's transactions ordered by Seq.
	History(ctx context.Context, q HistoryQuery) (HistoryPage, error)

	// Lookup returns the transaction with that key, or ErrNotFound.
	Lookup(ctx context.Context, key string) (Transaction, error)

	// Close releases resources; later operations fail with ErrClosed.
	// Closing twice is not an error.
	Close() error
}

// BatchPoster posts many transactions atomically: all of them take effect or
// none does (the error is a *BatchError naming the culprit). Transactions
// apply in order, so a later one may spend points credited by an earlier one.
// Keys already posted with the same content are returned as stored.
type BatchPoster interface {
	PostBatch(ctx context.Context, txs []Transaction) ([]Transaction, error)
}

// Holder provides two-phase holds (reserve now, commit or void later).
type Holder interface {
	// Hold reserves points. Reusing an ID with the same request returns the
	// existing hold (whatever its status); with a different request it fails
	// with ErrIdempotencyConflict.
	Hold(ctx context.Context, req HoldRequest) (Hold, error)

	// CommitHold transfers amount (0 < amount ≤ hold amount) from the hold's
	// account to its To account in a transaction with key "ledger/hold/<id>/commit",
	// and releases the rest. Committing again with the same amount returns
	// the same transaction; any other second resolution is ErrHoldResolved.
	// After the deadline it fails with ErrHoldExpired.
	CommitHold(ctx context.Context, id string, amount decimal.Decimal) (Transaction, error)

	// VoidHold releases the whole hold. Voiding a voided hold returns it
	// unchanged; a committed hold gives ErrHoldResolved, an expired one
	// ErrHoldExpired.
	VoidHold(ctx context.Context, id string) (Hold, error)

	// GetHold returns a hold by ID, or ErrNotFound. An open hold past its
	// deadline is reported with status HoldExpired.
	GetHold(ctx context.Context, id string) (Hold, error)
}

// Expirer moves expired lots and releases expired holds.
type Expirer interface {
	// SweepExpired releases open holds whose deadline is at or before now,
	// then moves every lot remainder whose expiry is at or before now to its
	// currency's expired account, one ordinary transaction per lot with the
	// deterministic key "ledger/expire/<lot seq>.<posting>/<cumulative expired>"
	// and EffectiveAt = the lot's expiry. Running it again, concurrently or
	// after a crash, never expires a point twice.
	SweepExpired(ctx context.Context, now time.Time) (SweepResult, error)
}

// Reverser posts corrections. Nothing is ever edited or deleted.
type Reverser interface {
	// Reverse posts, under key, the mirror of the transaction originalKey
	// (every posting with From and To swapped, same metadata and
	// EffectiveAt, Reverses = originalKey, Metadata[MetaReason]="reversal").
	// Points a reversed debit consumed go back to the lots they came from;
	// a reversed credit takes its own lot's remainder first. A transaction
	// is reversed at most once (ErrAlreadyReversed); a reversal cannot itself
	// be reversed. Reusing key for the same reversal returns it.
	Reverse(ctx context.Context, key, originalKey string) (Transaction, error)
}

// AwardSummer answers the rewards engine's cap question.
type AwardSummer interface {
	// AwardedSum returns credits minus debits to q.Account by transactions
	// with Metadata[q.TagKey] == q.TagValue and EffectiveAt in [q.From, q.To).
	// A reversal carries its original's metadata and EffectiveAt, so a
	// reversed award nets to zero.
	AwardedSum(ctx context.Context, q AwardQuery) (decimal.Decimal, error)
}
