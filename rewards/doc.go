// Package rewards turns savings facts into loyalty-point awards with rules
// that program operators write as data.
//
// A rule set is a versioned YAML or JSON document (see [Parse] for the
// keys). Each rule has a boolean condition (when) and a points formula
// written in expr (github.com/expr-lang/expr). [Load] or [Compile]
// type-check every expression against [Env] once and return an immutable
// [Program] that is safe for concurrent use; every problem in a file is
// reported at once, as FILE:LINE:COL: rule "ID": message with a caret
// snippet ([RuleErrors]).
//
// Points are exact: numeric literals in rules become decimal.Decimal, the
// arithmetic and comparison operators are overloaded for decimals, "/"
// carries 20 decimal places, and each award is rounded exactly once with
// the set's [Rounding]. float64 never touches points.
//
// # Semantics
//
// savings.start places a fact in the set's effective window, in each
// rule's validity window and in the calendar periods (UTC, ISO weeks
// starting on Monday) of caps. In a group only the matching rule with the
// largest priority pays (ties: earlier in the file), even if a cap then
// trims it to zero. Rules of one fact draw on caps and budgets in priority
// order, then file order; a cap or budget trims an award to what is left.
// An award's idempotency key ([AwardKey]) is stable for (program, rule,
// customer, fact): re-settling a fact pays nothing, and a restated fact
// pays the difference as an adjustment with its own key that references
// the original (Award.Adjusts). Errors in one award (division by zero, a
// missing multiplier key, negative points without allow_negative, the
// memory budget) are outcomes of that award; the others still pay.
//
// # State
//
// Caps, budgets and restatements need to know what was paid. A [Tally]
// reserves atomically: [MemoryTally] in memory, or a ledger-backed Tally
// that runs [Decide] inside a database transaction (see [Tally]).
//
// # Rollout and limits
//
// [Diff] evaluates a candidate rule set beside the live one without paying
// and reports, per rule and in total, the customers and points that would
// change; [Registry] promotes and rolls back compiled versions by switching
// an atomic pointer. Rule files may come from a web form: [Limits] bound
// the file size, rule count, nesting, YAML aliases, expression size and
// the memory an expression may use, and expressions have no access to the
// file system, network, environment or clock.
//
// The package is pure: it reads rule files and facts from memory, does no
// I/O and reads no clock (now is part of each fact).
package rewards
