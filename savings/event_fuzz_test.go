package savings

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

// FuzzEventSavings feeds arbitrary hourly series (gaps, NaN, negative and
// off-grid readings) and event/method parameters: EventSavings must not
// panic, and a result must satisfy savings = baseline − actual and have
// X selected days.
func FuzzEventSavings(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, uint8(15), uint8(4), uint8(5), uint8(10), uint8(1), uint8(45), uint8(0))
	f.Add([]byte{255, 0, 7, 9, 200, 13}, uint8(0), uint8(3), uint8(4), uint8(4), uint8(2), uint8(60), uint8(1))
	f.Add([]byte{}, uint8(23), uint8(24), uint8(1), uint8(1), uint8(0), uint8(1), uint8(2))
	zones := []string{"Europe/London", "America/New_York", "Asia/Kolkata", "UTC"}
	f.Fuzz(func(t *testing.T, data []byte, startHour, hours, x, y, adj, lookback, zone uint8) {
		loc, err := time.LoadLocation(zones[int(zone)%len(zones)])
		if err != nil {
			t.Skip(err)
		}
		// 60 days before 2019-10-27 (a fall-back Sunday in London) and the
		// day itself; data perturbs values and drops or shifts readings.
		lo := time.Date(2019, 8, 28, 0, 0, 0, 0, loc)
		var rs []baseline.Reading
		i := 0
		for at := lo; at.Before(lo.AddDate(0, 0, 61)); at = at.Add(time.Hour) {
			b := byte(i)
			if len(data) > 0 {
				b = data[i%len(data)] ^ byte(i/len(data))
			}
			i++
			switch {
			case b == 255:
				continue // gap
			case b == 254:
				rs = append(rs, baseline.Reading{Start: at, Value: math.NaN()})
			case b == 253:
				rs = append(rs, baseline.Reading{Start: at.Add(30 * time.Minute), Value: 1})
			default:
				v := float64(binary.LittleEndian.Uint16([]byte{b, byte(i)})) / 100
				if b%17 == 0 {
					v = -v
				}
				rs = append(rs, baseline.Reading{Start: at, Value: v})
			}
		}
		if len(rs) == 0 {
			return
		}
		u, err := baseline.NewUsage(rs)
		if err != nil {
			return
		}
		start := time.Date(2019, 10, 27, int(startHour)%24, 0, 0, 0, loc)
		ev := Event{Location: loc, Start: start, End: start.Add(time.Duration(hours%26) * time.Hour)}
		m := presetMethod(int(x%12), int(y%12))
		m.Adjustment = Adjustment(adj % 4)
		m.LookbackDays = int(lookback)
		r, err := EventSavings(u, ev, m)
		if err != nil {
			return
		}
		if len(r.SelectedDays) != m.X || len(r.Hours) == 0 {
			t.Fatalf("selected %d days (x %d), %d hours", len(r.SelectedDays), m.X, len(r.Hours))
		}
		for _, h := range r.Hours {
			if h.SavingsKWh != h.BaselineKWh-h.ActualKWh || math.IsNaN(h.BaselineKWh) {
				t.Fatalf("hour %+v", h)
			}
		}
	})
}
