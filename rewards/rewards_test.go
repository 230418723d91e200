package rewards

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/negawatt/negawatt/savings"
	"github.com/shopspring/decimal"
)

// Hand-checked awards of the example set testdata/rules/tiers.yaml.
func TestTiersHandChecked(t *testing.T) {
	p := loadFile(t, "../testdata/rules/tiers.yaml")
	facts := []Fact{
		periodFact("c1", "gold", "2024-07", "2024-07-01T00:00:00Z", 10.55),   // 158.25 -> 158.2 (half-even)
		periodFact("c2", "silver", "2024-07", "2024-07-01T00:00:00Z", 10.55), // 126.6
		periodFact("c3", "bronze", "2024-07", "2024-07-01T00:00:00Z", 10.55), // default 1 -> 105.5
		periodFact("c5", "gold", "2024-07", "2024-07-01T00:00:00Z", 10.35),   // 155.25 -> 155.2
		periodFact("c1", "gold", "2024-08", "2024-08-01T00:00:00Z", 40),      // 600 -> rule cap 300; bonus 150 -> set cap leaves 100
		periodFact("c1", "gold", "2025-01", "2025-01-01T00:00:00Z", 40),      // outside the effective window
	}
	outs, err := p.Evaluate(&MemoryTally{}, facts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"c1/monthly-savings/2024-07": "158.2", "c1/big-saver-bonus/2024-07": "150",
		"c2/monthly-savings/2024-07": "126.6", "c2/big-saver-bonus/2024-07": "150",
		"c3/monthly-savings/2024-07": "105.5", "c3/big-saver-bonus/2024-07": "150",
		"c5/monthly-savings/2024-07": "155.2", "c5/big-saver-bonus/2024-07": "150",
		"c1/monthly-savings/2024-08": "300", "c1/big-saver-bonus/2024-08": "100",
	}
	if diff := cmp.Diff(want, pointsOf(outs)); diff != "" {
		t.Errorf("awards (-want +got):\n%s", diff)
	}
	last := outs[len(outs)-1]
	if last.Status != StatusOutsideEffective || last.Award != nil {
		t.Errorf("2025 fact: status %v, want outside effective window", last.Status)
	}
	var aug *Award
	for _, o := range outs {
		if o.Award != nil && o.Rule == "big-saver-bonus" && o.Fact == "2024-08" {
			aug = o.Award
		}
	}
	if aug == nil || len(aug.Explanation.Trims) != 1 || aug.Explanation.Trims[0].Limit.String() != "cap 400/month (set)" ||
		!aug.Explanation.Trims[0].Remaining.Equal(decimal.NewFromInt(100)) {
		t.Errorf("August bonus explanation: %+v", aug)
	}
}

// Expressions compute with exact decimals; expected values by hand.
func TestExpressionValues(t *testing.T) {
	f := periodFact("c1", "gold", "f1", "2024-07-01T00:00:00Z", 0.1)
	f.Customer.Attributes = map[string]string{"region": "north"}
	f.History = History{EventStreak: 4, EventsTotal: 9}
	f.Now = mustTime("2024-08-01T00:00:00Z")
	for _, tc := range []struct{ points, want string }{
		{"0.1 + 0.2", "0.3"},
		{"savings.kwh * 3", "0.3"},
		{"1 / 3", "0.33333333333333333333"},
		{"7 % 3", "1"},
		{"-savings.kwh", "-0.1"},
		{"- (2 - 5)", "3"},
		{"round(2.345, 2)", "2.34"},
		{"round(2.355, 2)", "2.36"},
		{"round(2.5)", "2"},
		{"floor(-1.5)", "-2"},
		{"ceil(1.2)", "2"},
		{"abs(-4.25)", "4.25"},
		{"min(3, 1.5, 2)", "1.5"},
		{"max(3, 1.5, 2)", "3"},
		{"clamp(5, 0, 3)", "3"},
		{"clamp(-5, 0, 3)", "0"},
		{"history.event_streak * 2 + history.events_total", "17"},
		{`multiplier("tiers", customer.tier)`, "1.5"},
		{`multiplier("tiers", "nobody")`, "1"},
		{`customer.attributes["missing"] == "" ? 1 : 0`, "1"},
		{`customer.attributes["region"] == "north" ? 2 : 0`, "2"},
		{`between(savings.start, "2024-07-01T00:00:00Z", "2024-07-01T00:00:00Z") ? 1 : 0`, "1"},
		{`between(now, savings.start, savings.end) ? 1 : 0`, "1"},
		{`savings.start < now ? 1 : 0`, "1"},
		{`now - savings.start < duration("745h") ? 1 : 0`, "1"},
		{`len(customer.id) * 1.5`, "3"},
		{"1_000.5 * 2", "2001"},
		{"count(1..10, # > 5) * 1", "5"},
		{"let x = 2.5; x * x", "6.25"},
		{"1e3 + 0", "1000"},
	} {
		t.Run(tc.points, func(t *testing.T) {
			src := "program: p\nversion: 1\nrounding: {places: 18}\nmultipliers:\n  tiers: {gold: 1.5, default: 1}\nrules:\n  - id: r\n    points: '" +
				strings.ReplaceAll(tc.points, "'", "''") + "'\n    allow_negative: true\n"
			p := mustLoad(t, src)
			outs, err := p.Evaluate(&MemoryTally{}, []Fact{f})
			if err != nil {
				t.Fatal(err)
			}
			if outs[0].Err != nil {
				t.Fatalf("error: %v", outs[0].Err)
			}
			if got := outs[0].Explanation.RawPoints.String(); got != tc.want {
				t.Errorf("%s = %s, want %s", tc.points, got, tc.want)
			}
		})
	}
}

