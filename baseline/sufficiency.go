package baseline

import (
	"math"
	"sort"
	"time"
)

// SufficiencyStatus is "PASS" or "FAIL".
type SufficiencyStatus string

// Sufficiency statuses (eemeter DataSufficiency.status).
const (
	Pass SufficiencyStatus = "PASS"
	Fail SufficiencyStatus = "FAIL"
)

// Warning is a machine-readable finding, named as eemeter names it
// (e.g. "eemeter.caltrack_sufficiency_criteria.incorrect_number_of_total_days"),
// with its data.
type Warning struct {
	QualifiedName string         `json:"qualified_name"`
	Description   string         `json:"description"`
	Data          map[string]any `json:"data"`
}

// Sufficiency is CalTRACK 2.2's baseline data-sufficiency verdict
// (eemeter caltrack_sufficiency_criteria): FAIL when the span is not
// exactly SufficiencyDays, when fewer than 90 % of days are valid
// (overall, meter data, temperature data), when any meter value is
// negative, or when data lie outside the requested window. Extreme values
// (> median + 3·IQR) raise a non-critical warning.
type Sufficiency struct {
	Status   SufficiencyStatus
	Warnings []Warning
	// NDaysTotal, NValidDays, NValidMeterDays, NValidTemperatureDays are
	// eemeter's n_days_total, n_valid_days, n_valid_meter_value_days and
	// n_valid_temperature_days.
	NDaysTotal, NValidDays, NValidMeterDays, NValidTemperatureDays int
}

// WarningNames returns the warnings' qualified names.
func (s *Sufficiency) WarningNames() []string {
	out := make([]string, len(s.Warnings))
	for i, w := range s.Warnings {
		out[i] = w.QualifiedName
	}
	return out
}

// pyDays is Python timedelta.days: floor of the duration in days.
func pyDays(d time.Duration) int {
	q := d / day
	if d%day < 0 {
		q--
	}
	return int(q)
}

const sufName = "eemeter.caltrack_sufficiency_criteria."

func (d *Design) sufficiency(o *Options) Sufficiency {
	rows := d.f.rows
	s := Sufficiency{Status: Pass}
	var crit, noncrit []Warning
	dataStart, dataEnd := rows[0].start, rows[len(rows)-1].start
	nData := pyDays(dataEnd.Sub(dataStart))
	startGap, endGap := 0, 0
	if d.hasReq {
		startGap = pyDays(dataStart.Sub(d.reqStart))
		endGap = pyDays(d.reqEnd.Sub(dataEnd))
	}
	if endGap < 0 {
		crit = append(crit, Warning{sufName + "extra_data_after_requested_end_date", "Extra data found after requested end date.",
			map[string]any{"requested_end": d.reqEnd.Format(time.RFC3339), "data_end": dataEnd.Format(time.RFC3339)}})
		endGap = 0
	}
	if startGap < 0 {
		crit = append(crit, Warning{sufName + "extra_data_before_requested_start_date", "Extra data found before requested start date.",
			map[string]any{"requested_start": d.reqStart.Format(time.RFC3339), "data_start": dataStart.Format(time.RFC3339)}})
		startGap = 0
	}
	total := nData + startGap + endGap
	s.NDaysTotal = total
	var vals []float64
	nNeg := 0
	var meterDays, tempDays, validDays float64
	for i := range rows {
		r := &rows[i]
		if !r.ok {
			continue
		}
		// After eemeter blanks partial rows, a row has a meter value
		// exactly when it is complete.
		vals = append(vals, r.y)
		if r.y < 0 {
			nNeg++
		}
		meterDays += r.days
		if float64(r.tNotNull)/float64(r.tNotNull+r.tNull) > 0.9 {
			tempDays += r.days
			validDays += r.days
		}
	}
	s.NValidMeterDays, s.NValidTemperatureDays, s.NValidDays = int(meterDays), int(tempDays), int(validDays)
	if nNeg > 0 {
		crit = append(crit, Warning{sufName + "negative_meter_values",
			"Found negative meter data values, which may indicate presence of solar net metering.",
			map[string]any{"n_negative_meter_values": nNeg}})
	}
	if total != o.SufficiencyDays {
		crit = append(crit, Warning{sufName + "incorrect_number_of_total_days", "Total data span does not match the required value.",
			map[string]any{"num_days": o.SufficiencyDays, "n_days_total": total}})
	}
	frac := func(v int) float64 {
		if total > 0 {
			return float64(v) / float64(total)
		}
		return 0
	}
	if frac(s.NValidDays) < 0.9 {
		crit = append(crit, Warning{sufName + "too_many_days_with_missing_data", "Too many days in data have missing meter data or temperature data.",
			map[string]any{"n_valid_days": s.NValidDays, "n_days_total": total}})
	}
	if frac(s.NValidMeterDays) < 0.9 {
		crit = append(crit, Warning{sufName + "too_many_days_with_missing_meter_data", "Too many days in data have missing meter data.",
			map[string]any{"n_valid_meter_data_days": s.NValidMeterDays, "n_days_total": total}})
	}
	if frac(s.NValidTemperatureDays) < 0.9 {
		crit = append(crit, Warning{sufName + "too_many_days_with_missing_temperature_data", "Too many days in data have missing temperature data.",
			map[string]any{"n_valid_temperature_data_days": s.NValidTemperatureDays, "n_days_total": total}})
	}
	if len(vals) > 0 {
		sort.Float64s(vals)
		med, q75, q25 := quantile(vals, 0.5), quantile(vals, 0.75), quantile(vals, 0.25)
		limit := med + 3*(q75-q25)
		nExt := 0
		for _, v := range vals {
			if v > limit {
				nExt++
			}
		}
		if nExt > 0 {
			noncrit = append(noncrit, Warning{sufName + "extreme_values_detected",
				"Extreme values (greater than (median + (3 * IQR)), must be flagged for manual review.",
				map[string]any{"n_extreme_values": nExt, "median": med, "upper_quantile": q75, "lower_quantile": q25,
					"extreme_value_limit": limit, "max_value": vals[len(vals)-1]}})
		}
	}
	if len(crit) > 0 {
		s.Status = Fail
	}
	s.Warnings = append(crit, noncrit...)
	return s
}

// quantile is pandas' default linear-interpolation quantile of sorted v.
func quantile(v []float64, q float64) float64 {
	pos := q * float64(len(v)-1)
	lo := math.Floor(pos)
	i := int(lo)
	if i+1 >= len(v) {
		return v[len(v)-1]
	}
	return v[i] + (v[i+1]-v[i])*(pos-lo)
}
