package rewards

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/expr-lang/expr"
)

var benchFacts = flag.Int("facts", 1_000_000, "facts settled by BenchmarkFactsPerSecond")

// grantAll is a Tally that grants every claim: it isolates the rule
// engine's cost from the state's.
type grantAll struct{}

func (grantAll) Reserve(c *Claim) (Grant, error) {
	return Grant{Points: c.Points, Key: c.Key, Wanted: c.Points, Status: StatusPaid}, nil
}

func benchProgram(b *testing.B) (*Program, []byte) {
	src, err := os.ReadFile("../testdata/rules/bench/ten-rules.yaml")
	if err != nil {
		b.Fatal(err)
	}
	p, err := Load("ten-rules.yaml", src)
	if err != nil {
		b.Fatal(err)
	}
	return p, src
}

func benchFact(i int) Fact {
	f := periodFact("c1", "gold", "2024-07", "2024-07-01T00:00:00Z", 110.5)
	f.Savings.UncertaintyKWh = 20.1
	f.Customer.ID = fmt.Sprintf("c%d", i)
	return f
}

// BenchmarkCompile10 parses and compiles the 10-rule set.
func BenchmarkCompile10(b *testing.B) {
	_, src := benchProgram(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load("ten-rules.yaml", src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate10 evaluates the 10-rule set against one period fact
// (3 rules pay), without state: the rule engine alone.
func BenchmarkEvaluate10(b *testing.B) {
	p, _ := benchProgram(b)
	f := benchFact(1)
	outs := make([]Outcome, 0, 16)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		var err error
		outs, err = p.AppendEvaluate(outs[:0], grantAll{}, &f)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if len(Awards(outs)) != 3 {
		b.Fatalf("%d awards", len(Awards(outs)))
	}
}

// BenchmarkEvaluate10Tally is BenchmarkEvaluate10 with a MemoryTally:
// caps, budget and idempotency enforced (a new customer each time).
func BenchmarkEvaluate10Tally(b *testing.B) {
	p, _ := benchProgram(b)
	tally := &MemoryTally{}
	facts := make([]Fact, 1024)
	for i := range facts {
		facts[i] = benchFact(i)
	}
	outs := make([]Outcome, 0, 16)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f := &facts[i%len(facts)]
		f.Savings.ID = fmt.Sprint(i)
		i++
		var err error
		outs, err = p.AppendEvaluate(outs[:0], tally, f)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFactsPerSecond settles 1,000,000 facts (1,000 customers, caps
// and budget binding) on GOMAXPROCS goroutines against one shared
// MemoryTally and reports facts/s. Run with -cpu 2 -benchtime 1x.
//
// Facts are built as they are settled, as a settlement job streams them
// from a file or a queue, rather than held as a 1,000,000-fact slice whose
// live heap the garbage collector would mark over and over.
func BenchmarkFactsPerSecond(b *testing.B) {
	p, _ := benchProgram(b)
	n := *benchFacts
	customers := make([]Fact, 1000)
	for i := range customers {
		customers[i] = benchFact(i)
	}
	procs := runtime.GOMAXPROCS(0)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		tally := &MemoryTally{}
		var next atomic.Int64
		var wg sync.WaitGroup
		for range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs := make([]Outcome, 0, 16)
				for {
					i := next.Add(1) - 1
					if i >= int64(n) {
						return
					}
					f := customers[i%1000]
					f.Savings.ID = strconv.FormatInt(i, 10)
					f.Savings.Start = f.Savings.Start.AddDate(0, 0, int(i%365))
					var err error
					outs, err = p.AppendEvaluate(outs[:0], tally, &f)
					if err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "facts/s")
	// CPU time per fact (user+system, GC included): on a shared machine
	// wall-clock throughput understates what the code does per core.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n*b.N), "cpu-ns/fact")
	b.ReportMetric(float64(procs), "procs")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkExprFloatBaseline is expr's own figure for scale: one compiled
// float64 expression run with expr.Run on a map environment.
func BenchmarkExprFloatBaseline(b *testing.B) {
	prog, err := expr.Compile("kwh > 0 && kind == \"period\" ? kwh * 10 * 1.5 : 0", expr.Env(map[string]any{"kwh": 0.0, "kind": ""}))
	if err != nil {
		b.Fatal(err)
	}
	env := map[string]any{"kwh": 110.5, "kind": "period"}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := expr.Run(prog, env); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkDecimalPoints is one compiled rule expression of ours (decimal
// operators) run directly, to compare with the float baseline.
func BenchmarkDecimalPoints(b *testing.B) {
	p := mustLoad(b, "program: p\nversion: 1\nmultipliers:\n  tiers: {gold: 1.5}\nrules:\n  - id: a\n    points: savings.kwh * 10 * 1.5\n")
	f := benchFact(1)
	var env Env
	p.env(&f, &env)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.run(p.rules[0].points, &env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFastPoints is BenchmarkDecimalPoints on the fixed-point fast
// path Evaluate takes: the compiled closures, then the conversion of the
// result to the exact path's decimal (a big.Int and its one word).
func BenchmarkFastPoints(b *testing.B) {
	p := mustLoad(b, "program: p\nversion: 1\nmultipliers:\n  tiers: {gold: 1.5}\nrules:\n  - id: a\n    points: savings.kwh * 10 * 1.5\n")
	f := benchFact(1)
	var env Env
	p.envFast(&f, &env)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := runFastDec(p.rules[0].fastPoints, &env); !ok {
			b.Fatal("not on the fast path")
		}
	}
}