// Errors while computing an award are errors on that award only.
func TestAwardErrors(t *testing.T) {
	f := periodFact("c1", "platinum", "f1", "2024-07-01T00:00:00Z", 5)
	f.Savings.BaselineKWh = 0
	for _, tc := range []struct {
		points string
		want   error
	}{
		{"savings.kwh / savings.baseline_kwh", ErrDivisionByZero},
		{"savings.kwh % 0", ErrDivisionByZero},
		{`savings.kwh * multiplier("tiers", customer.tier)`, ErrMissingMultiplier},
		{"savings.kwh * -1", ErrNegativePoints},
		{"let x = 10000000000; let y = x*x*x*x*x; y*y*y*y*y*y*y*y", ErrOverflow},
		{`len(customer.id + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "b") > 0 ? 1 : 0`, ErrOverflow},
		{"len(map(1..1000000000, #)) * 1", nil}, // memory budget
		{"len(map(1..1e9, # * 2)) * 1", nil},
		{"sum(map(1..100000, 1..100000), len(#)) * 1", nil},
		{"round(1, 99)", nil},
		{"clamp(1, 3, 2)", nil},
	} {
		t.Run(tc.points, func(t *testing.T) {
			src := "program: p\nversion: 1\nmultipliers:\n  tiers: {gold: 2}\nrules:\n  - id: bad\n    points: '" + tc.points + "'\n  - id: good\n    points: 1\n"
			p := mustLoad(t, src, WithLimits(Limits{MaxStringBytes: 50}))
			start := time.Now()
			outs, err := p.Evaluate(&MemoryTally{}, []Fact{f})
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d) // a guard against hangs, not a benchmark
			}
			bad, good := outs[0], outs[1]
			if bad.Status != StatusError || !errors.Is(bad.Err, ErrEvaluation) {
				t.Fatalf("status %v, err %v; want an evaluation error", bad.Status, bad.Err)
			}
			if tc.want != nil && !errors.Is(bad.Err, tc.want) {
				t.Errorf("err %v, want %v", bad.Err, tc.want)
			}
			var ae *AwardError
			if !errors.As(bad.Err, &ae) || ae.Rule != "bad" || ae.Customer != "c1" || ae.Fact != "f1" {
				t.Errorf("AwardError %+v", ae)
			}
			if good.Award == nil || !good.Award.Points.Equal(decimal.NewFromInt(1)) {
				t.Errorf("the other rule did not pay: %+v", good)
			}
		})
	}
}

// The defensive recover around VM runs turns a panic into an error.
func TestRunRecoversPanics(t *testing.T) {
	p := mustLoad(t, "program: p\nversion: 1\nrules:\n  - id: a\n    points: 1\n")
	_, err := p.run(nil, &Env{}) // a nil program makes the VM panic
	if err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("err = %v, want a recovered panic", err)
	}
}

