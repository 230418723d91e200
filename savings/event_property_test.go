package savings

import (
	"math"
	"testing"
	"time"

	"github.com/negawatt/negawatt/baseline"
	"pgregory.net/rapid"
)

var propertyZones = []string{"Europe/London", "America/New_York", "Australia/Sydney", "UTC"}

// genEventCase draws a zone, an event day in 2019 (so DST changes are
// sometimes inside the lookback or on the event day), a window of 1–6
// local hours, a method and ~80 days of hourly usage from valueAt.
func genEventCase(t *rapid.T, valueAt func(x time.Time) float64) (*baseline.Usage, Event, EventMethod) {
	loc, err := time.LoadLocation(rapid.SampledFrom(propertyZones).Draw(t, "zone"))
	if err != nil {
		t.Fatal(err)
	}
	day := LocalDate{2019, time.January, 1}.AddDays(rapid.IntRange(60, 360).Draw(t, "dayOfYear"))
	startHour := rapid.IntRange(4, 20).Draw(t, "startHour")
	hours := rapid.IntRange(1, 24-startHour).Draw(t, "hours")
	ev := Event{ID: "e", Location: loc,
		Start: time.Date(day.Year, day.Month, day.Day, startHour, 0, 0, 0, loc),
		End:   time.Date(day.Year, day.Month, day.Day, startHour+hours, 0, 0, 0, loc)}
	y := rapid.IntRange(1, 10).Draw(t, "y")
	m := presetMethod(rapid.IntRange(1, y).Draw(t, "x"), y)
	m.Adjustment = Adjustment(rapid.IntRange(0, 2).Draw(t, "adjustment"))
	m.AdjustWindowHours = rapid.IntRange(1, 4).Draw(t, "window")
	m.AdjustGapHours = rapid.IntRange(0, 2).Draw(t, "gap")
	m.AdjustCap = rapid.Float64Range(0, 1).Draw(t, "cap")

	from := day.AddDays(-70)
	lo := time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, loc)
	hi := time.Date(day.Year, day.Month, day.Day+1, 0, 0, 0, 0, loc)
	var rs []baseline.Reading
	for x := lo; x.Before(hi); x = x.Add(time.Hour) {
		rs = append(rs, baseline.Reading{Start: x, Value: valueAt(x)})
	}
	u, err := baseline.NewUsage(rs)
	if err != nil {
		t.Fatal(err)
	}
	return u, ev, m
}

// Savings are baseline − actual hour by hour, and the totals are the sums.
func TestPropertySavingsIsBaselineMinusActual(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		u, ev, m := genEventCase(t, func(x time.Time) float64 {
			// Deterministic pseudo-random kWh in [0, 10) per instant.
			h := uint64(x.Unix()/3600)*0x9E3779B97F4A7C15 ^ seed
			h ^= h >> 29
			h *= 0xBF58476D1CE4E5B9
			return float64(h>>11) / (1 << 53) * 10
		})
		r, err := EventSavings(u, ev, m)
		if err != nil {
			t.Fatal(err)
		}
		var sb, sa, ss float64
		for _, h := range r.Hours {
			if h.SavingsKWh != h.BaselineKWh-h.ActualKWh {
				t.Fatalf("hour %s: savings %v != %v − %v", h.Start, h.SavingsKWh, h.BaselineKWh, h.ActualKWh)
			}
			sb, sa, ss = sb+h.BaselineKWh, sa+h.ActualKWh, ss+h.SavingsKWh
		}
		if sb != r.BaselineKWh || sa != r.ActualKWh || ss != r.SavingsKWh {
			t.Fatalf("totals %v %v %v != sums %v %v %v", r.BaselineKWh, r.ActualKWh, r.SavingsKWh, sb, sa, ss)
		}
		if math.Abs(r.SavingsKWh-(r.BaselineKWh-r.ActualKWh)) > 1e-9*(1+math.Abs(r.BaselineKWh)) {
			t.Fatalf("total savings %v != %v − %v", r.SavingsKWh, r.BaselineKWh, r.ActualKWh)
		}
		if len(r.SelectedDays) != m.X {
			t.Fatalf("%d selected days, want %d", len(r.SelectedDays), m.X)
		}
	})
}

// With the same usage profile on every day and no adjustment, the
// baseline equals that profile at every event hour (by local clock hour,
// whatever the DST changes in between).
func TestPropertyIdenticalDaysReproduceUsage(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		profile := rapid.SliceOfN(rapid.Float64Range(0, 50), 24, 24).Draw(t, "profile")
		u, ev, m := genEventCase(t, func(x time.Time) float64 { return profile[x.Hour()] })
		m.Adjustment = AdjustNone
		r, err := EventSavings(u, ev, m)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range r.Hours {
			want := profile[h.Start.Hour()]
			if math.Abs(h.BaselineKWh-want) > 1e-9*(1+want) || math.Abs(h.SavingsKWh) > 1e-9*(1+want) {
				t.Fatalf("hour %s: baseline %v, savings %v, want %v and 0", h.Start, h.BaselineKWh, h.SavingsKWh, want)
			}
		}
	})
}

// The clamped multiplicative factor lies in [1−cap, 1+cap]; each
// additive hour lies between (1−cap) and (1+cap) times its unadjusted
// baseline.
func TestPropertyAdjustmentWithinCap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		spread := rapid.Float64Range(0, 5).Draw(t, "spread")
		u, ev, m := genEventCase(t, func(x time.Time) float64 {
			h := uint64(x.Unix()/3600)*0x9E3779B97F4A7C15 ^ seed
			h ^= h >> 31
			h *= 0x94D049BB133111EB
			return 1 + spread*float64(h>>11)/(1<<53)
		})
		r, err := EventSavings(u, ev, m)
		if err != nil {
			t.Fatal(err)
		}
		c := m.AdjustCap
		if f := r.AdjustmentFactor; f < 1-c-1e-12 || f > 1+c+1e-12 {
			t.Fatalf("factor %v outside [%v, %v] (raw %v)", f, 1-c, 1+c, r.RawAdjustmentFactor)
		}
		for _, h := range r.Hours {
			u := h.UnadjustedBaselineKWh
			if h.BaselineKWh < (1-c)*u-1e-9 || h.BaselineKWh > (1+c)*u+1e-9 {
				t.Fatalf("%v hour %s: %v outside [%v, %v]", m.Adjustment, h.Start, h.BaselineKWh, (1-c)*u, (1+c)*u)
			}
		}
	})
}
