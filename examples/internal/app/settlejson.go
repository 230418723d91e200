package app

import (
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/negawatt/negawatt/examples/internal/platform"
	"github.com/negawatt/negawatt/rewards"
)

// errNotFinite makes WriteJSON fall back to json.Marshal, which reports
// the value it cannot encode.
var errNotFinite = errors.New("app: non-finite number")

// AppendJSON implements platform.JSONAppender: a settlement's result is
// encoded without reflection, byte for byte as json.Marshal does (checked
// by TestSettleResultAppendJSON). Explanations encode themselves.
func (r *SettleResult) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"rule_set":{"program":`...)
	b = platform.AppendJSONString(b, r.RuleSet.Program)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(r.RuleSet.Version), 10)
	b = append(b, `},"facts":`...)
	var err error
	if r.Facts == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Facts {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = r.Facts[i].appendJSON(b); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"awards":`...)
	b = strconv.AppendInt(b, int64(r.Awards), 10)
	b = append(append(append(b, `,"points":"`...), r.Points.String()...), '"')
	if len(r.Problems) > 0 {
		b = append(b, `,"problems":[`...)
		for i, p := range r.Problems {
			if i > 0 {
				b = append(b, ',')
			}
			b = platform.AppendJSONString(b, p)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func (f *SettledFact) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"customer":`...)
	b = platform.AppendJSONString(b, f.Customer)
	b = append(b, `,"fact":`...)
	b = platform.AppendJSONString(b, f.Fact)
	b = append(b, `,"kind":`...)
	b = platform.AppendJSONString(b, f.Kind)
	b = append(b, `,"start":`...)
	b, err := appendJSONTime(b, f.Start)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"end":`...)
	if b, err = appendJSONTime(b, f.End); err != nil {
		return nil, err
	}
	for _, v := range [...]struct {
		name string
		x    float64
	}{{`,"baseline_kwh":`, f.BaselineKWh}, {`,"observed_kwh":`, f.ObservedKWh}, {`,"savings_kwh":`, f.SavingsKWh}} {
		b = append(b, v.name...)
		if b, err = appendJSONFloat(b, v.x); err != nil {
			return nil, err
		}
	}
	if len(f.Flags) > 0 {
		b = append(b, `,"flags":[`...)
		for i, fl := range f.Flags {
			if i > 0 {
				b = append(b, ',')
			}
			b = platform.AppendJSONString(b, string(fl))
		}
		b = append(b, ']')
	}
	b = append(append(append(b, `,"points":"`...), f.Points.String()...), `","outcomes":`...)
	if f.Outcomes == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range f.Outcomes {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = f.Outcomes[i].appendJSON(b); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func (o *OutcomeView) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"rule":`...)
	b = platform.AppendJSONString(b, o.Rule)
	b = append(b, `,"status":`...)
	b = platform.AppendJSONString(b, o.Status)
	if o.Points != nil {
		b = append(append(append(b, `,"points":"`...), o.Points.String()...), '"')
	}
	for _, v := range [...]struct{ name, s string }{{`,"key":`, o.Key}, {`,"adjusts":`, o.Adjusts}, {`,"error":`, o.Error}} {
		if v.s != "" {
			b = platform.AppendJSONString(append(b, v.name...), v.s)
		}
	}
	// Explanation.MarshalJSON returns json.Marshal's compact, HTML-escaped
	// output, which is what encoding/json would embed.
	ex, err := o.Explanation.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(append(b, `,"explanation":`...), ex...)
	return append(b, '}'), nil
}

// appendJSONFloat appends f as encoding/json encodes a float64: the
// shortest representation, in exponent form below 1e-6 or from 1e21 on
// (with a one-digit negative exponent unpadded, "1e-7").
func appendJSONFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errNotFinite
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// "1e-07" → "1e-7", as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// appendFactJSON appends f as json.Marshal encodes a rewards.Fact (the
// settlement row's copy that shadow reports re-evaluate), without
// reflection (checked by TestAppendFactJSON).
func appendFactJSON(b []byte, f *rewards.Fact) ([]byte, error) {
	c := &f.Customer
	b = append(b, `{"customer":{"id":`...)
	b = platform.AppendJSONString(b, c.ID)
	b = append(b, `,"tier":`...)
	b = platform.AppendJSONString(b, c.Tier)
	b = append(b, `,"enrolled_at":`...)
	b, err := appendJSONTime(b, c.EnrolledAt)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"attributes":`...)
	if c.Attributes == nil {
		b = append(b, "null"...)
	} else {
		// encoding/json writes a map's entries sorted by key.
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(c.Attributes)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(platform.AppendJSONString(b, k), ':')
			b = platform.AppendJSONString(b, c.Attributes[k])
		}
		b = append(b, '}')
	}
	r := &f.Savings
	b = append(b, `},"savings":{"kind":`...)
	b = platform.AppendJSONString(b, string(r.Kind))
	b = append(b, `,"id":`...)
	b = platform.AppendJSONString(b, r.ID)
	if r.EventType != "" {
		b = append(b, `,"event_type":`...)
		b = platform.AppendJSONString(b, r.EventType)
	}
	b = append(b, `,"start":`...)
	if b, err = appendJSONTime(b, r.Start); err != nil {
		return nil, err
	}
	b = append(b, `,"end":`...)
	if b, err = appendJSONTime(b, r.End); err != nil {
		return nil, err
	}
	for _, v := range [...]struct {
		name string
		x    float64
	}{{`,"baseline_kwh":`, r.BaselineKWh}, {`,"observed_kwh":`, r.ObservedKWh}, {`,"kwh":`, r.SavingsKWh},
		{`,"percent":`, r.PercentSavings}, {`,"uncertainty_kwh":`, r.UncertaintyKWh}} {
		b = append(b, v.name...)
		if b, err = appendJSONFloat(b, v.x); err != nil {
			return nil, err
		}
	}
	if r.Confidence != 0 {
		b = append(b, `,"confidence":`...)
		if b, err = appendJSONFloat(b, r.Confidence); err != nil {
			return nil, err
		}
	}
	if len(r.Flags) > 0 {
		b = append(b, `,"flags":[`...)
		for i, fl := range r.Flags {
			if i > 0 {
				b = append(b, ',')
			}
			b = platform.AppendJSONString(b, string(fl))
		}
		b = append(b, ']')
	}
	b = append(b, `},"event":`...)
	if f.Event == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"id":`...)
		b = platform.AppendJSONString(b, f.Event.ID)
		b = append(b, `,"type":`...)
		b = platform.AppendJSONString(b, f.Event.Type)
		b = append(b, '}')
	}
	b = append(b, `,"history":{"event_streak":`...)
	b = strconv.AppendInt(b, int64(f.History.EventStreak), 10)
	b = append(b, `,"events_total":`...)
	b = strconv.AppendInt(b, int64(f.History.EventsTotal), 10)
	b = append(b, `},"now":`...)
	if b, err = appendJSONTime(b, f.Now); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}
