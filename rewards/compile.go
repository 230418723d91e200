package rewards

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/shopspring/decimal"
)

// Program is a compiled rule set: immutable and safe for concurrent use.
// Compile once, evaluate many facts.
type Program struct {
	uses  int // which amounts of a fact some rule reads (use* bits)
	set   *RuleSet
	lim   Limits
	rules []*compiledRule // in draw order: priority descending, then file order
	// budget is the set's budget limit, when it has one.
	budget Limit
}

type compiledRule struct {
	Rule
	index  int // in file
	when   *vm.Program
	points *vm.Program
	// fastWhen and fastPoints evaluate the expressions without expr's VM
	// when they are in the fast subset (see fast.go); nil otherwise.
	fastWhen   fastBool
	fastPoints fastDec
	inputs     []input // referenced names, sorted
	// budget is the rule's budget limit, when it has one.
	budget Limit
}

// RuleSet returns the rule set the program was compiled from. Treat it as
// read-only.
func (p *Program) RuleSet() *RuleSet { return p.set }

// Program returns the program id of the rule set.
func (p *Program) Program() string { return p.set.Program }

// Version returns the rule set's version.
func (p *Program) Version() int { return p.set.Version }

// Load parses and compiles a YAML or JSON rule file.
func Load(file string, src []byte, opts ...Option) (*Program, error) {
	c := newConfig(opts)
	rs, errs := parse(file, src, c)
	if len(errs) == 0 {
		return compile(rs, c)
	}
	for _, e := range errs {
		if errors.Is(e, ErrLimit) {
			return nil, errs.sorted()
		}
	}
	if _, err := compile(rs, c); err != nil {
		var cerrs RuleErrors
		if errors.As(err, &cerrs) {
			errs = append(errs, cerrs...)
		}
	}
	return nil, errs.sorted()
}

// Compile type-checks and compiles every expression of rs. All problems
// are reported as a [RuleErrors] sorted by position; each names the rule,
// the field, the line and column inside the expression, and carries a
// caret snippet.
func Compile(rs *RuleSet, opts ...Option) (*Program, error) {
	return compile(rs, newConfig(opts))
}

