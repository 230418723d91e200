package baseline

import (
	"fmt"
	"time"
)

// Method is a CalTRACK 2.0 usage-per-day method.
type Method int

const (
	// Daily is the CalTRACK daily method (CalTRACK 2.0 §3, eemeter
	// create_caltrack_daily_design_matrix): usage summed into UTC days,
	// degree days from each day's mean temperature, ordinary least squares.
	Daily Method = iota + 1
	// Billing is the CalTRACK billing method (monthly or bimonthly periods;
	// eemeter create_caltrack_billing_design_matrix with
	// use_billing_presets=True): usage per day, degree days averaged over
	// the period's days, weighted least squares with n_days_kept weights.
	Billing
)

// String returns "caltrack_daily" or "caltrack_billing".
func (m Method) String() string {
	switch m {
	case Daily:
		return "caltrack_daily"
	case Billing:
		return "caltrack_billing"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod accepts "daily", "billing", "caltrack_daily" or "caltrack_billing".
func ParseMethod(s string) (Method, error) {
	switch s {
	case "daily", "caltrack_daily":
		return Daily, nil
	case "billing", "caltrack_billing":
		return Billing, nil
	}
	return 0, fmt.Errorf("%w: unknown method %q (want daily or billing)", ErrBadOptions, s)
}

// Options configures a fit. Start from [DailyOptions] or [BillingOptions]
// (eemeter 2.10.11's defaults); the zero value is invalid.
type Options struct {
	// Method is Daily or Billing.
	Method Method
	// FitCDD fits the cdd_only and cdd_hdd candidates (eemeter fit_cdd,
	// default true; CalTRACK 3.4.3.1 says false for gas).
	FitCDD bool
	// BetaHDDMaxPValue and BetaCDDMaxPValue disqualify a candidate whose
	// beta's two-sided t-test p-value is greater. eemeter's default 1 means
	// no screen; 0.1 is the CalTRACK 1.0 screen.
	BetaHDDMaxPValue float64
	BetaCDDMaxPValue float64
	// MinNonZeroHDD and MinNonZeroCDD: a candidate is not attempted when
	// fewer rows have non-zero degree days (CalTRACK 3.2.2.2.1; daily 10,
	// billing 0).
	MinNonZeroHDD int
	MinNonZeroCDD int
	// MinTotalHDD and MinTotalCDD: a candidate is not attempted when the
	// degree days summed over the baseline (weighted by n_days_kept for
	// billing) are below this (CalTRACK 3.2.2.2.2; 20).
	MinTotalHDD float64
	MinTotalCDD float64
	// Balance-point grid in whole °F, inclusive, for heating and cooling
	// (CalTRACK 3.2.2.1; eemeter range(30, 91): 30, 90, step 1).
	MinBalancePointF  int
	MaxBalancePointF  int
	BalancePointStepF int
	// BillingToleranceDays limits which hourly temperatures are matched to
	// a billing period when fitting (eemeter's 35-day merge_asof tolerance;
	// it makes ~61-day bimonthly bills use only their first 35 days of
	// temperature). Ignored for Daily.
	BillingToleranceDays int
	// FullPeriodBillingTemperature, when true, departs from eemeter: every
	// billing period uses all of its hourly temperatures when fitting (no
	// BillingToleranceDays limit), fixing the bimonthly quirk. Off by
	// default.
	FullPeriodBillingTemperature bool
	// SufficiencyDays is the exact baseline span CalTRACK 2.2.1 requires (365).
	SufficiencyDays int
}

// DailyOptions returns eemeter 2.10.11's defaults for the daily method.
func DailyOptions() Options {
	return Options{
		Method: Daily, FitCDD: true,
		BetaHDDMaxPValue: 1, BetaCDDMaxPValue: 1,
		MinNonZeroHDD: 10, MinNonZeroCDD: 10, MinTotalHDD: 20, MinTotalCDD: 20,
		MinBalancePointF: 30, MaxBalancePointF: 90, BalancePointStepF: 1,
		BillingToleranceDays: 35, SufficiencyDays: 365,
	}
}

// BillingOptions returns eemeter 2.10.11's billing presets
// (use_billing_presets=True, weights_col="n_days_kept").
func BillingOptions() Options {
	o := DailyOptions()
	o.Method = Billing
	o.MinNonZeroHDD, o.MinNonZeroCDD = 0, 0
	return o
}

// OptionsFor returns DailyOptions or BillingOptions.
func OptionsFor(m Method) Options {
	if m == Billing {
		return BillingOptions()
	}
	return DailyOptions()
}

func (o *Options) validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrBadOptions}, a...)...) }
	switch {
	case o.Method != Daily && o.Method != Billing:
		return bad("Method must be Daily or Billing (start from DailyOptions or BillingOptions)")
	case !(o.BetaHDDMaxPValue > 0 && o.BetaHDDMaxPValue <= 1):
		return bad("BetaHDDMaxPValue %v not in (0, 1]", o.BetaHDDMaxPValue)
	case !(o.BetaCDDMaxPValue > 0 && o.BetaCDDMaxPValue <= 1):
		return bad("BetaCDDMaxPValue %v not in (0, 1]", o.BetaCDDMaxPValue)
	case o.BalancePointStepF <= 0:
		return bad("BalancePointStepF %d must be positive", o.BalancePointStepF)
	case o.MinBalancePointF > o.MaxBalancePointF:
		return bad("MinBalancePointF %d > MaxBalancePointF %d", o.MinBalancePointF, o.MaxBalancePointF)
	case o.MinBalancePointF < -100 || o.MaxBalancePointF > 200:
		return bad("balance points %d..%d outside -100..200 °F", o.MinBalancePointF, o.MaxBalancePointF)
	case o.Method == Billing && o.BillingToleranceDays <= 0 && !o.FullPeriodBillingTemperature:
		return bad("BillingToleranceDays %d must be positive", o.BillingToleranceDays)
	case o.SufficiencyDays <= 0:
		return bad("SufficiencyDays %d must be positive", o.SufficiencyDays)
	}
	return nil
}

const day = 24 * time.Hour
