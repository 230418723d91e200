package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/negawatt/negawatt/rewards"
	"github.com/shopspring/decimal"
)

func init() {
	register(&command{name: "rules", summary: "check, simulate and diff reward rule sets", run: runRules})
}

const rulesUsage = `usage:
  negawatt rules check [-v|--verbose] FILE
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
// problem on stderr as exactly one line, FILE:LINE:COL: rule "ID": message,
// sorted by position, and returns false. Problems of the file or of the
// set as a whole (no rule) have an empty id, rule "", so every line keeps
// the same shape. With verbose, each line is followed by its caret snippet
// (lines starting with "    | ").
func loadRules(path string, verbose bool, stderr io.Writer) (*rewards.Program, bool) {
	src, err := readLimited(path, rewards.DefaultLimits().MaxFileBytes)
	if err != nil {
		fmt.Fprintln(stderr, problemLine(path, err))
		return nil, false
	}
	p, err := rewards.Load(path, src)
	if err != nil {
		var errs rewards.RuleErrors
		if !errors.As(err, &errs) {
			fmt.Fprintln(stderr, problemLine(path, err))
			return nil, false
		}
		errs = slices.Clone(errs)
		slices.SortStableFunc(errs, func(a, b *rewards.RuleError) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		for _, e := range errs {
			fmt.Fprintln(stderr, oneLine(e.Error()))
			if verbose && e.Snippet != "" {
				fmt.Fprintln(stderr, e.Snippet)
			}
		}
		return nil, false
	}
	return p, true
}

// problemLine is a file-level problem (unreadable file, unexpected error)
// in the FILE:LINE:COL: rule "ID": message form, at 1:1 with no rule id.
func problemLine(path string, err error) string {
	return oneLine(fmt.Sprintf("%s:1:1: rule \"\": %v", path, err))
}

// oneLine folds a message that spans lines (some parser messages do), so
// each problem stays one stderr line.
func oneLine(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), " ")
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

const rulesCheckUsage = `usage: negawatt rules check [-v|--verbose] FILE

Checks a rule file (YAML or JSON). Valid: exit 0 and a one-line summary on
stdout. Invalid: exit 1 and every problem on stderr, one line each, sorted
by position:

  FILE:LINE:COL: rule "ID": message

ID is "" for problems of the file or of the set as a whole (no rule).
Flags:
  -v, --verbose   follow each problem line with the offending source line
                  and a caret under the column (lines starting "    | ")`

func rulesCheck(args []string, stdout, stderr io.Writer) int {
	verbose := false
	var files []string
flags:
	for i, a := range args {
		switch {
		case a == "--":
			files = append(files, args[i+1:]...)
			break flags
		case a == "-v" || a == "--verbose" || a == "-verbose":
			verbose = true
		case a == "-h" || a == "--help" || a == "-help":
			fmt.Fprintln(stdout, rulesCheckUsage)
			return exitOK
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "negawatt rules check: unknown flag %q\n%s\n", a, rulesCheckUsage)
			return exitUsage
		default:
			files = append(files, a)
		}
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, rulesCheckUsage)
		return exitUsage
	}
	path := files[0]
	p, ok := loadRules(path, verbose, stderr)
	if !ok {
		return exitProblem
	}
	rs := p.RuleSet()
	window := "always"
	if !rs.EffectiveFrom.IsZero() || !rs.EffectiveTo.IsZero() {
		window = fmt.Sprintf("%s to %s", fmtWhen(rs.EffectiveFrom), fmtWhen(rs.EffectiveTo))
	}
	fmt.Fprintf(stdout, "%s: ok: program %q version %d, %d rules, effective %s, rounding %s\n",
		path, rs.Program, rs.Version, len(rs.Rules), window, rs.Rounding)
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
	p, ok := loadRules(*rulesPath, false, stderr)
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
	live, ok1 := loadRules(*livePath, false, stderr)
	cand, ok2 := loadRules(*candPath, false, stderr)
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
