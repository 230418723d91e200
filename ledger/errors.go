package ledger

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the ledger returns for a business reason
// wraps exactly one of these, so callers branch with [errors.Is]; the
// wrapping message says which key, account or field was at fault.
var (
	// ErrInsufficientFunds: a debit or hold would take an account that may
	// not go negative (FlagNoNegative) below zero available points.
	ErrInsufficientFunds = errors.New("ledger: insufficient funds")
	// ErrIdempotencyConflict: a key was reused with different content
	// (postings, metadata, effective time, reversal target or hold terms).
	ErrIdempotencyConflict = errors.New("ledger: idempotency key reused with different content")
	// ErrNotFound: no account, transaction or hold with that identifier.
	ErrNotFound = errors.New("ledger: not found")
	// ErrHoldResolved: the hold was already committed, voided or expired and
	// a different resolution was requested.
	ErrHoldResolved = errors.New("ledger: hold already resolved")
	// ErrHoldExpired: the hold's deadline has passed; it can no longer be
	// committed or voided (its points went back to the account).
	ErrHoldExpired = errors.New("ledger: hold expired")
	// ErrAlreadyReversed: the transaction was already reversed (a
	// transaction can be reversed once; reversals themselves cannot be
	// reversed, post a new transaction instead).
	ErrAlreadyReversed = errors.New("ledger: transaction already reversed")
	// ErrInvalidTransaction: a transaction, hold or query is malformed; the
	// wrapping [*FieldError] names the field.
	ErrInvalidTransaction = errors.New("ledger: invalid transaction")
	// ErrUnbalanced: a posting moves points between accounts of different
	// currencies, so the transaction would not sum to zero per currency.
	ErrUnbalanced = errors.New("ledger: postings do not balance per currency")
	// ErrScale: an amount has more decimal places than its currency's scale.
	// Amounts are never rounded silently.
	ErrScale = errors.New("ledger: amount exceeds currency scale")
	// ErrAccountKind: an operation is not allowed on the account's kind or
	// flags (for example an expiring credit to an account that keeps no lots).
	ErrAccountKind = errors.New("ledger: operation not allowed for account kind")
	// ErrAccountConflict: CreateAccount was called for an existing ID with a
	// different kind, flags or currency.
	ErrAccountConflict = errors.New("ledger: account exists with different attributes")
	// ErrUnknownCurrency: an account names a currency the ledger was not
	// configured with (see [WithCurrency]).
	ErrUnknownCurrency = errors.New("ledger: unknown currency")
	// ErrClosed: the ledger or store was closed.
	ErrClosed = errors.New("ledger: closed")
	// ErrStoreFull: the store cannot hold more records (the in-memory
	// store numbers its transactions with 31 bits). Nothing was written.
	ErrStoreFull = errors.New("ledger: store full")
	// ErrRetry is returned (wrapped) by a [Store] when a storage transaction
	// lost a race it can win on a second attempt (serialization failure,
	// deadlock, unique violation on a concurrently created account, SQLITE_BUSY).
	// The engine rolls back and re-runs the whole unit of work, a bounded
	// number of times; callers never see it unless retries are exhausted.
	ErrRetry = errors.New("ledger: storage conflict, retry")
)

// FieldError says which field of which request is invalid. It wraps
// [ErrInvalidTransaction] unless Err is set to a more specific sentinel
// (for example [ErrScale] or [ErrUnbalanced]).
type FieldError struct {
	Key    string // idempotency key or hold ID of the request, if any
	Field  string // e.g. "Postings[2].Amount", "EffectiveAt", "Deadline"
	Reason string // human-readable, e.g. "must be positive"
	Err    error  // sentinel; nil means ErrInvalidTransaction
}

// Error says which request and field are wrong, and why.
func (e *FieldError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("ledger: key %q: %s: %s", e.Key, e.Field, e.Reason)
	}
	return fmt.Sprintf("ledger: %s: %s", e.Field, e.Reason)
}

// Unwrap returns the sentinel the error stands for.
func (e *FieldError) Unwrap() error {
	if e.Err != nil {
		return e.Err
	}
	return ErrInvalidTransaction
}

// BatchError reports which transaction of a batch failed. The batch was
// rolled back entirely: none of its transactions took effect.
type BatchError struct {
	Index int    // position in the batch, from 0
	Key   string // that transaction's key
	Err   error
}

// Error names the failing transaction of the batch and the cause.
func (e *BatchError) Error() string {
	return fmt.Sprintf("ledger: batch transaction %d (key %q): %v", e.Index, e.Key, e.Err)
}

// Unwrap returns the cause, so errors.Is(err, ErrInsufficientFunds) works on
// a batch failure.
func (e *BatchError) Unwrap() error { return e.Err }