func TestCompileErrorPositions(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // "LINE:COL rule field substring"
	}{
		{"plain scalar", "program: p\nversion: 1\nrules:\n  - id: a\n    points: savings.kwh * nope\n",
			[]string{`5:27 "a" points unknown name nope`}},
		{"quoted scalar", "program: p\nversion: 1\nrules:\n  - id: a\n    when: \"savings.kind == 'x' && savings.foo\"\n    points: 1\n",
			[]string{`5:43 "a" when has no field foo`}},
		{"literal block", "program: p\nversion: 1\nrules:\n  - id: a\n    points: |\n      savings.kwh *\n        customer.tier\n",
			[]string{`6:19 "a" points mismatched types`}},
		{"folded block", "program: p\nversion: 1\nrules:\n  - id: a\n    when: >-\n      savings.kwh > 0 &&\n      history.streak > 0\n    points: 1\n",
			[]string{`7:15 "a" when has no field streak`}},
		{"json", `{"program": "p", "version": 1, "rules": [{"id": "a", "points": "savings.kwh * bogus"}]}`,
			[]string{`1:79 "a" points unknown name bogus`}},
		{"structural", "program: p\nversion: 1\nbogus: 1\nrules:\n  - id: a\n    points: 1\n    caps: [{per: month}]\n",
			[]string{`3:1 "" bogus unknown key`, `7:12 "a" caps[0] missing required key "max"`}},
		{"unknown table", "program: p\nversion: 1\nrules:\n  - id: a\n    points: multiplier(\"t\", \"k\")\n",
			[]string{`5:24 "a" points unknown multiplier table "t"`}},
		{"method call", "program: p\nversion: 1\nrules:\n  - id: a\n    points: savings.kwh.Pow(savings.kwh)\n",
			[]string{`5:25 "a" points method calls are not allowed`}},
		{"empty", "", []string{`1:1 "" - empty rule file`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("r.yaml", []byte(tc.src))
			var errs RuleErrors
			if !errors.As(err, &errs) || !errors.Is(err, ErrInvalidRuleSet) {
				t.Fatalf("err = %v, want RuleErrors", err)
			}
			var got []string
			for i, e := range errs {
				if i < len(tc.want) {
					parts := strings.SplitN(tc.want[i], " ", 4)
					field := e.Field
					if field == "" {
						field = "-"
					}
					g := fmt.Sprintf("%d:%d %q %s", e.Line, e.Column, e.Rule, field)
					if g != strings.Join(parts[:3], " ") || !strings.Contains(e.Message, parts[3]) {
						t.Errorf("error %d = %s (%s), want %s", i, g, e.Detail(), tc.want[i])
					}
				}
				got = append(got, e.Error())
			}
			if len(errs) != len(tc.want) {
				t.Errorf("got %d errors, want %d:\n%s", len(errs), len(tc.want), strings.Join(got, "\n"))
			}
		})
	}
}

