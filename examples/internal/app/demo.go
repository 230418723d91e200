package app

import (
	"compress/gzip"
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/negawatt/negawatt/examples/internal/store"
)

// DemoRules is the demo rule set (program negawatt-demo, version 1).
//
//go:embed demo.yaml
var DemoRules []byte

// DemoCustomer is the customer LoadDemo creates: the nmecr commercial
// building ("a commercial building in North America", MIT, see
// testdata/nmecr/README.md), gold tier.
const DemoCustomer = "demo-1"

// Demo periods of the nmecr building (from its vignette): baseline
// 2012-03-01..2013-02-28, reporting 2014-03-01..2015-02-28.
var (
	DemoBaselineEnd    = time.Date(2013, 3, 1, 0, 0, 0, 0, time.UTC)
	DemoReportingStart = time.Date(2014, 3, 1, 0, 0, 0, 0, time.UTC)
	DemoReportingEnd   = time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC)
)

// FindTestdata walks up from dir to the repository's testdata/nmecr.
func FindTestdata(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "testdata", "nmecr", "eload.csv.gz")); err == nil {
			return filepath.Join(d, "testdata"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("app: no testdata/nmecr above %s", dir)
		}
	}
}

// ReadNMECR reads the nmecr building's daily usage (kWh per day) and daily
// mean temperature (°F) from testdata.
func ReadNMECR(testdata string) ([]store.UsageReading, []store.TempReading, error) {
	var usage []store.UsageReading
	var temp []store.TempReading
	err := readDaily(filepath.Join(testdata, "nmecr", "eload.csv.gz"), func(t time.Time, v float64) {
		usage = append(usage, store.UsageReading{Start: t, KWh: v})
	})
	if err != nil {
		return nil, nil, err
	}
	err = readDaily(filepath.Join(testdata, "nmecr", "temp.csv.gz"), func(t time.Time, v float64) {
		temp = append(temp, store.TempReading{Start: t, TempF: v})
	})
	return usage, temp, err
}

func readDaily(path string, add func(time.Time, float64)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r := csv.NewReader(z)
	if _, err := r.Read(); err != nil {
		return fmt.Errorf("%s: header: %w", path, err)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil || len(rec) != 2 {
			return fmt.Errorf("%s: %v", path, err)
		}
		t, err := time.Parse(time.DateOnly, rec[0])
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		add(t, v)
	}
}

// LoadDemo loads the demo program into s: the demo rule set (promoted
// when nothing is live), customer demo-1 with the nmecr building's three
// years of usage and temperature, its CalTRACK daily baseline
// (2012-03..2013-02) and the settled months 2014-03..2015-02. It is
// idempotent: loading twice pays nothing twice.
func LoadDemo(ctx context.Context, s *Service, testdata string) error {
	usage, temp, err := ReadNMECR(testdata)
	if err != nil {
		return err
	}
	if _, _, err := s.UploadRuleSet(ctx, DemoRules, false); err != nil {
		return fmt.Errorf("app: demo rules: %w", err)
	}
	if _, err := s.liveProgram(ctx); err != nil {
		if _, err := s.PromoteRuleSet(ctx, 1); err != nil {
			return err
		}
	}
	if _, _, err := s.PutCustomer(ctx, DemoCustomer, CustomerInput{Name: "Commercial building (nmecr)", Tier: "gold",
		TimeZone: "America/Chicago", EnrolledAt: "2012-03-01", Attributes: map[string]string{"segment": "commercial"}}); err != nil {
		return err
	}
	if _, err := s.IngestUsage(ctx, DemoCustomer, usage); err != nil {
		return err
	}
	if _, err := s.IngestTemperature(ctx, DemoCustomer, temp); err != nil {
		return err
	}
	if _, err := s.FitBaseline(ctx, DemoCustomer, FitRequest{Method: "daily", End: DemoBaselineEnd.Format(time.RFC3339), Days: 365}); err != nil {
		return err
	}
	_, err = s.Settle(ctx, SettleRequest{Customers: []string{DemoCustomer}, From: DemoReportingStart.Format(time.DateOnly), To: DemoReportingEnd.Format(time.DateOnly)})
	return err
}
