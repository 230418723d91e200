// Package ledger is a double-entry points ledger that never loses or
// double-counts a point.
//
// A [Transaction] is a set of [Posting]s, each moving a positive amount from
// one account to another of the same currency, so every transaction sums to
// zero per currency. Amounts are [decimal.Decimal] with a fixed scale per
// [Currency]; more decimal places than the scale is an error, never a
// rounding. Every transaction carries a caller-chosen idempotency key.
//
// The package is split the way database/sql is:
//
//   - [Ledger] is the small core interface (accounts, Post, Balance, History,
//     Lookup); [BatchPoster], [Holder], [Expirer], [Reverser] and
//     [AwardSummer] are optional capabilities found by type assertion.
//   - [Engine], built by [New] over a [Store], implements all of them. Every
//     rule (validation, idempotency, expiring lots consumed FIFO by expiry,
//     two-phase holds, expiry sweeps, reversal, award sums) lives in the
//     engine once; a Store only persists rows. The adapters
//     ledger/sqlite and ledger/postgres are Stores.
//   - [NewMemory] is the in-memory reference implementation.
//   - Package ledger/ledgertest is the conformance suite any implementation
//     runs with ledgertest.Run.
//
// # Lots and expiry
//
// Accounts with [FlagNoNegative] (all customer accounts) keep lots: every
// credit opens a lot, optionally expiring at [Posting].ExpiresAt. Debits and
// holds consume lots oldest-expiry first (lots without expiry last, then
// creation order) and skip lots already expired. [Expirer.SweepExpired]
// moves expired remainders to the currency's expired account with ordinary
// transactions. Points of expired but unswept lots are reported in
// [Balance].Expired and are not available.
//
// # Holds
//
// A hold reserves points (taking them from lots, so held points cannot
// expire); committing posts a transaction for all or part of the hold and
// gives the rest back to the lots it came from; voiding or expiry gives all
// of it back.
//
// # Caps
//
// [AwardSummer.AwardedSum] sums the points credited to an account by
// transactions tagged Metadata[key] == value whose EffectiveAt falls in a
// window; the rewards engine tags awards with the rule ID ("rule") and sets
// EffectiveAt to the start of the savings fact, so a cap "at most 500 points
// per rule per quarter" is one query. Reversals carry their original's tags
// and EffectiveAt, so a reversed award no longer counts.
//
// # Writing a storage adapter
//
// Implement [Store] and [StoreTx] (rows in, rows out; the doc of each method
// says which index serves it), build the ledger with [New], and run
// ledgertest.Run in your tests; call ledgertest.CheckInvariants after fault
// injection. Optional StoreTx capabilities ([ResolvedHoldLister]) make some
// queries cheaper. Transient races are reported by wrapping [ErrRetry]; the
// engine re-runs the unit of work. Times are UTC with microsecond precision.
package ledger
