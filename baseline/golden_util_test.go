package baseline

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"
	"time"
)

const goldenDir = "../../../shared/reference/eemeter-golden"

// goldenPath finds the eemeter golden files: a copy under testdata/ first,
// then the shared reference folder.
func goldenPath(t testing.TB, name string) string {
	t.Helper()
	for _, p := range []string{"testdata/eemeter-golden/" + name, goldenDir + "/" + name} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("golden file %s not found", name)
	return ""
}

// readGoldenCSV reads a gzip CSV into header-indexed rows of strings.
func readGoldenCSV(t testing.TB, name string) (map[string]int, [][]string) {
	t.Helper()
	cr := csv.NewReader(openGz(t, goldenPath(t, name)))
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	hdr := map[string]int{}
	for i, h := range recs[0] {
		hdr[h] = i
	}
	return hdr, recs[1:]
}

func gf(s string) float64 {
	if s == "" {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

func gt(t testing.TB, s string) time.Time {
	tt, err := time.Parse("2006-01-02 15:04:05Z07:00", s)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

// relDiff is |a-b| / max(|a|,|b|), 0 when both are 0 or both NaN.
func relDiff(a, b float64) float64 {
	if math.IsNaN(a) && math.IsNaN(b) {
		return 0
	}
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

func loadSample(t testing.TB, name string) (*Usage, *Temperature) {
	t.Helper()
	u, err := ReadUsageCSV(openGz(t, "../testdata/eemeter/"+name+".csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := ReadTemperatureCSV(openGz(t, "../testdata/eemeter/il-tempF.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return u, tp
}

var (
	sampleEnd      = time.Date(2016, 12, 26, 0, 0, 0, 0, time.UTC)
	sampleRepStart = time.Date(2017, 1, 4, 0, 0, 0, 0, time.UTC)
)
