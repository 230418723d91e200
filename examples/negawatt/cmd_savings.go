package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/negawatt/negawatt/baseline"
	"github.com/negawatt/negawatt/savings"
)

func init() {
	register(&command{name: "savings", summary: "metered savings against a CalTRACK baseline", run: runSavings})
}

const savingsUsage = "negawatt savings --usage U.csv --temperature T.csv --method daily|billing --baseline-end T --reporting-start T [--reporting-days 365] [--baseline-days 365] [--fit-cdd=true|false] [--max-p-value 1] [--confidence 0.9] [--json]"

func runSavings(args []string, stdout, stderr io.Writer) int {
	const name = "savings"
	var f fitFlags
	var repStart string
	var repDays int
	fs := newFlagSet(name)
	f.register(fs)
	fs.StringVar(&repStart, "reporting-start", "", "reporting period start, RFC 3339 (e.g. 2017-01-04T00:00:00Z)")
	fs.IntVar(&repDays, "reporting-days", 365, "reporting period length in days")
	var confidence float64
	fs.Float64Var(&confidence, "confidence", savings.DefaultConfidence, "two-sided confidence level of the error bands, in (0, 1)")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printFlagHelp(stdout, savingsUsage, fs)
			return exitOK
		}
		return fail(stderr, name, err)
	}
	start, err := parseTimeFlag("reporting-start", repStart)
	if err != nil {
		return fail(stderr, name, err)
	}
	if !(confidence > 0 && confidence < 1) {
		return fail(stderr, name, fmt.Errorf("--confidence %v: must be in (0, 1), e.g. 0.9", confidence))
	}
	if repDays <= 0 {
		return fail(stderr, name, fmt.Errorf("--reporting-days %d: must be positive", repDays))
	}
	in, err := f.load()
	if err != nil {
		return fail(stderr, name, err)
	}
	res, err := in.fit(&f)
	if err != nil {
		return fail(stderr, name, err)
	}
	ms, err := savings.MeteredWindow(res.Model, in.usage, in.temp, start, repDays)
	if err != nil {
		if errors.Is(err, baseline.ErrNoData) {
			return fail(stderr, name, fmt.Errorf("%s: no usage in the reporting window starting %s", f.usage, start.Format(time.RFC3339)))
		}
		return fail(stderr, name, err)
	}
	out := savingsJSON{Counterfactual: jnum(ms.CounterfactualKWh), Observed: jnum(ms.ObservedKWh),
		Savings: jnum(ms.SavingsKWh), PercentSavings: jnum(ms.PercentSavings), NPeriods: ms.NPeriods}
	// eemeter 2.10.11's error bands (ASHRAE Guideline 14 / CalTRACK); null
	// where eemeter reports none.
	bands, bandsErr := savings.MeteredUncertainty(res.Model, ms, confidence)
	if bandsErr == nil {
		out.FSUErrorBand, out.OLSErrorBand = jnum(bands.FSUKWh), jnum(bands.OLSKWh)
	} else if !errors.Is(bandsErr, savings.ErrUncertaintyUndefined) {
		return fail(stderr, name, bandsErr)
	}
	if f.json {
		b, err := json.Marshal(out)
		if err != nil {
			return fail(stderr, name, err)
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return exitOK
	}
	fmt.Fprintf(stdout, "%-16s %s %v, bps %s/%s\n", "baseline model", res.Model.Method, res.Model.Type,
		fmtOptInt(newFitJSON(res).HeatingBalancePoint), fmtOptInt(newFitJSON(res).CoolingBalancePoint))
	fmt.Fprintf(stdout, "%-16s %s .. %s (%d periods)\n", "reporting", ms.Start.Format("2006-01-02"), ms.End.Format("2006-01-02"), ms.NPeriods)
	fmt.Fprintf(stdout, "%-16s %.2f\n", "counterfactual", ms.CounterfactualKWh)
	fmt.Fprintf(stdout, "%-16s %.2f\n", "observed", ms.ObservedKWh)
	fmt.Fprintf(stdout, "%-16s %.2f (%.2f %%)\n", "savings", ms.SavingsKWh, ms.PercentSavings)
	if bandsErr != nil {
		fmt.Fprintf(stdout, "%-16s %v\n", "error bands", bandsErr)
	} else {
		fmt.Fprintf(stdout, "%-16s ± %.2f FSU, ± %.2f OLS (model %.2f, noise %.2f) at %g %% confidence\n", "error bands",
			bands.FSUKWh, bands.OLSKWh, bands.OLSModelKWh, bands.OLSNoiseKWh, 100*confidence)
	}
	return exitOK
}

// savingsJSON is the `savings --json` contract (issue 2).
type savingsJSON struct {
	Counterfactual *float64 `json:"counterfactual"`
	Observed       *float64 `json:"observed"`
	Savings        *float64 `json:"savings"`
	PercentSavings *float64 `json:"percent_savings"`
	NPeriods       int      `json:"n_periods"`
	// FSUErrorBand and OLSErrorBand are eemeter's "FSU Error Band" and
	// "OLS Error Band" (issue 4), half-widths at --confidence (default
	// 90 %); null when undefined.
	FSUErrorBand *float64 `json:"fsu_error_band"`
	OLSErrorBand *float64 `json:"ols_error_band"`
}
