package savings

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

// The eemeter 2.10.11 golden outputs (testdata/eemeter-golden, copied from
// the project's shared reference; see its README) give the error bands of
// two samples. The fit statistics are derived here independently of the
// baseline package: period totals from the golden baseline design matrix
// (usage per day × days to the next period start, eemeter day_counts) and
// predictions from the golden coefficients.

const goldenDir = "testdata/eemeter-golden"

type goldenFile struct {
	Samples map[string]struct {
		Method   string `json:"method"`
		Variants map[string]struct {
			ModelType           string  `json:"model_type"`
			HeatingBalancePoint *int    `json:"heating_balance_point"`
			CoolingBalancePoint *int    `json:"cooling_balance_point"`
			Intercept           float64 `json:"intercept"`
			BetaHDD             float64 `json:"beta_hdd"`
			BetaCDD             float64 `json:"beta_cdd"`
			CVRMSEAdj           float64 `json:"cvrmse_adj"`
			Savings             struct {
				TotalMeteredSavings    float64            `json:"total_metered_savings"`
				CounterfactualTotal    float64            `json:"counterfactual_total"`
				ReportingObservedTotal float64            `json:"reporting_observed_total"`
				NPeriodsUsed           int                `json:"n_periods_used"`
				ErrorBands             map[string]float64 `json:"error_bands"`
			} `json:"savings"`
		} `json:"variants"`
	} `json:"samples"`
}

func readGolden(t testing.TB) goldenFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// csvTable is a gzipped CSV with a header, values by column name; empty
// cells are NaN.
type csvTable struct {
	starts []time.Time
	cols   map[string][]float64
}

func readCSVGz(t testing.TB, name string) csvTable {
	t.Helper()
	f, err := os.Open(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	tab := csvTable{cols: map[string][]float64{}}
	header := rows[0]
	for _, row := range rows[1:] {
		ts, err := time.Parse("2006-01-02 15:04:05-07:00", row[0])
		if err != nil {
			t.Fatal(err)
		}
		tab.starts = append(tab.starts, ts.UTC())
		for j := 1; j < len(row); j++ {
			v := math.NaN()
			if strings.TrimSpace(row[j]) != "" {
				if v, err = strconv.ParseFloat(row[j], 64); err != nil {
					t.Fatal(err)
				}
			}
			tab.cols[header[j]] = append(tab.cols[header[j]], v)
		}
	}
	return tab
}

// goldenFitStats builds FitStats for a sample's primary model from its
// design matrix: observed totals = meter_value × day_counts, predicted
// totals = (intercept + β_hdd·HDD + β_cdd·CDD) × day_counts, both NaN where
// the row (or its day count, for the end marker) is missing.
func goldenFitStats(t testing.TB, g goldenFile, sample string) FitStats {
	t.Helper()
	s := g.Samples[sample]
	v := s.Variants["primary"]
	dm := readCSVGz(t, sample+"__baseline_design_matrix.csv.gz")
	n := len(dm.starts)
	obs := make([]float64, n)
	pred := make([]float64, n)
	numParams := 0
	var hdd, cdd []float64
	if v.HeatingBalancePoint != nil {
		hdd = dm.cols["hdd_"+strconv.Itoa(*v.HeatingBalancePoint)]
		numParams++
	}
	if v.CoolingBalancePoint != nil {
		cdd = dm.cols["cdd_"+strconv.Itoa(*v.CoolingBalancePoint)]
		numParams++
	}
	for i := range n {
		days := math.NaN()
		if i+1 < n {
			days = dm.starts[i+1].Sub(dm.starts[i]).Hours() / 24
		}
		perDay := v.Intercept
		if hdd != nil {
			perDay += v.BetaHDD * hdd[i]
		}
		if cdd != nil {
			perDay += v.BetaCDD * cdd[i]
		}
		obs[i] = dm.cols["meter_value"][i] * days
		pred[i] = perDay * days
	}
	method := baseline.Daily
	if s.Method == "caltrack_billing" {
		method = baseline.Billing
	}
	fs, err := NewFitStats(method, obs, pred, numParams)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func goldenReportingStats(t testing.TB, method baseline.Method, sample string) ReportingStats {
	t.Helper()
	rs := readCSVGz(t, sample+"__primary__reporting_savings.csv.gz")
	// eemeter carries NaN in every column of a dropped row.
	obs := rs.cols["reporting_observed"]
	for i, c := range rs.cols["counterfactual_usage"] {
		if math.IsNaN(c) {
			obs[i] = math.NaN()
		}
	}
	r, err := NewReportingStats(method, rs.starts, obs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func relErr(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}

func TestMeteredErrorBandsGolden(t *testing.T) {
	g := readGolden(t)
	for _, sample := range []string{"il-electricity-cdd-hdd-daily", "il-electricity-cdd-hdd-billing_monthly"} {
		t.Run(sample, func(t *testing.T) {
			v := g.Samples[sample].Variants["primary"]
			fit := goldenFitStats(t, g, sample)
			// Cross-check the statistics with a metric eemeter reports.
			if e := relErr(fit.RMSEAdjKWh/fit.MeanKWh, v.CVRMSEAdj); g.Samples[sample].Method == "caltrack_daily" && e > 1e-9 {
				t.Errorf("cvrmse_adj = %v, golden %v", fit.RMSEAdjKWh/fit.MeanKWh, v.CVRMSEAdj)
			}
			rep := goldenReportingStats(t, fit.Method, sample)
			bands, err := MeteredErrorBands(fit, rep, DefaultConfidence)
			if err != nil {
				t.Fatal(err)
			}
			want := v.Savings.ErrorBands
			for name, got := range map[string]float64{
				"FSU Error Band":              bands.FSUKWh,
				"OLS Error Band":              bands.OLSKWh,
				"OLS Error Band: Model Error": bands.OLSModelKWh,
				"OLS Error Band: Noise":       bands.OLSNoiseKWh,
			} {
				if e := relErr(got, want[name]); e > 1e-6 {
					t.Errorf("%s = %.12g, eemeter %.12g (rel err %.2g)", name, got, want[name], e)
				} else {
					t.Logf("%s = %.12g, eemeter %.12g (rel err %.2g)", name, got, want[name], e)
				}
			}
		})
	}
}
