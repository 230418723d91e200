package savings

import "errors"

// Sentinel errors of whole-period savings uncertainty, normal-year savings
// and monthly settlement. Functions wrap them with the detail of what was
// wrong, so test with errors.Is.
var (
	// ErrConfidence: a confidence level outside (0, 1).
	ErrConfidence = errors.New("confidence level must be in (0, 1)")
	// ErrUncertaintyUndefined: the error bands cannot be computed for this
	// data (the cases where eemeter 2.10.11 returns no error bands or a NaN
	// t statistic: no reporting periods, residual autocorrelation undefined
	// or ±1, no baseline observations, zero baseline mean or variance, no
	// degrees of freedom).
	ErrUncertaintyUndefined = errors.New("savings uncertainty undefined")
	// ErrInvalidStats: inconsistent inputs to the fit or reporting
	// statistics (mismatched lengths, unknown method, infinite values).
	ErrInvalidStats = errors.New("invalid savings statistics input")
)

// ErrInvalidPeriods: settlement periods that are unsorted, overlapping,
// empty (end not after start) or carry an infinite value.
var ErrInvalidPeriods = errors.New("invalid settlement periods")
