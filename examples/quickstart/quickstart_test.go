package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/rewards"
	"github.com/shopspring/decimal"
)

const testdataDir = "../../testdata"

// TestRunTwice runs the quickstart twice against one data directory: the
// first run pays every month by the rule set's formula, the second pays
// nothing and leaves the balance as it was.
func TestRunTwice(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Testdata: testdataDir}
	var out bytes.Buffer
	first, err := Run(context.Background(), cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Months) != 12 {
		t.Fatalf("%d months settled, want 12 (Mar 2014 .. Feb 2015)", len(first.Months))
	}
	// rules.yaml by hand: round_half_even(kWh / 100 × 1.5 (gold)), at most
	// 750 a month, nothing when nothing was saved.
	var total decimal.Decimal
	for _, m := range first.Months {
		want := decimal.NewFromFloat(m.Month.SavingsKWh).Mul(decimal.RequireFromString("0.015")).RoundBank(0)
		if want.GreaterThan(decimal.NewFromInt(750)) {
			want = decimal.NewFromInt(750)
		}
		if want.IsNegative() {
			want = decimal.Zero
		}
		if !m.Points.Equal(want) || m.New != want.IsPositive() {
			t.Errorf("%s: %s kWh saved paid %s (new %v), want %s", m.Month.Month, decimal.NewFromFloat(m.Month.SavingsKWh), m.Points, m.New, want)
		}
		total = total.Add(want)
	}
	if !first.PaidNow.Equal(total) || !first.Balances[buildingID].Equal(total) {
		t.Errorf("paid %s, balance %s, want both %s", first.PaidNow, first.Balances[buildingID], total)
	}
	// The event against testdata/cambridge/check_event.py, an independent
	// implementation (the same case as examples/negawatt's event test).
	ev := first.Event
	var days []string
	for _, d := range ev.SelectedDays {
		days = append(days, d.String())
	}
	if d := cmp.Diff([]string{"2019-07-18", "2019-07-16", "2019-07-15", "2019-07-12", "2019-07-11"}, days); d != "" {
		t.Errorf("event baseline days (-python +go):\n%s", d)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"baseline", ev.BaselineKWh, 584.6457787144362}, {"actual", ev.ActualKWh, 689.6}, {"factor", ev.AdjustmentFactor, 1.1007376185458377}} {
		if rel := (c.got - c.want) / c.want; rel > 1e-9 || rel < -1e-9 {
			t.Errorf("event %s %v, python says %v", c.name, c.got, c.want)
		}
	}
	if first.EventOutcome.Rule != "event-savings" || first.EventOutcome.Status != rewards.StatusConditionFalse || !first.Balances[eventMeterID].IsZero() {
		t.Errorf("event: rule %q status %v balance %s; want event-savings unpaid (the building used more)", first.EventOutcome.Rule, first.EventOutcome.Status, first.Balances[eventMeterID])
	}
	for _, want := range []string{"2014-03", "2015-02", "trimmed by cap 750/month", "partial_month", "hdd_only", "data sufficiency PASS",
		"15:00", "584.6", "689.6", "This run paid " + total.String() + " points in 12 awards.", "Balances: nmecr-commercial " + total.String() + " points",
		filepath.Join(dir, "ledger.db"), filepath.Join(dir, "baseline-vs-actual.svg"), "Run again with --data-dir"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("statement lacks %q:\n%s", want, out.String())
		}
	}
	checkSVG(t, first.ChartPath)

	out.Reset()
	second, err := Run(context.Background(), cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	if second.AwardsNow != 0 || !second.PaidNow.IsZero() {
		t.Errorf("second run paid %s in %d awards, want nothing", second.PaidNow, second.AwardsNow)
	}
	if !second.Balances[buildingID].Equal(total) {
		t.Errorf("balance after second run %s, want %s", second.Balances[buildingID], total)
	}
	for i, m := range second.Months {
		if m.New || m.Status != first.Months[i].Status && m.Status != rewards.StatusSettled || !m.Points.Equal(first.Months[i].Points) {
			t.Errorf("second run %s: points %s new %v status %v; first run %s", m.Month.Month, m.Points, m.New, m.Status, first.Months[i].Points)
		}
	}
	if !strings.Contains(out.String(), "already paid by an earlier run") || !strings.Contains(out.String(), "This run paid 0 points in 0 awards.") {
		t.Errorf("second statement:\n%s", out.String())
	}
}

// checkSVG parses the chart as XML: an <svg> root with a title and the
// two series.
func checkSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var root string
	paths := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
				if se.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root namespace %q", se.Name.Space)
				}
			}
			if se.Name.Local == "path" || se.Name.Local == "polyline" {
				paths++
			}
		}
	}
	if root != "svg" || paths < 2 {
		t.Errorf("chart root <%s> with %d lines, want <svg> with baseline and actual", root, paths)
	}
	for _, want := range []string{"Baseline (counterfactual)", "Actual (metered)", "kWh/day"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("chart lacks %q", want)
		}
	}
}

func TestOutFlag(t *testing.T) {
	dir := t.TempDir()
	chartPath := filepath.Join(dir, "charts", "c.svg")
	var out, errOut bytes.Buffer
	if code := run([]string{"--data-dir", filepath.Join(dir, "d"), "--out", chartPath, "--testdata", testdataDir}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	checkSVG(t, chartPath)
	if !strings.Contains(out.String(), chartPath) {
		t.Errorf("statement does not say where the chart is:\n%s", out.String())
	}
}

func TestBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--nope"}, 2, "flag provided but not defined"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--testdata", "/nonexistent", "--data-dir", "DIR"}, 1, "--testdata /nonexistent"},
	} {
		var out, errOut bytes.Buffer
		for i, a := range tc.args {
			if a == "DIR" {
				tc.args[i] = t.TempDir()
			}
		}
		if code := run(tc.args, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut.String(), tc.code, tc.msg)
		}
	}
}

// TestGoRun runs the README's command itself, from the repository root.
func TestGoRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command with go run")
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "./examples/quickstart", "--data-dir", dir)
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./examples/quickstart: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "in 12 awards") {
		t.Errorf("output:\n%s", out)
	}
	checkSVG(t, filepath.Join(dir, "baseline-vs-actual.svg"))
}
