package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/negawatt/negawatt/rewards"
	"github.com/shopspring/decimal"
)

func init() {
	register(&command{name: "rules", summary: "check, simulate and diff reward rule sets", run: runRules})
}

const rulesUsage = `usage:
  negawatt rules check FILE
  negawatt rules simulate --rules FILE --facts FACTS.jsonl
  negawatt rules diff --live A.yaml --candidate B.yaml --facts FACTS.jsonl`

func runRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, rulesUsage)
		return exitUsage
	}
	switch args[0] {
	case "check":
		return rulesCheck(args[1:], stdout, stderr)
	case "simulate":
		return rulesSimulate(args[1:], stdout, stderr)
	case "diff":
		return rulesDiff(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, rulesUsage)
		return exitOK
	}
	return fail(stderr, "rules", fmt.Errorf("unknown subcommand %q (want check, simulate or diff)", args[0]))
}

// loadRules reads and compiles a rule file. On failure it prints every
// problem as FILE:LINE:COL: rule "ID": message (with the caret snippet
// indented below it) and returns false.
func loadRules(path string, stderr io.Writer) (*rewards.Program, bool) {
	src, err := readLimited(path, rewards.DefaultLimits().MaxFileBytes)
	if err != nil {
		fmt.Fprintf(stderr, "%s:1:1: rule \"\": %v\n", path, err)
		return nil, false
	}
	p, err := rewards.Load(path, src)
	if err != nil {
		var errs rewards.RuleErrors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(stderr, e.Detail())
			}
		} else {
			fmt.Fprintf(stderr, "%s:1:1: rule \"\": %v\n", path, err)
		}
		return nil, false
	}
	return p, true
}

// readLimited reads at most limit+1 bytes, so a huge file is rejected by
// the loader's size limit without being read whole.
func readLimited(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, int64(limit)+1))
}

func rulesCheck(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: negawatt rules check FILE")
		return exitUsage
	}
	p, ok := loadRules(args[0], stderr)
	if !ok {
		return exitProblem
	}
	rs := p.RuleSet()
	window := "always"
	if !rs.EffectiveFrom.IsZero() || !rs.EffectiveTo.IsZero() {
		window = fmt.Sprintf("%s to %s", fmtWhen(rs.EffectiveFrom), fmtWhen(rs.EffectiveTo))
	}
	fmt.Fprintf(stdout, "%s: ok: program %q version %d, %d rules, effective %s, rounding %s\n",
		args[0], rs.Program, rs.Version, len(rs.Rules), window, rs.Rounding)
	return exitOK
}

func fmtWhen(t time.Time) string {
	if t.IsZero() {
		return "unbounded"
	}
	return t.Format("2006-01-02T15:04:05Z07:00")
}

func loadFacts(path string) ([]rewards.Fact, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	facts, err := rewards.DecodeFacts(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return facts, nil
}

// awardLine is one line of `rules simulate` output.
type awardLine struct {
	Customer string              `json:"customer"`
	Rule     string              `json:"rule"`
	Fact     string              `json:"fact"`
	Points   *decimal.Decimal    `json:"points,omitempty"`
	Error    string              `json:"error,omitempty"`
	Key      string              `json:"key"`
	Adjusts  string              `json:"adjusts,omitempty"`
	Explain  rewards.Explanation `json:"explain"`
}

func rulesSimulate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rulesPath := fs.String("rules", "", "rule file (YAML or JSON)")
	factsPath := fs.String("facts", "", "facts, one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *rulesPath == "" || *factsPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: negawatt rules simulate --rules FILE --facts FACTS.jsonl")
		return exitUsage
	}
	p, ok := loadRules(*rulesPath, stderr)
	if !ok {
		return exitProblem
	}
	facts, err := loadFacts(*factsPath)
	if err != nil {
		return fail(stderr, "rules simulate", err)
	}
	tally := &rewards.MemoryTally{}
	enc := json.NewEncoder(stdout)
	code := exitOK
	var outs []rewards.Outcome
	for i := range facts {
		outs, err = p.AppendEvaluate(outs[:0], tally, &facts[i])
		if err != nil {
			return fail(stderr, "rules simulate", err)
		}
		for _, o := range outs {
			var line awardLine
			switch {
			case o.Award != nil:
				a := o.Award
				line = awardLine{Customer: a.Customer, Rule: a.Rule, Fact: a.Fact, Points: &a.Points,
					Key: a.Key, Adjusts: a.Adjusts, Explain: a.Explanation}
			case o.Status == rewards.StatusError:
				line = awardLine{Customer: o.Customer, Rule: o.Rule, Fact: o.Fact, Error: o.Err.Error(),
					Key: rewards.AwardKey(p.Program(), o.Rule, o.Customer, o.Fact), Explain: o.Explanation}
				code = exitProblem
			default:
				continue
			}
			if err := enc.Encode(line); err != nil {
				return fail(stderr, "rules simulate", err)
			}
		}
	}
	return code
}

func rulesDiff(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	livePath := fs.String("live", "", "live rule file")
	candPath := fs.String("candidate", "", "candidate rule file")
	factsPath := fs.String("facts", "", "facts, one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *livePath == "" || *candPath == "" || *factsPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: negawatt rules diff --live A.yaml --candidate B.yaml --facts FACTS.jsonl")
		return exitUsage
	}
	live, ok1 := loadRules(*livePath, stderr)
	cand, ok2 := loadRules(*candPath, stderr)
	if !ok1 || !ok2 {
		return exitProblem
	}
	facts, err := loadFacts(*factsPath)
	if err != nil {
		return fail(stderr, "rules diff", err)
	}
	rep, err := rewards.Diff(live, cand, facts)
	if err != nil {
		return fail(stderr, "rules diff", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fail(stderr, "rules diff", err)
	}
	return exitOK
}
