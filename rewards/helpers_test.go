package rewards

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/negawatt/negawatt/savings"
)

func mustLoad(t testing.TB, src string, opts ...Option) *Program {
	t.Helper()
	p, err := Load("test.yaml", []byte(src), opts...)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

func loadFile(t testing.TB, path string) *Program {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(path, src)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// periodFact is a period fact of kWh saved, starting at start.
func periodFact(customer, tier, id, start string, kwh float64) Fact {
	return Fact{
		Customer: Customer{ID: customer, Tier: tier},
		Savings: savings.Result{Kind: savings.KindPeriod, ID: id, Start: mustTime(start), End: mustTime(start).AddDate(0, 1, 0),
			BaselineKWh: 100, ObservedKWh: 100 - kwh, SavingsKWh: kwh, PercentSavings: kwh},
	}
}

func pointsOf(outs []Outcome) map[string]string {
	m := map[string]string{}
	for _, o := range outs {
		if o.Award != nil {
			m[fmt.Sprintf("%s/%s/%s", o.Customer, o.Rule, o.Fact)] = o.Award.Points.String()
		}
	}
	return m
}
