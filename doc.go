// Package negawatt is an embeddable Go SDK for energy-savings reward
// programs: a customer uses less energy than a weather-normalized baseline
// predicts, the program proves it, and pays the customer in loyalty points.
//
// The SDK is a pipeline of small packages; data flows one way:
//
//	usage, temperature ─▶ baseline ─▶ savings ─▶ rewards ─▶ ledger
//
// The packages:
//
//   - [github.com/negawatt/negawatt/baseline] fits CalTRACK 2.0 daily and
//     billing-period baselines from metered usage and outdoor temperature,
//     reproducing OpenEEmeter eemeter 2.10.11's numbers.
//   - [github.com/negawatt/negawatt/savings] compares a baseline's
//     counterfactual with what was used: metered and normal-year savings with
//     ASHRAE Guideline 14 uncertainty, monthly settlement, and
//     demand-response event savings from X-of-Y customer baseline loads with
//     day-of adjustment.
//   - [github.com/negawatt/negawatt/rewards] evaluates point rules written as
//     data (expr conditions and formulas, exact decimal points, caps, budgets,
//     tiers) against savings facts, with an explanation for every award.
//   - [github.com/negawatt/negawatt/rewards/ledgertally] keeps the rewards
//     engine's caps, budgets and paid awards in a ledger and posts each award
//     with its idempotency key: the one small piece between rewards and
//     ledger.
//   - [github.com/negawatt/negawatt/ledger] is a double-entry points ledger
//     interface (idempotent, atomic, two-phase holds, expiring lots) with an
//     in-memory reference implementation and a conformance suite
//     ([github.com/negawatt/negawatt/ledger/ledgertest]) for third-party
//     adapters; [github.com/negawatt/negawatt/ledger/sqlite] is the embedded
//     default store and [github.com/negawatt/negawatt/ledger/postgres] the
//     store for many writers and processes.
//
// The packages baseline, savings and rewards are pure: they do no I/O beyond
// parsing an [io.Reader] handed to them. The package Example runs the whole
// pipeline on a real building. Runnable programs that wire the pipeline into
// a CLI, an HTTP service with a customer dashboard and an AWS Lambda live
// under examples/.
package negawatt
