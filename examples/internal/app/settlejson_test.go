package app

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/negawatt/negawatt/rewards"
	"github.com/negawatt/negawatt/savings"
)

// TestSettleResultAppendJSON: the reflection-free encoding of a
// settlement's result is byte for byte what encoding/json produces, for
// any strings (HTML characters, invalid UTF-8), floats (exponent forms,
// -0), instants, amounts and optional fields; a non-finite float fails,
// so WriteJSON falls back to json.Marshal (which fails too).
func TestSettleResultAppendJSON(t *testing.T) {
	dec, instant := genDecimal(), genInstant()
	float := rapid.OneOf(rapid.Float64(), rapid.SampledFrom([]float64{0, math.Copysign(0, -1), 1e-7, -1e-7, 1e-6, 9.99e-7, 1e21, 1e20, 123.456, -5e-324, math.MaxFloat64}))
	str := rapid.OneOf(rapid.String(), rapid.SampledFrom([]string{"", "<a&b>", "\u2028\u2029", "\xff\xfe", `"\`, "2024-07"}))
	optDec := rapid.Custom(func(t *rapid.T) *decimal.Decimal {
		if rapid.Bool().Draw(t, "has") {
			d := dec.Draw(t, "d")
			return &d
		}
		return nil
	})
	outcome := rapid.Custom(func(t *rapid.T) OutcomeView {
		return OutcomeView{Rule: str.Draw(t, "rule"), Status: str.Draw(t, "status"), Points: optDec.Draw(t, "points"),
			Key: str.Draw(t, "key"), Adjusts: str.Draw(t, "adjusts"), Error: str.Draw(t, "error"),
			Explanation: rewards.Explanation{PaidBefore: dec.Draw(t, "paid"), Reason: str.Draw(t, "reason"), Winner: str.Draw(t, "winner")}}
	})
	fact := rapid.Custom(func(t *rapid.T) SettledFact {
		f := SettledFact{Customer: str.Draw(t, "customer"), Fact: str.Draw(t, "fact"), Kind: str.Draw(t, "kind"),
			Start: instant.Draw(t, "start"), End: instant.Draw(t, "end"),
			BaselineKWh: float.Draw(t, "base"), ObservedKWh: float.Draw(t, "obs"), SavingsKWh: float.Draw(t, "sav"),
			Points: dec.Draw(t, "points")}
		for _, fl := range rapid.SliceOfN(str, 0, 3).Draw(t, "flags") {
			f.Flags = append(f.Flags, savings.Flag(fl))
		}
		if rapid.Bool().Draw(t, "outcomes") {
			f.Outcomes = rapid.SliceOfN(outcome, 0, 3).Draw(t, "outcome")
		}
		return f
	})
	rapid.Check(t, func(t *rapid.T) {
		r := &SettleResult{RuleSet: RuleSetRef{Program: str.Draw(t, "program"), Version: rapid.Int().Draw(t, "version")},
			Awards: rapid.Int().Draw(t, "awards"), Points: dec.Draw(t, "total"), Problems: rapid.SliceOfN(str, 0, 3).Draw(t, "problems")}
		if rapid.Bool().Draw(t, "facts") {
			r.Facts = rapid.SliceOfN(fact, 0, 3).Draw(t, "fact")
		}
		want, werr := json.Marshal(r)
		got, gerr := r.AppendJSON(nil)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("json.Marshal error %v, AppendJSON error %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON:\n%s\njson.Marshal:\n%s", got, want)
		}
	})
}

// TestSettleResultAppendJSONReal: a real settlement's result (the demo
// customer's months, with explanations that render rule inputs) encodes
// as json.Marshal encodes it.
func TestSettleResultAppendJSONReal(t *testing.T) {
	s := newSQLiteService(t)
	ctx := context.Background()
	if err := LoadDemo(ctx, s, "../../../testdata"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // paid, then the idempotent re-run
		r, err := s.Settle(ctx, SettleRequest{Customers: []string{DemoCustomer}, From: "2014-03-01", To: "2014-09-01"})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Facts) == 0 || len(r.Facts[0].Outcomes) == 0 {
			t.Fatalf("settlement paid nothing to compare: %+v", r)
		}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON:\n%s\njson.Marshal:\n%s", got, want)
		}
	}
}

// BenchmarkSettleResultJSON encodes a real one-customer-month settlement
// result (the load test's request shape) with json.Marshal and with
// AppendJSON, the encoding WriteJSON uses.
func BenchmarkSettleResultJSON(b *testing.B) {
	s := newSQLiteService(b)
	ctx := context.Background()
	if err := LoadDemo(ctx, s, "../../../testdata"); err != nil {
		b.Fatal(err)
	}
	r, err := s.Settle(ctx, SettleRequest{Customers: []string{DemoCustomer}, From: "2014-07-01", To: "2014-08-01"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.AppendJSON(make([]byte, 0, 512)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestAppendFactJSON: a settlement row's fact is encoded byte for byte
// as json.Marshal encodes a rewards.Fact (so rows stay what they were and
// a retry rewrites them identically), for any strings, attributes (keys
// sorted), floats, instants, events and histories; a non-finite float
// fails, as json.Marshal does.
func TestAppendFactJSON(t *testing.T) {
	instant := rapid.Custom(func(t *rapid.T) time.Time {
		tm := time.Unix(rapid.Int64Range(-70000000000, 260000000000).Draw(t, "s"), rapid.Int64Range(0, 999999999).Draw(t, "ns")).UTC()
		if rapid.Bool().Draw(t, "zoned") {
			tm = tm.In(time.FixedZone("z", rapid.IntRange(-30*3600, 30*3600).Draw(t, "off")))
		}
		return tm
	})
	float := rapid.OneOf(rapid.Float64(), rapid.SampledFrom([]float64{0, math.Copysign(0, -1), 1e-7, 1e21, 0.9, math.Inf(1), math.NaN()}))
	str := rapid.OneOf(rapid.String(), rapid.SampledFrom([]string{"", "<a&b>", "\u2028", "\xff", `"\`, "period"}))
	rapid.Check(t, func(t *rapid.T) {
		f := rewards.Fact{
			Customer: rewards.Customer{ID: str.Draw(t, "id"), Tier: str.Draw(t, "tier"), EnrolledAt: instant.Draw(t, "enrolled")},
			Savings: savings.Result{Kind: savings.Kind(str.Draw(t, "kind")), ID: str.Draw(t, "fact"), EventType: str.Draw(t, "etype"),
				Start: instant.Draw(t, "start"), End: instant.Draw(t, "end"),
				BaselineKWh: float.Draw(t, "b"), ObservedKWh: float.Draw(t, "o"), SavingsKWh: float.Draw(t, "s"),
				PercentSavings: float.Draw(t, "p"), UncertaintyKWh: float.Draw(t, "u"), Confidence: float.Draw(t, "c")},
			History: rewards.History{EventStreak: rapid.Int().Draw(t, "streak"), EventsTotal: rapid.Int().Draw(t, "total")},
			Now:     instant.Draw(t, "now"),
		}
		if rapid.Bool().Draw(t, "attrs") {
			f.Customer.Attributes = rapid.MapOfN(str, str, 0, 4).Draw(t, "attributes")
		}
		for _, fl := range rapid.SliceOfN(str, 0, 3).Draw(t, "flags") {
			f.Savings.Flags = append(f.Savings.Flags, savings.Flag(fl))
		}
		if rapid.Bool().Draw(t, "event") {
			f.Event = &rewards.Event{ID: str.Draw(t, "eid"), Type: str.Draw(t, "etype2")}
		}
		want, werr := json.Marshal(f)
		got, gerr := appendFactJSON(nil, &f)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("json.Marshal error %v, appendFactJSON error %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("appendFactJSON:\n%s\njson.Marshal:\n%s", got, want)
		}
	})
}
