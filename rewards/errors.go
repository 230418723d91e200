package rewards

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Test for them with errors.Is; the concrete errors carry
// the rule, field and position.
var (
	// ErrInvalidRuleSet wraps every problem found while loading or compiling
	// a rule set; the error is a [RuleErrors] listing each problem.
	ErrInvalidRuleSet = errors.New("invalid rule set")
	// ErrLimit means the rule file exceeded a configured limit (file size,
	// rule count, expression size, nesting depth, YAML aliases).
	ErrLimit = errors.New("limit exceeded")
	// ErrEvaluation is wrapped by every error a rule raised while paying one
	// award (division by zero, missing multiplier key, negative points,
	// memory budget, ...). Other awards of the same fact still pay.
	ErrEvaluation = errors.New("rule evaluation failed")
	// ErrNegativePoints means a rule's points came out negative and the rule
	// does not have allow_negative: true.
	ErrNegativePoints = errors.New("negative points without allow_negative")
	// ErrDivisionByZero is raised by "/" or "%" with a zero divisor.
	ErrDivisionByZero = errors.New("division by zero")
	// ErrMissingMultiplier means multiplier(table, key) found neither the key
	// nor a "default" entry in the table.
	ErrMissingMultiplier = errors.New("missing multiplier key")
	// ErrOverflow means a decimal or string value grew beyond the engine's
	// bounds (see Options.MaxDigits and Options.MaxStringBytes).
	ErrOverflow = errors.New("overflow")
	// ErrInvalidFact is wrapped by every fact decoding or validation error.
	ErrInvalidFact = errors.New("invalid fact")
	// ErrNotFinite means an amount of a fact (savings.kwh, ...) is NaN or
	// ±Inf; it comes wrapped in a [FactError] naming the field.
	ErrNotFinite = errors.New("not a finite number")
)

// Position is a 1-based line and column in a rule file. Columns count
// Unicode code points.
type Position struct {
	Line   int
	Column int
}

// RuleError is one problem in a rule file: where it is, which rule and
// field it concerns, and, for expressions, a snippet with a caret.
type RuleError struct {
	File string
	Position
	// Rule is the rule id, or "" for set-level and file-level problems.
	Rule string
	// Field is the key concerned ("when", "points", "caps[0].per", ...), or
	// "" for file-level problems.
	Field string
	// Message says what is wrong.
	Message string
	// Snippet is the source line and a caret under Column, or "".
	Snippet string
	// Err is the underlying cause, if any (e.g. ErrLimit).
	Err error
}

// Error formats the problem as FILE:LINE:COL: rule "ID": message.
func (e *RuleError) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	return fmt.Sprintf("%s:%d:%d: rule %q: %s", e.File, e.Line, e.Column, e.Rule, msg)
}

// Detail is Error followed by the caret snippet, when there is one.
func (e *RuleError) Detail() string {
	if e.Snippet == "" {
		return e.Error()
	}
	return e.Error() + "\n" + e.Snippet
}

// Unwrap returns the cause.
func (e *RuleError) Unwrap() error { return e.Err }

// RuleErrors is every problem found in one rule file, sorted by position.
// It matches ErrInvalidRuleSet with errors.Is.
type RuleErrors []*RuleError

// Error lists the problems, one per line.
func (es RuleErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Is reports true for ErrInvalidRuleSet.
func (es RuleErrors) Is(target error) bool { return target == ErrInvalidRuleSet }

// Unwrap exposes each problem to errors.Is and errors.As.
func (es RuleErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// AwardError is an error raised while computing one award.
type AwardError struct {
	Customer string
	Rule     string
	Fact     string
	// Field is "when" or "points" (or "" for errors outside expressions).
	Field string
	Err   error
}

// Error describes the failed award.
func (e *AwardError) Error() string {
	where := ""
	if e.Field != "" {
		where = " " + e.Field
	}
	return fmt.Sprintf("rule %q%s, customer %q, fact %q: %v", e.Rule, where, e.Customer, e.Fact, e.Err)
}

// Unwrap returns the cause.
func (e *AwardError) Unwrap() error { return e.Err }

// Is reports true for ErrEvaluation.
func (e *AwardError) Is(target error) bool { return target == ErrEvaluation }

// FactError is a fact that could not be decoded or is invalid.
type FactError struct {
	// Line is the 1-based line of a JSON-lines input, or 0.
	Line int
	// Field is the offending field ("savings.start"), or "".
	Field string
	Err   error
}

// Error names the line and field.
func (e *FactError) Error() string {
	s := "fact"
	if e.Line > 0 {
		s = fmt.Sprintf("line %d", e.Line)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *FactError) Unwrap() error { return e.Err }

// Is reports true for ErrInvalidFact.
func (e *FactError) Is(target error) bool { return target == ErrInvalidFact }