func TestCaretSnippet(t *testing.T) {
	_, err := Load("r.yaml", []byte("program: p\nversion: 1\nrules:\n  - id: a\n    points: 1 + nope\n"))
	var errs RuleErrors
	if !errors.As(err, &errs) {
		t.Fatal(err)
	}
	want := "r.yaml:5:17: rule \"a\": points: unknown name nope\n    |     points: 1 + nope\n    |                 ^"
	if diff := cmp.Diff(want, errs[0].Detail()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Rules cannot reach the file system, network, environment or clock:
// no such functions exist, and builtins that could are disabled.
func TestNoOutsideAccess(t *testing.T) {
	for _, e := range []string{`env("HOME")`, `readFile("/etc/passwd")`, `now()`, `date("2024-01-01")`,
		`savings.start.Local()`, `toJSON(customer)`, `repeat("a", 1000000000)`, `savings.kwh.Pow(savings.kwh)`,
		`fromJSON("{}")`, `split(customer.id, "")`} {
		src := "program: p\nversion: 1\nrules:\n  - id: a\n    points: 1\n    when: '" + e + " != nil'\n"
		if _, err := Load("r.yaml", []byte(src)); err == nil {
			t.Errorf("%s compiled", e)
		}
	}
}

func TestLimitsConfigurable(t *testing.T) {
	three := "program: p\nversion: 1\nrules:\n  - {id: a, points: 1}\n  - {id: b, points: 1}\n  - {id: c, points: 1 + 2 + 3}\n"
	anchors := "program: p\nversion: 1\ncaps: &c [{per: day, max: 1}]\nrules:\n  - {id: a, points: 1, caps: *c}\n"
	for _, tc := range []struct {
		name string
		src  string
		lim  Limits
	}{
		{"rules", three, Limits{MaxRules: 2}},
		{"file size", three, Limits{MaxFileBytes: 20}},
		{"expr nodes", three, Limits{MaxNodes: 3}},
		{"expr bytes", three, Limits{MaxExprBytes: 4}},
		{"aliases forbidden", anchors, Limits{MaxAliases: -1}},
		{"depth", three, Limits{MaxDepth: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Load("r.yaml", []byte(tc.src)); err != nil {
				t.Fatalf("default limits: %v", err)
			}
			_, err := Load("r.yaml", []byte(tc.src), WithLimits(tc.lim))
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.name != "expr nodes" && !errors.Is(err, ErrLimit) {
				t.Errorf("err %v, want ErrLimit", err)
			}
		})
	}
}

// A RuleSet built in Go is validated by Compile as a file is by Parse.
func TestCompileValidatesGoRuleSet(t *testing.T) {
	d := decimal.NewFromInt
	rs := &RuleSet{Program: "", Rounding: Rounding{Places: 30, Mode: RoundingMode(9)},
		Caps: []Cap{{Per: Period(0), Max: d(1)}},
		Rules: []Rule{{ID: "a", Points: "1"}, {ID: "a", Points: "2"}, {ID: "", Points: ""},
			{ID: "b", Points: "1", Caps: []Cap{{Per: PerDay, Max: d(-1)}}}}}
	_, err := Compile(rs)
	var errs RuleErrors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v", err)
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Rule+" "+e.Field+": "+e.Message)
	}
	want := []string{
		" program: must not be empty",
		" rounding.places: must be between -18 and 18",
		" rounding.mode: unknown rounding mode",
		" caps[0].per: unknown period",
		"a id: duplicate rule id",
		" id: must not be empty",
		" points: must not be empty",
		"b caps[0].max: must not be negative",
	}
	for _, w := range want {
		found := false
		for _, m := range msgs {
			found = found || strings.HasPrefix(m, w)
		}
		if !found {
			t.Errorf("missing %q in:\n%s", w, strings.Join(msgs, "\n"))
		}
	}
}

func TestManyRules(t *testing.T) {
	var b strings.Builder
	b.WriteString("program: p\nversion: 1\nrules:\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "  - id: r%d\n    when: savings.kwh > %d && customer.tier == \"gold\"\n    points: savings.kwh * %d\n", i, i, i+1)
	}
	p := mustLoad(t, b.String())
	if len(p.rules) != 1000 {
		t.Fatalf("%d rules", len(p.rules))
	}
	b.WriteString("  - {id: one-too-many, points: 1}\n")
	if _, err := Load("r.yaml", []byte(b.String())); !errors.Is(err, ErrLimit) {
		t.Errorf("1001 rules: err %v, want ErrLimit", err)
	}
}

