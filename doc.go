// Package negawatt is an embeddable Go SDK for energy-savings reward
// programs: a customer uses less energy than a weather-normalized baseline
// predicts, the program proves it, and pays the customer in loyalty points.
//
// The SDK is a pipeline of small packages; data flows one way:
//
//		usage, temperature ─▶ baseline ─▶ savings ─▶ rewards ─▶ ledger
//
//	  - [github.com/negawatt/negawatt/baseline] fits CalTRACK 2.0 daily and
//	    billing-period baselines from metered usage and outdoor temperature,
//	    reproducing OpenEEmeter eemeter 2.10.11's numbers.
//	  - [github.com/negawatt/negawatt/savings] compares a baseline's
//	    counterfactual with what was used: metered and normal-year savings with
//	    ASHRAE Guideline 14 uncertainty, and demand-response event savings from
//	    X-of-Y customer baseline loads with day-of adjustment.
//	  - [github.com/negawatt/negawatt/rewards] evaluates point rules written as
//	    data (expr conditions and formulas, exact decimal points, caps, budgets,
//	    tiers) against savings facts, with an explanation for every award.
//	  - [github.com/negawatt/negawatt/ledger] is a double-entry points ledger
//	    interface (idempotent, atomic, two-phase holds, expiring lots) with an
//	    in-memory reference implementation, SQLite and PostgreSQL adapters, and
//	    a conformance suite for third-party adapters.
//
// The packages baseline, savings and rewards are pure: they do no I/O beyond
// parsing an [io.Reader] handed to them. Runnable programs that wire the
// pipeline into a CLI, an HTTP service and an AWS Lambda live under examples/.
package negawatt
