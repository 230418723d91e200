package baseline

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

const goldenDir = "testdata/eemeter-golden"

// goldenPath names an eemeter golden file (testdata/eemeter-golden/README.md).
func goldenPath(t testing.TB, name string) string {
	t.Helper()
	p := goldenDir + "/" + name
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("golden file: %v", err)
	}
	return p
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

// sampleCache keeps parsed samples: Usage and Temperature are immutable,
// so tests can share them.
var sampleCache sync.Map // file name → any (*Usage or *Temperature)

func loadSample(t testing.TB, name string) (*Usage, *Temperature) {
	t.Helper()
	load := func(file string, parse func(f string) (any, error)) any {
		if v, ok := sampleCache.Load(file); ok {
			return v
		}
		v, err := parse(file)
		if err != nil {
			t.Fatal(err)
		}
		sampleCache.Store(file, v)
		return v
	}
	u := load(name, func(f string) (any, error) { return ReadUsageCSV(openGz(t, "../testdata/eemeter/"+f+".csv.gz")) }).(*Usage)
	tp := load("il-tempF", func(f string) (any, error) { return ReadTemperatureCSV(openGz(t, "../testdata/eemeter/"+f+".csv.gz")) }).(*Temperature)
	return u, tp
}

var (
	sampleEnd      = time.Date(2016, 12, 26, 0, 0, 0, 0, time.UTC)
	sampleRepStart = time.Date(2017, 1, 4, 0, 0, 0, 0, time.UTC)
)
