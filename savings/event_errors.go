package savings

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors of event savings ([EventSavings]). The function wraps
// them, often in a typed error that says where, so test with errors.Is.
var (
	// ErrInvalidEvent: the event window is unusable (no time zone, end not
	// after start, not whole local hours, longer than 24 hours).
	ErrInvalidEvent = errors.New("invalid event")
	// ErrInvalidEventMethod: an [EventMethod] field is out of range.
	ErrInvalidEventMethod = errors.New("invalid event baseline method")
	// ErrNoUsage: no usage series was given.
	ErrNoUsage = errors.New("no usage series")
	// ErrEventBeforeData: the event starts before the first usage reading.
	ErrEventBeforeData = errors.New("event starts before the first usage reading")
	// ErrMissingEventUsage: usage is missing (absent or NaN) for an hour of
	// the event, or of the day-of adjustment window on the event day.
	ErrMissingEventUsage = errors.New("usage missing on the event day")
	// ErrNotHourly: a usage reading does not start on a local clock hour
	// (sub-hourly or misaligned data); event baselines need hourly kWh.
	ErrNotHourly = errors.New("usage is not hourly")
	// ErrInsufficientHistory: fewer than X eligible days in the lookback.
	ErrInsufficientHistory = errors.New("insufficient history for the customer baseline")
	// ErrNoTemperature: weather matching was asked for but the temperature
	// series is absent or misses an hour of the event window on the event day.
	ErrNoTemperature = errors.New("no temperature for weather matching")
)

// MissingUsageError names the hour of the event day whose usage is missing.
type MissingUsageError struct {
	// Time is the hour's start (in the event's time zone).
	Time time.Time
	// Window is "event" or "adjustment".
	Window string
}

// Error says which hour of which window.
func (e *MissingUsageError) Error() string {
	return fmt.Sprintf("%v: no reading for the %s hour starting %s", ErrMissingEventUsage, e.Window, e.Time.Format(time.RFC3339))
}

// Unwrap returns [ErrMissingEventUsage].
func (e *MissingUsageError) Unwrap() error { return ErrMissingEventUsage }

// InsufficientHistoryError reports how the eligible-day search came short:
// fewer than X days of the event's day type, within the lookback, were
// neither excluded nor incomplete.
type InsufficientHistoryError struct {
	// EventDay is the event's local date and DayType its day type.
	EventDay LocalDate
	DayType  DayType
	// Eligible is the number of eligible days found; X and Y the method's.
	Eligible, X, Y int
	// LookbackDays is how far back the search went.
	LookbackDays int
	// Excluded counts same-type days skipped because they were listed as
	// excluded; Incomplete those skipped for missing usage (or temperature).
	Excluded, Incomplete int
}

// Error gives the counts.
func (e *InsufficientHistoryError) Error() string {
	return fmt.Sprintf("%v: %d eligible %s days in the %d days before %s, need at least %d (%d excluded, %d with missing data)",
		ErrInsufficientHistory, e.Eligible, e.DayType, e.LookbackDays, e.EventDay, e.X, e.Excluded, e.Incomplete)
}

// Unwrap returns [ErrInsufficientHistory].
func (e *InsufficientHistoryError) Unwrap() error { return ErrInsufficientHistory }