func compile(rs *RuleSet, c config) (*Program, error) {
	lib := &library{lim: c.limits, tables: rs.Multipliers}
	base := append(lib.options(), expr.Env(Env{}), expr.MaxNodes(c.limits.MaxNodes))
	p := &Program{set: rs, lim: c.limits}
	fc := &fastCompiler{lib: lib}
	var errs RuleErrors
	if len(rs.Rules) > c.limits.MaxRules {
		errs = append(errs, &RuleError{File: rs.File, Position: Position{1, 1},
			Message: fmt.Sprintf("more than %d rules", c.limits.MaxRules), Err: ErrLimit})
		return nil, errs
	}
	if !rs.fromFile {
		errs = append(errs, validateGo(rs)...)
	}
	for i, r := range rs.Rules {
		cr := &compiledRule{Rule: r, index: i}
		inputs := map[string]input{}
		for _, field := range []string{"when", "points"} {
			src := r.When
			if field == "points" {
				src = r.Points
			}
			if strings.TrimSpace(src) == "" {
				if field == "points" && !rs.fromFile {
					errs = append(errs, &RuleError{File: rs.File, Position: r.pos, Rule: r.ID, Field: field, Message: "must not be empty"})
				}
				// From a file, a missing points key was reported by the parser.
				continue
			}
			if len(src) > c.limits.MaxExprBytes {
				errs = append(errs, &RuleError{File: rs.File, Position: r.pos, Rule: r.ID, Field: field,
					Message: fmt.Sprintf("expression is %d bytes, more than the limit of %d", len(src), c.limits.MaxExprBytes), Err: ErrLimit})
				continue
			}
			prog, err := compileExpr(src, field, base, inputs, rs.Multipliers, &p.uses)
			if err != nil {
				errs = append(errs, rs.exprError(r, field, src, err))
				continue
			}
			if field == "when" {
				cr.when, cr.fastWhen = prog, fc.boolOf(prog.Node())
			} else {
				cr.points, cr.fastPoints = prog, fc.pointsOf(prog.Node())
			}
		}
		for _, in := range inputs {
			cr.inputs = append(cr.inputs, in)
			p.uses |= usesOf(in.name)
		}
		sort.Slice(cr.inputs, func(a, b int) bool { return cr.inputs[a].name < cr.inputs[b].name })
		p.rules = append(p.rules, cr)
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	sort.SliceStable(p.rules, func(a, b int) bool { return p.rules[a].Priority > p.rules[b].Priority })
	// Budgets do not depend on the fact: their limits are built once.
	p.budget = Limit{Kind: LimitBudget, Program: rs.Program, Per: PerLifetime, Max: rs.Budget}
	for _, r := range p.rules {
		r.budget = Limit{Kind: LimitBudget, Program: rs.Program, Rule: r.ID, Per: PerLifetime, Max: r.Budget}
	}
	return p, nil
}

// exprFault is a problem found after expr compiled an expression.
type exprFault struct {
	from int // rune offset in the expression
	msg  string
}

func (e *exprFault) Error() string { return e.msg }

func compileExpr(src, field string, base []expr.Option, inputs map[string]input, tables map[string]map[string]decimal.Decimal, uses *int) (prog *vm.Program, err error) {
	defer func() {
		// expr validates its own configuration with panics; a rule must
		// never crash the caller, whatever it contains.
		if r := recover(); r != nil {
			prog, err = nil, fmt.Errorf("cannot compile: %v", r)
		}
	}()
	lits := &literals{src: []rune(src)}
	opts := append([]expr.Option{}, base...)
	opts = append(opts, expr.Patch(lits), expr.Patch(&decimalOps{}))
	if field == "when" {
		opts = append(opts, expr.AsBool())
	}
	prog, err = expr.Compile(src, opts...)
	if err != nil {
		return nil, err
	}
	if len(lits.errs) > 0 {
		return nil, lits.errs[0]
	}
	node := prog.Node()
	if field == "points" {
		if t := node.Type(); t != decType {
			name := "unknown"
			if t != nil {
				name = t.String()
			}
			return nil, &exprFault{from: node.Location().From, msg: fmt.Sprintf("points must be a number, not %s", name)}
		}
	}
	v := &inspector{inputs: inputs, tables: tables}
	ast.Walk(&node, v)
	if v.fault != nil {
		return nil, v.fault
	}
	if v.whole || v.roots > v.members {
		*uses = -1
	}
	return prog, nil
}

// inspector collects the inputs an expression reads and rejects method
// calls: values in the environment (decimals, times) have Go methods that
// rules must not reach (Decimal.Pow can run for ever; Time.Local reads the
// host's time zone).
type inspector struct {
	inputs  map[string]input
	tables  map[string]map[string]decimal.Decimal
	fault   *exprFault
	roots   int  // identifiers savings/history
	members int  // savings.x / history.x member reads
	whole   bool // $env or a whole struct is read: convert every amount
}

func (v *inspector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		if m, ok := n.Callee.(*ast.MemberNode); ok && v.fault == nil {
			v.fault = &exprFault{from: m.Property.Location().From, msg: "method calls are not allowed"}
		}
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == "multiplier" && len(n.Arguments) == 2 && v.fault == nil {
			if s, ok := n.Arguments[0].(*ast.StringNode); ok {
				if _, ok := v.tables[s.Value]; !ok {
					v.fault = &exprFault{from: s.Location().From,
						msg: fmt.Sprintf("unknown multiplier table %q (tables: %s)", s.Value, strings.Join(multiplierTables(v.tables), ", "))}
				}
			}
		}
	case *ast.MemberNode:
		if n.Method && v.fault == nil {
			v.fault = &exprFault{from: n.Property.Location().From, msg: "method calls are not allowed"}
		}
		root, ok := n.Node.(*ast.IdentifierNode)
		prop, okp := n.Property.(*ast.StringNode)
		if ok && okp {
			if root.Value == "savings" || root.Value == "history" {
				v.members++
			}
			switch root.Value {
			case "customer", "savings", "event", "history":
				name := root.Value + "." + prop.Value
				v.inputs[name] = input{name: name}
			}
		}
		if inner, ok := n.Node.(*ast.MemberNode); ok {
			r, ok1 := inner.Node.(*ast.IdentifierNode)
			p, ok2 := inner.Property.(*ast.StringNode)
			k, ok3 := n.Property.(*ast.StringNode)
			if ok1 && ok2 && ok3 && r.Value == "customer" && p.Value == "attributes" {
				name := fmt.Sprintf("customer.attributes[%q]", k.Value)
				v.inputs[name] = input{name: name, attr: k.Value}
				delete(v.inputs, "customer.attributes")
			}
		}
	case *ast.IdentifierNode:
		switch n.Value {
		case "savings", "history":
			v.roots++
		case "$env":
			v.whole = true
		}
		if n.Value == "now" {
			v.inputs["now"] = input{name: "now"}
		}
	}
}

