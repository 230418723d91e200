// Package ledgertally is a rewards.Tally backed by a points ledger: caps,
// budgets and restatements are decided from what the ledger actually holds,
// and every award is posted to the ledger in the same Reserve call.
//
// # What it reads and writes
//
// Each paying grant is one ledger transaction from the program's issuance
// account to the customer's account (the reverse for a negative adjustment),
// with the grant's key (rewards.AwardKey or rewards.AdjustmentKey) as the
// idempotency key, EffectiveAt = Claim.At (savings.start, which places the
// award in cap windows, as package ledger's AwardQuery expects) and these
// metadata tags:
//
//	program   the rule set's program id
//	rule      the rule id (the ledger's conventional cap tag)
//	customer  the customer id
//	fact      savings.id
//	key       the original award key (rewards.AwardKey), on every award of a fact
//	adjusts   the original award key, on adjustments only
//	claimed   the entitlement the grant settled (Claim.Points), so a re-settled
//	          fact with the same numbers pays nothing
//	program_rule  program and rule joined unambiguously (see ScopeTag), for
//	          per-rule caps and budgets
//
// Reserve reconstructs the rewards.Prior of a claim from the ledger: Paid is
// AwardedSum(customer account, "key" = Claim.Key) over all time (a reversed
// award therefore no longer counts as paid), Awards counts the keys
// Claim.Key, AdjustmentKey(Claim.Key, 2), ... found by Lookup (rewards.Decide numbers an adjustment by the awards made before it), and Claimed is
// the "claimed" tag of the newest of them. The points used under a limit are
// AwardedSum over the limit's window: on the customer's account for caps and
// on the program's issuance account (negated) for budgets, tagged "program"
// for set-wide limits and "program_rule" for per-rule limits.
//
// A claim that pays nothing (capped to zero, or a negative adjustment that
// is not allowed) leaves no trace: the ledger records movements of points
// only. This differs from rewards.MemoryTally in one corner: when the first
// claim of a fact was capped to zero and the fact is later restated, the
// restatement pays under the original key rather than as an adjustment of
// an award that was never made. Every other sequence of claims gets the same
// awards and keys as MemoryTally. Outcomes that pay nothing may give another
// reason in one more corner: after a restatement whose negative difference
// was not paid, MemoryTally remembers the lower entitlement (settling it
// again is "already settled") while the ledger, which recorded nothing,
// reports the unpaid negative adjustment again.
//
// # Concurrency and atomicity
//
// Within one process Reserve is atomic: reading the prior awards and the
// limit sums, deciding and posting happen under two locks, taken in a fixed
// order. The first is the program's lock: exclusive when the claim draws on
// a budget (set-wide or per rule: a budget sums every customer's awards, and
// claims of other rules or versions of the program post to the same
// issuance account), shared otherwise. The second is the claim's customer
// stripe, one of 1,024 mutexes chosen by hashing (program, customer): caps,
// prior awards and restatements only ever sum one customer's awards of one
// program. So claims of different customers of a program without budgets
// run in parallel, claims of one customer are serialized, and a claim with
// a budget runs alone in its program. Concurrent settlements therefore
// never exceed a cap or budget, and never pay a fact twice.
//
// A Batch (Tally.Batch) decides claims the same way but queues the paying
// grants and posts them all at Commit in one ledger.PostBatch: one durable
// commit for a whole settlement run instead of one per award. It keeps
// every lock it took until Commit or Discard, and adds its queued grants to
// the priors and sums later claims read, so it pays exactly what the same
// claims reserved one by one would. Locks are ordered (program locks by
// name, then stripes by index); a batch that needs a lock below one it
// holds only tries it (TryLock never waits) and, if that fails, commits,
// releases everything and takes the locks again in order, so batches and
// single reservations cannot deadlock.
//
// Commits of concurrent batches and reservations are grouped: while one
// ledger.PostBatch is in flight, the commits that arrive queue and go out
// together in the next one (if that combined batch fails, each member is
// posted alone, so a refused grant fails only its own caller). Each caller
// still returns only once its grants are durably posted, before releasing
// its locks.
//
// Across processes sharing one ledger (two servers, a server and a batch
// job) the guarantees are weaker, and it is important to be clear about
// which hold:
//
//   - No double payment: the award's idempotency key is deterministic, so
//     two processes settling the same fact post the same key; the ledger
//     stores it once (same content) or refuses the second with
//     ledger.ErrIdempotencyConflict (different content, e.g. a different
//     trim). A fact is never paid twice.
//   - Caps and budgets are NOT enforced across processes: two processes
//     settling different facts under the same cap can both read the same
//     used sum and both pay. Run settlement through a single writer per
//     program (one settlement worker, or a queue consumed by one process), or
//     add a store-level lock (for example a PostgreSQL advisory lock per
//     program held around Reserve); the ledger interface has no such lock
//     today.
//
// # Accounts
//
// Reserve creates the accounts it needs on first use with
// Ledger.CreateAccount (idempotent): the customer's account
// (ledger.KindCustomer, never negative) named by CustomerAccount
// ("customer/<id>") and the program's issuance account (ledger.KindIssuance,
// which goes negative as it awards) named by IssuanceAccount
// ("issuance/<program>"). Both names can be changed with options.
package ledgertally