func TestPeriodWindow(t *testing.T) {
	for _, tc := range []struct {
		per      Period
		at       string
		from, to string
	}{
		{PerDay, "2024-03-09T12:00:00Z", "2024-03-09T00:00:00Z", "2024-03-10T00:00:00Z"},
		{PerWeek, "2024-03-10T23:00:00Z", "2024-03-04T00:00:00Z", "2024-03-11T00:00:00Z"}, // Sunday
		{PerWeek, "2024-03-11T00:00:00Z", "2024-03-11T00:00:00Z", "2024-03-18T00:00:00Z"}, // Monday
		{PerWeek, "2025-01-01T00:00:00Z", "2024-12-30T00:00:00Z", "2025-01-06T00:00:00Z"}, // ISO week 2025-W01
		{PerMonth, "2024-02-29T10:00:00+05:00", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{PerYear, "2024-12-31T23:59:59Z", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{PerMonth, "2024-03-01T02:00:00+05:00", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"}, // UTC decides
	} {
		from, to := tc.per.Window(mustTime(tc.at))
		if !from.Equal(mustTime(tc.from)) || !to.Equal(mustTime(tc.to)) {
			t.Errorf("%v %s: [%v, %v), want [%s, %s)", tc.per, tc.at, from, to, tc.from, tc.to)
		}
	}
	if f, to := PerLifetime.Window(time.Now()); !f.IsZero() || !to.IsZero() {
		t.Error("lifetime window is not unbounded")
	}
}

func TestDecide(t *testing.T) {
	d := decimal.RequireFromString
	monthCap := Limit{Kind: LimitCap, Max: d("100"), Per: PerMonth}
	budget := Limit{Kind: LimitBudget, Max: d("50"), Per: PerLifetime}
	for _, tc := range []struct {
		name    string
		points  string
		neg     bool
		prior   Prior
		used    []string
		want    string
		status  Status
		adjusts bool
	}{
		{"first", "30", false, Prior{}, []string{"0", "0"}, "30", StatusPaid, false},
		{"trim by cap", "30", false, Prior{}, []string{"80", "0"}, "20", StatusPaid, false},
		{"trim by budget", "30", false, Prior{}, []string{"0", "45"}, "5", StatusPaid, false},
		{"cap reached", "30", false, Prior{}, []string{"100", "0"}, "0", StatusCapReached, false},
		{"budget reached", "30", false, Prior{}, []string{"10", "50"}, "0", StatusBudgetReached, false},
		{"over-used counts as zero left", "30", false, Prior{}, []string{"120", "0"}, "0", StatusCapReached, false},
		{"settled", "30", false, Prior{Exists: true, Claimed: d("30"), Paid: d("30"), Awards: 1}, []string{"30", "30"}, "0", StatusSettled, false},
		{"settled though trimmed", "30", false, Prior{Exists: true, Claimed: d("30"), Paid: d("5"), Awards: 1}, []string{"5", "5"}, "0", StatusSettled, false},
		{"restated up", "40", false, Prior{Exists: true, Claimed: d("30"), Paid: d("30"), Awards: 1}, []string{"30", "30"}, "10", StatusPaid, true},
		{"restated down", "20", false, Prior{Exists: true, Claimed: d("30"), Paid: d("30"), Awards: 1}, []string{"30", "30"}, "0", StatusNegativeAdjustment, true},
		{"restated down, allowed", "20", true, Prior{Exists: true, Claimed: d("30"), Paid: d("30"), Awards: 1}, []string{"30", "30"}, "-10", StatusPaid, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Claim{Key: "k", Points: d(tc.points), AllowNegative: tc.neg, Limits: []Limit{monthCap, budget}}
			used := []decimal.Decimal{d(tc.used[0]), d(tc.used[1])}
			g := Decide(c, tc.prior, used)
			if !g.Points.Equal(d(tc.want)) || g.Status != tc.status || (g.Adjusts != "") != tc.adjusts {
				t.Errorf("got %s %v adjusts=%q, want %s %v", g.Points, g.Status, g.Adjusts, tc.want, tc.status)
			}
			if tc.adjusts && g.Status == StatusPaid && g.Key != AdjustmentKey("k", 2) {
				t.Errorf("key %q", g.Key)
			}
		})
	}
}

func TestAwardKeyStable(t *testing.T) {
	a := AwardKey("peak-saver", "monthly", "c1", "2024-07")
	if a != AwardKey("peak-saver", "monthly", "c1", "2024-07") {
		t.Fatal("not stable")
	}
	// Field boundaries are encoded, so shifting text between fields changes the key.
	for _, other := range []string{AwardKey("peak-saver", "monthlyc", "1", "2024-07"), AwardKey("peak-saver", "monthly", "c1", "2024-08")} {
		if other == a {
			t.Errorf("collision: %s", other)
		}
	}
	// Version does not enter the key: a promoted version does not pay again.
	v1 := mustLoad(t, "program: p\nversion: 1\nrules:\n  - {id: a, points: 10}\n")
	v2 := mustLoad(t, "program: p\nversion: 2\nrules:\n  - {id: a, points: 10}\n")
	tally := &MemoryTally{}
	f := []Fact{periodFact("c1", "", "f", "2024-01-01T00:00:00Z", 1)}
	o1, _ := v1.Evaluate(tally, f)
	o2, _ := v2.Evaluate(tally, f)
	if o1[0].Award == nil || o2[0].Award != nil || o2[0].Status != StatusSettled {
		t.Errorf("v1 %+v, v2 %+v", o1[0], o2[0])
	}
}

// Many concurrent settlements for one customer never exceed its cap or the
// program budget.
func TestMemoryTallyConcurrent(t *testing.T) {
	p := mustLoad(t, "program: p\nversion: 1\nbudget: 1000\ncaps: [{per: month, max: 95}]\nrules:\n  - id: a\n    points: savings.kwh\n")
	tally := &MemoryTally{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := map[string]decimal.Decimal{}
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				cust := fmt.Sprintf("c%d", i%4+g%3)
				f := periodFact(cust, "", fmt.Sprintf("f%d-%d", g, i), "2024-05-01T00:00:00Z", 7)
				outs, err := p.Evaluate(tally, []Fact{f})
				if err != nil {
					t.Error(err)
					return
				}
				for _, o := range outs {
					if o.Award != nil {
						mu.Lock()
						total[o.Customer] = total[o.Customer].Add(o.Award.Points)
						total[""] = total[""].Add(o.Award.Points)
						mu.Unlock()
					}
				}
			}
		}(g)
	}
	wg.Wait()
	for c, v := range total {
		limit := decimal.NewFromInt(95)
		if c == "" {
			limit = decimal.NewFromInt(1000)
		}
		if v.GreaterThan(limit) {
			t.Errorf("%q got %s, over %s", c, v, limit)
		}
	}
	if !total[""].Equal(decimal.NewFromInt(6 * 95)) {
		t.Errorf("total %s, want every one of 6 customers capped at 95 = 570", total[""])
	}
}