// exprError maps an expr error at a rune offset of the expression to the
// rule file's line and column.
func (rs *RuleSet) exprError(r Rule, field, src string, err error) *RuleError {
	from, msg := 0, err.Error()
	var fe *file.Error
	var xf *exprFault
	switch {
	case errors.As(err, &fe):
		from, msg = fe.From, fe.Message
	case errors.As(err, &xf):
		from, msg = xf.from, xf.msg
	}
	if from < 0 {
		from = 0
	}
	re := &RuleError{File: rs.File, Rule: r.ID, Field: field, Message: msg, Err: err}
	span, ok := r.exprSpan[field]
	if !ok || !rs.fromFile {
		// A rule set built in Go: positions are inside the expression.
		line, col := 1, 1
		for i, ch := range []rune(src) {
			if i == from {
				break
			}
			if ch == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		re.Position = Position{line, col}
		re.Snippet = caret(strings.Split(src, "\n")[line-1], col)
		return re
	}
	re.Position = alignPos(rs.src, span, src, from)
	re.Snippet = caret(lineOf(rs.src, re.Line), re.Column)
	return re
}

// alignPos finds where rune number from of expression text src sits in the
// file, starting at the scalar's token: it walks the file and the text in
// step, skipping what YAML added (quotes, escapes, indentation, folding).
func alignPos(file []byte, span exprSpan, src string, from int) Position {
	off := offsetOf(file, span.start)
	line, col := span.start.Line, span.start.Column
	if span.block { // skip the "|" or ">" header line
		for off < len(file) && file[off] != '\n' {
			off++
		}
		if off < len(file) {
			off, line, col = off+1, line+1, 1
		}
	}
	target := []rune(src)
	if from > len(target) {
		from = len(target)
	}
	best := Position{line, col}
	for i := 0; i <= from && i < len(target); i++ {
		want := target[i]
		for off < len(file) {
			r, size := utf8.DecodeRune(file[off:])
			if r == want || (want == ' ' && r == '\n') || (want == '\n' && r == '\n') {
				break
			}
			off += size
			if r == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		if off >= len(file) {
			return best
		}
		best = Position{line, col}
		if i == from {
			return best
		}
		r, size := utf8.DecodeRune(file[off:])
		off += size
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return best
}

func offsetOf(file []byte, p Position) int {
	line, off := 1, 0
	for off < len(file) && line < p.Line {
		if file[off] == '\n' {
			line++
		}
		off++
	}
	for c := 1; c < p.Column && off < len(file) && file[off] != '\n'; c++ {
		_, size := utf8.DecodeRune(file[off:])
		off += size
	}
	return off
}

func lineOf(file []byte, n int) string {
	lines := strings.Split(string(file), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimRight(lines[n-1], "\r")
}

// caret renders the line and a caret under column col (1-based).
func caret(line string, col int) string {
	line = strings.ReplaceAll(line, "\t", " ")
	if n := utf8.RuneCountInString(line); col > n+1 {
		col = n + 1
	}
	if rs := []rune(line); len(rs) > 120 {
		// Show a window around the column of a very long line.
		from := max(0, col-60)
		to := min(len(rs), from+120)
		line, col = "…"+string(rs[from:to])+"…", col-from+1
	}
	return "    | " + line + "\n    | " + strings.Repeat(" ", max(col-1, 0)) + "^"
}

// multiplierTables lists table names, for error messages.
func multiplierTables(m map[string]map[string]decimal.Decimal) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validateGo checks a RuleSet built in Go for what Parse checks in files.
func validateGo(rs *RuleSet) RuleErrors {
	var errs RuleErrors
	add := func(rule, field, format string, args ...any) {
		errs = append(errs, &RuleError{File: rs.File, Position: Position{1, 1}, Rule: rule, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(rs.Program) == "" {
		add("", "program", "must not be empty")
	}
	if rs.Rounding.Places < -18 || rs.Rounding.Places > 18 {
		add("", "rounding.places", "must be between -18 and 18, got %d", rs.Rounding.Places)
	}
	if _, err := ParseRoundingMode(rs.Rounding.Mode.String()); err != nil {
		add("", "rounding.mode", "%v", err)
	}
	checkCaps := func(rule string, caps []Cap) {
		for i, c := range caps {
			if _, ok := periodNames[c.Per]; !ok {
				add(rule, fmt.Sprintf("caps[%d].per", i), "unknown period %v", c.Per)
			}
			if c.Max.IsNegative() {
				add(rule, fmt.Sprintf("caps[%d].max", i), "must not be negative, got %s", c.Max)
			}
		}
	}
	checkCaps("", rs.Caps)
	if rs.Budget.IsNegative() {
		add("", "budget", "must not be negative, got %s", rs.Budget)
	}
	ids := map[string]bool{}
	for _, r := range rs.Rules {
		switch {
		case strings.TrimSpace(r.ID) == "":
			add("", "id", "must not be empty")
		case ids[r.ID]:
			add(r.ID, "id", "duplicate rule id %q", r.ID)
		}
		ids[r.ID] = true
		checkCaps(r.ID, r.Caps)
		if r.Budget.IsNegative() {
			add(r.ID, "budget", "must not be negative, got %s", r.Budget)
		}
		if !r.ValidFrom.IsZero() && !r.ValidTo.IsZero() && !r.ValidFrom.Before(r.ValidTo) {
			add(r.ID, "valid_to", "must be after valid_from")
		}
	}
	if !rs.EffectiveFrom.IsZero() && !rs.EffectiveTo.IsZero() && !rs.EffectiveFrom.Before(rs.EffectiveTo) {
		add("", "effective_to", "must be after effective_from")
	}
	return errs
}
