package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/negawatt/negawatt/baseline"
)

func init() {
	register(&command{name: "baseline", summary: "fit, plot or batch-fit CalTRACK 2.0 baselines (baseline fit|plot|batch ...)", run: runBaseline})
}

// baselineSub is a `baseline` sub-subcommand other than fit, registered
// from its own file's init (cmd_baseline_plot.go, cmd_baseline_batch.go).
type baselineSub struct {
	usage string
	run   func(args []string, stdout, stderr io.Writer) int
}

var baselineSubs = map[string]baselineSub{}

const baselineFitUsage = "negawatt baseline fit --usage U.csv --temperature T.csv --method daily|billing --baseline-end 2016-12-26T00:00:00Z [--baseline-days 365] [--fit-cdd=true|false] [--max-p-value 1] [--json]"

func runBaseline(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return fail(stderr, "baseline", errors.New("missing subcommand (want: baseline fit ...)"))
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, "usage: "+baselineFitUsage)
		for _, name := range []string{"plot", "batch"} {
			if sub, ok := baselineSubs[name]; ok {
				fmt.Fprintln(stdout, "       "+sub.usage)
			}
		}
		return exitOK
	}
	if sub, ok := baselineSubs[args[0]]; ok {
		return sub.run(args[1:], stdout, stderr)
	}
	if args[0] != "fit" {
		return fail(stderr, "baseline", fmt.Errorf("unknown subcommand %q (want: fit, plot or batch)", args[0]))
	}
	const name = "baseline fit"
	var f fitFlags
	fs := newFlagSet(name)
	f.register(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printFlagHelp(stdout, baselineFitUsage, fs)
			return exitOK
		}
		return fail(stderr, name, err)
	}
	in, err := f.load()
	if err != nil {
		return fail(stderr, name, err)
	}
	res, err := in.fit(&f)
	if err != nil {
		return fail(stderr, name, err)
	}
	out := newFitJSON(res)
	if f.json {
		b, err := json.Marshal(out)
		if err != nil {
			return fail(stderr, name, err)
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return exitOK
	}
	printFitTable(stdout, res)
	return exitOK
}

// fitJSON is the `baseline fit --json` contract (issue 2): exactly these keys.
type fitJSON struct {
	Method              string         `json:"method"`
	ModelType           string         `json:"model_type"`
	HeatingBalancePoint *int           `json:"heating_balance_point"`
	CoolingBalancePoint *int           `json:"cooling_balance_point"`
	Intercept           *float64       `json:"intercept"`
	BetaHDD             *float64       `json:"beta_hdd"`
	BetaCDD             *float64       `json:"beta_cdd"`
	RSquaredAdj         *float64       `json:"r_squared_adj"`
	CVRMSEAdj           *float64       `json:"cvrmse_adj"`
	NMBE                *float64       `json:"nmbe"`
	N                   int            `json:"n"`
	Candidates          candidatesJSON `json:"candidates"`
	Sufficiency         sufficiencyOut `json:"sufficiency"`
}

type candidatesJSON struct {
	Qualified    int `json:"qualified"`
	Disqualified int `json:"disqualified"`
	NotAttempted int `json:"not_attempted"`
}

type sufficiencyOut struct {
	Status   string   `json:"status"`
	Warnings []string `json:"warnings"`
}

func jnum(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func newFitJSON(res *baseline.FitResult) fitJSON {
	m := res.Model
	out := fitJSON{
		Method: m.Method.String(), ModelType: m.Type.String(),
		Intercept: jnum(m.Intercept), RSquaredAdj: jnum(m.RSquaredAdj),
		// eemeter reports the usage-per-day (avgs) metrics.
		CVRMSEAdj: jnum(m.AvgsMetrics.CVRMSEAdj), NMBE: jnum(m.AvgsMetrics.NMBE), N: m.N,
		Candidates:  candidatesJSON{res.Counts.Qualified, res.Counts.Disqualified, res.Counts.NotAttempted},
		Sufficiency: sufficiencyOut{Status: string(res.Sufficiency.Status), Warnings: res.Sufficiency.WarningNames()},
	}
	if m.Type.HasHDD() {
		h := m.HeatingBalancePointF
		out.HeatingBalancePoint, out.BetaHDD = &h, jnum(m.BetaHDD)
	}
	if m.Type.HasCDD() {
		c := m.CoolingBalancePointF
		out.CoolingBalancePoint, out.BetaCDD = &c, jnum(m.BetaCDD)
	}
	return out
}

func fmtOpt(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.6g", *p)
}

func fmtOptInt(p *int) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%d °F", *p)
}

func printFitTable(w io.Writer, res *baseline.FitResult) {
	j := newFitJSON(res)
	rows := [][2]string{
		{"method", j.Method},
		{"model type", j.ModelType},
		{"heating balance point", fmtOptInt(j.HeatingBalancePoint)},
		{"cooling balance point", fmtOptInt(j.CoolingBalancePoint)},
		{"intercept (per day)", fmtOpt(j.Intercept)},
		{"beta HDD", fmtOpt(j.BetaHDD)},
		{"beta CDD", fmtOpt(j.BetaCDD)},
		{"adjusted R²", fmtOpt(j.RSquaredAdj)},
		{"CV(RMSE) adj", fmtOpt(j.CVRMSEAdj)},
		{"NMBE", fmtOpt(j.NMBE)},
		{"rows fitted", fmt.Sprint(j.N)},
		{"candidates", fmt.Sprintf("%d qualified, %d disqualified, %d not attempted", j.Candidates.Qualified, j.Candidates.Disqualified, j.Candidates.NotAttempted)},
		{"sufficiency", j.Sufficiency.Status},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-22s %s\n", r[0], r[1])
	}
	for _, warn := range j.Sufficiency.Warnings {
		fmt.Fprintf(w, "%-22s %s\n", "  warning", strings.TrimPrefix(warn, "eemeter.caltrack_sufficiency_criteria."))
	}
}
