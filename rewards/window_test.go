package rewards

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// A window is one calendar period long: its end is its start plus one
// day, week, month or year (time.AddDate), at any instant.
func TestPropPeriodWindowLength(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		at := time.Unix(rapid.Int64Range(-4e9, 8e9).Draw(t, "unix"), 0).In(time.FixedZone("z", 3600*rapid.IntRange(-12, 14).Draw(t, "zone")))
		per := rapid.SampledFrom([]Period{PerDay, PerWeek, PerMonth, PerYear}).Draw(t, "per")
		from, to := per.Window(at)
		want := map[Period]time.Time{PerDay: from.AddDate(0, 0, 1), PerWeek: from.AddDate(0, 0, 7), PerMonth: from.AddDate(0, 1, 0), PerYear: from.AddDate(1, 0, 0)}[per]
		if !to.Equal(want) || to.Location() != time.UTC || at.Before(from) || !at.Before(to) {
			t.Fatalf("%v of %v: [%v, %v), want end %v", per, at, from, to, want)
		}
	})
}
