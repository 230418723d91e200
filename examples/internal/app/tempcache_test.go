package app

import (
	"context"
	"testing"
	"time"

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/examples/internal/store"
)

func TestTempCache(t *testing.T) {
	var c tempCache
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := tempKey{station: "s1", from: t0, to: t0.AddDate(0, 1, 0)}
	series := new(baseline.Temperature)
	if got, _ := c.get(k, t0); got != nil {
		t.Fatal("empty cache hit")
	}
	_, gen := c.get(k, t0)
	c.put(k, gen, series, t0)
	if got, _ := c.get(k, t0.Add(tempTTL/2)); got != series {
		t.Error("miss within the TTL")
	}
	if got, _ := c.get(k, t0.Add(tempTTL)); got != nil {
		t.Error("hit after the TTL")
	}
	if got, _ := c.get(tempKey{station: "s1", from: t0, to: t0.AddDate(0, 2, 0)}, t0); got != nil {
		t.Error("hit for another window")
	}
	// An upload to the station drops its entries and refuses a read that
	// began before it.
	_, gen = c.get(k, t0)
	c.forget("s1")
	if got, _ := c.get(k, t0); got != nil {
		t.Error("hit after forget")
	}
	c.put(k, gen, series, t0)
	if got, _ := c.get(k, t0); got != nil {
		t.Error("a read that began before the upload was cached")
	}
	// Other stations are untouched.
	k2 := tempKey{station: "s2", from: t0, to: t0.AddDate(0, 1, 0)}
	_, gen2 := c.get(k2, t0)
	c.put(k2, gen2, series, t0)
	c.forget("s1")
	if got, _ := c.get(k2, t0); got != series {
		t.Error("forget of s1 dropped s2")
	}
}

// A settlement right after a temperature upload by this process sees the
// new readings, not a cached series.
func TestTempSeriesSeesUpload(t *testing.T) {
	s := seedThree(t)
	ctx := context.Background()
	from, to := DemoReportingStart, DemoReportingStart.AddDate(0, 1, 0)
	a, err := s.tempSeries(ctx, DemoCustomer, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := s.tempSeries(ctx, DemoCustomer, from, to); err != nil || b != a {
		t.Fatalf("second read within the TTL: %p, %v; want the cached %p", b, err, a)
	}
	if _, err := s.IngestTemperature(ctx, DemoCustomer, []store.TempReading{{Start: from, TempF: 99}}); err != nil {
		t.Fatal(err)
	}
	c, err := s.tempSeries(ctx, DemoCustomer, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if c == a {
		t.Fatal("read after an upload served the cached series")
	}
}
