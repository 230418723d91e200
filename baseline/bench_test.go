package baseline

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchFit times Design.FitModel (eemeter's fit_caltrack_usage_per_day_model:
// grid search, selection, metrics) and also reports CPU time per fit, which
// stays meaningful when the machine is shared.
func benchFit(b *testing.B, d *Design, o Options) {
	b.ReportAllocs()
	c0 := cpuNow()
	for b.Loop() {
		if _, err := d.FitModel(o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuNow()-c0)/float64(b.N), "cpu-ns/op")
}

func benchDesign(b *testing.B, sample string, o Options) *Design {
	b.Helper()
	u, tp := loadSample(b, sample)
	if o.Method == Daily {
		u, _ = DailyUsage(u)
	}
	bu, err := BaselineWindow(u, sampleEnd, 365)
	if err != nil {
		b.Fatal(err)
	}
	d, err := NewDesign(bu, tp, o)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkFitDaily is eemeter's fit_caltrack_usage_per_day_model on the
// electricity cdd-hdd daily sample (365 days, 2,014 candidates), design
// matrix already built, as eemeter's 6.1 s figure is measured.
func BenchmarkFitDaily(b *testing.B) {
	o := DailyOptions()
	d := benchDesign(b, "il-electricity-cdd-hdd-daily", o)
	benchFit(b, d, o)
}

// BenchmarkFitDailyPValue is the same fit with the 0.1 p-value screen.
func BenchmarkFitDailyPValue(b *testing.B) {
	o := DailyOptions()
	o.BetaHDDMaxPValue, o.BetaCDDMaxPValue = 0.1, 0.1
	d := benchDesign(b, "il-electricity-cdd-hdd-daily", o)
	benchFit(b, d, o)
}

// BenchmarkFitDailyDays shows the fit is linear in days (365 … 2,920
// synthetic days, full grid).
func BenchmarkFitDailyDays(b *testing.B) {
	for _, n := range []int{365, 730, 1460, 2920} {
		b.Run(fmt.Sprintf("days=%d", n), func(b *testing.B) {
			var ur, tr []Reading
			for i := 0; i <= n; i++ {
				d := propStart.Add(time.Duration(i) * day)
				temp := 55 + 30*math.Sin(2*math.Pi*float64(i)/365.25) + 5*math.Sin(float64(i)*1.7)
				v := truth(20, 1.2, 2.1, 55, 68, temp) + 3*math.Sin(float64(i)*2.3)
				if i == n {
					v = math.NaN()
				}
				ur = append(ur, Reading{Start: d, Value: v})
				tr = append(tr, Reading{Start: d, Value: temp})
			}
			u, _ := NewUsage(ur)
			tp, _ := NewTemperatureF(tr)
			o := DailyOptions()
			d, err := NewDesign(u, tp, o)
			if err != nil {
				b.Fatal(err)
			}
			benchFit(b, d, o)
		})
	}
}

// BenchmarkFitDailyWithSufficiency is Design.Fit: the fit plus
// CalTRACK 2.2's data-sufficiency check.
func BenchmarkFitDailyWithSufficiency(b *testing.B) {
	o := DailyOptions()
	d := benchDesign(b, "il-electricity-cdd-hdd-daily", o)
	b.ReportAllocs()
	c0 := cpuNow()
	for b.Loop() {
		if _, err := d.Fit(o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuNow()-c0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkFitBilling fits the electricity cdd-hdd monthly billing sample
// (11 bills, 2,014 candidates, WLS).
func BenchmarkFitBilling(b *testing.B) {
	o := BillingOptions()
	d := benchDesign(b, "il-electricity-cdd-hdd-billing_monthly", o)
	benchFit(b, d, o)
}

// BenchmarkDesignDaily builds the daily design matrix from hourly
// temperature (the feature step eemeter's figure excludes).
func BenchmarkDesignDaily(b *testing.B) {
	u, tp := loadSample(b, "il-electricity-cdd-hdd-daily")
	u, _ = DailyUsage(u)
	bu, _ := BaselineWindow(u, sampleEnd, 365)
	o := DailyOptions()
	b.ReportAllocs()
	c0 := cpuNow()
	for b.Loop() {
		if _, err := NewDesign(bu, tp, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuNow()-c0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkFitConcurrentMeters fits 10,000 daily meters on GOMAXPROCS
// goroutines and reports meters per second.
func BenchmarkFitConcurrentMeters(b *testing.B) {
	o := DailyOptions()
	d := benchDesign(b, "il-electricity-cdd-hdd-daily", o)
	const meters = 10000
	workers := runtime.GOMAXPROCS(0)
	b.ReportAllocs()
	for b.Loop() {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= meters {
					if _, err := d.FitModel(o); err != nil {
						panic(err)
					}
				}
			}()
		}
		wg.Wait()
	}
	b.ReportMetric(float64(meters*b.N)/b.Elapsed().Seconds(), "meters/s")
}