func TestRegistry(t *testing.T) {
	v1 := mustLoad(t, "program: p\nversion: 1\nrules:\n  - {id: a, points: 1}\n")
	v2 := mustLoad(t, "program: p\nversion: 2\nrules:\n  - {id: a, points: 2}\n")
	var r Registry
	if r.Live() != nil {
		t.Fatal("live before promote")
	}
	if _, err := r.Rollback(); !errors.Is(err, ErrNoPrevious) {
		t.Fatalf("rollback of nothing: %v", err)
	}
	r.Promote(v1)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				if p := r.Live(); p == nil || (p.Version() != 1 && p.Version() != 2) {
					t.Error("bad live program")
					return
				}
			}
		}()
	}
	r.Promote(v2)
	if r.Live() != v2 || len(r.History()) != 1 {
		t.Fatal("promote")
	}
	back, err := r.Rollback()
	wg.Wait()
	if err != nil || back != v1 || r.Live() != v1 || len(r.History()) != 0 {
		t.Fatalf("rollback: %v", err)
	}
}

func TestDecodeFacts(t *testing.T) {
	in := `{"customer":{"id":"c1","tier":"gold","enrolled_at":"2024-01-05T00:00:00Z","attributes":{}},"savings":{"kind":"event","id":"ev-1","start":"2024-07-10T17:00:00Z","end":"2024-07-10T20:00:00Z","baseline_kwh":5,"observed_kwh":2.5,"kwh":2.5,"percent":50,"uncertainty_kwh":0.4},"event":{"id":"ev-1","type":"peak-time-rebate"},"history":{"event_streak":2,"events_total":3},"now":"2024-08-01T00:00:00Z"}

{"customer":{"id":"c2"},"savings":{"kind":"period","id":"2024-07","start":"2024-07-01T00:00:00Z"},"event":null}
`
	facts, err := DecodeFacts(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Fact{
		{Customer: Customer{ID: "c1", Tier: "gold", EnrolledAt: mustTime("2024-01-05T00:00:00Z"), Attributes: map[string]string{}},
			Savings: savings.Result{Kind: savings.KindEvent, ID: "ev-1", Start: mustTime("2024-07-10T17:00:00Z"), End: mustTime("2024-07-10T20:00:00Z"),
				BaselineKWh: 5, ObservedKWh: 2.5, SavingsKWh: 2.5, PercentSavings: 50, UncertaintyKWh: 0.4},
			Event: &Event{ID: "ev-1", Type: "peak-time-rebate"}, History: History{EventStreak: 2, EventsTotal: 3}, Now: mustTime("2024-08-01T00:00:00Z")},
		{Customer: Customer{ID: "c2"}, Savings: savings.Result{Kind: savings.KindPeriod, ID: "2024-07", Start: mustTime("2024-07-01T00:00:00Z")}},
	}
	if diff := cmp.Diff(want, facts); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ in, want string }{
		{"{\n", "line 1"},
		{"{}\n", "line 1: customer.id: missing"},
		{`{"customer":{"id":"c"},"savings":{"kind":"period","id":"x"}}`, "line 1: savings.start: missing"},
		{"\n" + `{"customer":{"id":"c"},"savings":{"kind":"day","id":"x","start":"2024-01-01T00:00:00Z"}}`, `line 2: savings.kind: "day"`},
		{`{"customer":{"id":"c"},"savings":{"kind":"period","id":"x","start":"2024-01-01T00:00:00Z","kwh":"1"}}`, "savings.kwh"},
		{`{"customer":{"id":"c"},"savings":{"kind":"period","id":"x","start":"2024-01-01T00:00:00Z"}} {}`, "more than one"},
	} {
		_, err := DecodeFacts(strings.NewReader(tc.in))
		if !errors.Is(err, ErrInvalidFact) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestDiff(t *testing.T) {
	live := loadFile(t, "../testdata/rules/tiers.yaml")
	cand := loadFile(t, "../testdata/rules/diff/tiers-v4.yaml")
	facts := []Fact{
		periodFact("c1", "gold", "2024-07", "2024-07-01T00:00:00Z", 10),  // 150+150 -> 150+100+10
		periodFact("c2", "silver", "2024-07", "2024-07-01T00:00:00Z", 1), // 12 -> 13
		periodFact("c3", "bronze", "2024-07", "2024-07-01T00:00:00Z", 0), // nothing -> nothing
	}
	rep, err := Diff(live, cand, facts)
	if err != nil {
		t.Fatal(err)
	}
	d := decimal.RequireFromString
	got := map[string][2]string{}
	for _, r := range rep.Rules {
		got[r.Rule] = [2]string{fmt.Sprint(r.CustomersChanged), r.DeltaPoints.String()}
	}
	want := map[string][2]string{"monthly-savings": {"1", "1"}, "big-saver-bonus": {"1", "-50"}, "per-percent": {"2", "11"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("per rule (-want +got):\n%s", diff)
	}
	if rep.Total.CustomersChanged != 2 || !rep.Total.DeltaPoints.Equal(d("-38")) || !rep.Total.LivePoints.Equal(d("312")) {
		t.Errorf("total %+v", rep.Total)
	}
}

// Hostile files fail with ErrLimit (or a syntax error) instead of making
// the parser work for long.
func TestHostileFiles(t *testing.T) {
	for name, src := range map[string]string{
		"flow nesting":   strings.Repeat("[", 1<<20-1),
		"block nesting":  strings.Repeat("- ", 1<<19-1),
		"map nesting":    strings.Repeat("{a: ", 1<<18),
		"too big":        strings.Repeat("#", 1<<20+1),
		"billion laughs": "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
		"nested in rule": "program: p\nversion: 1\nrules:\n  - id: a\n    points: 1\n    caps: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load("h.yaml", []byte(src))
			if !errors.Is(err, ErrLimit) {
				t.Errorf("err = %.200v, want ErrLimit", err)
			}
		})
	}
	// Aliases within the bound are expanded, but the node budget still
	// applies to what they expand to.
	aliased := "program: p\nversion: 1\ncaps: &c [{per: day, max: 1}, {per: week, max: 2}]\nrules:\n  - {id: a, points: 1, caps: *c}\n  - {id: b, points: 1, caps: *c}\n"
	if _, err := Load("h.yaml", []byte(aliased)); err != nil {
		t.Fatalf("default limits: %v", err)
	}
	if _, err := Load("h.yaml", []byte(aliased), WithLimits(Limits{MaxYAMLNodes: 20})); !errors.Is(err, ErrLimit) {
		t.Errorf("node budget: err = %v, want ErrLimit", err)
	}
}

// A fact without attributes reads every attribute as "".
func TestNilAttributes(t *testing.T) {
	p := mustLoad(t, "program: p\nversion: 1\nrules:\n  - id: a\n    when: customer.attributes[\"region\"] == \"\"\n    points: 1\n")
	outs, err := p.Evaluate(&MemoryTally{}, []Fact{periodFact("c1", "", "f", "2024-01-01T00:00:00Z", 1)})
	if err != nil || outs[0].Award == nil {
		t.Fatalf("err %v, outcome %+v", err, outs[0])
	}
	if got := outs[0].Explanation.Inputs(); len(got) != 1 || got[0] != (Input{Name: `customer.attributes["region"]`, Value: ""}) {
		t.Errorf("inputs %+v", got)
	}
}
