package savings_test

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/savings"
)

// gzipFile opens a gzipped sample file; the caller closes it.
func gzipFile(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// A year of daily baseline, a reporting year, eemeter's error bands at 90 %
// confidence, and the first months of the customer's monthly statement.
func Example() {
	uf, err := gzipFile("../testdata/eemeter/il-electricity-cdd-hdd-daily.csv.gz")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer uf.Close()
	usage, err := baseline.ReadUsageCSV(uf)
	if err != nil {
		fmt.Println(err)
		return
	}
	tf, err := gzipFile("../testdata/eemeter/il-tempF.csv.gz")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tf.Close()
	temp, err := baseline.ReadTemperatureCSV(tf)
	if err != nil {
		fmt.Println(err)
		return
	}

	fit, err := baseline.FitBaseline(usage, temp, time.Date(2016, 12, 26, 0, 0, 0, 0, time.UTC), 365, baseline.DailyOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	metered, err := savings.MeteredWindow(fit.Model, usage, temp, time.Date(2017, 1, 4, 0, 0, 0, 0, time.UTC), 365)
	if err != nil {
		fmt.Println(err)
		return
	}
	bands, err := savings.MeteredUncertainty(fit.Model, metered, savings.DefaultConfidence)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("saved %.1f kWh (%.1f %%): FSU ± %.1f kWh, OLS ± %.1f kWh at 90 %%\n",
		metered.SavingsKWh, metered.PercentSavings, bands.FSUKWh, bands.OLSKWh)

	stats, err := savings.FitStatsOf(fit.Model)
	if err != nil {
		fmt.Println(err)
		return
	}
	months, err := savings.MonthlySettlement(metered.Periods, savings.MonthlyOptions{Fit: &stats})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range months[:3] {
		r := m.Result() // the fact a rewards rule pays on
		fmt.Printf("%s: %.1f of %.1f kWh saved ± %.1f, heating %.0f kWh, flags %v\n",
			r.ID, r.SavingsKWh, r.BaselineKWh, r.UncertaintyKWh, m.HeatingLoadKWh, r.Flags)
	}
	// Output:
	// saved 793.9 kWh (8.0 %): FSU ± 315.4 kWh, OLS ± 325.4 kWh at 90 %
	// 2017-01: 121.0 of 985.8 kWh saved ± 79.9, heating 609 kWh, flags [partial_month]
	// 2017-02: 124.8 of 712.0 kWh saved ± 57.7, heating 335 kWh, flags []
	// 2017-03: 58.4 of 722.6 kWh saved ± 55.9, heating 305 kWh, flags []
}
