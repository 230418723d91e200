package rewards

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/expr-lang/expr/file"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/shopspring/decimal"
)

// Status says what became of one rule for one fact.
type Status int

// Statuses of an Outcome.
const (
	// StatusPaid: an award was paid (possibly trimmed by a cap or budget).
	StatusPaid Status = iota + 1
	// StatusConditionFalse: the rule's when was false.
	StatusConditionFalse
	// StatusOutsideValidity: savings.start is outside the rule's
	// valid_from/valid_to.
	StatusOutsideValidity
	// StatusOutsideEffective: savings.start is outside the set's
	// effective_from/effective_to.
	StatusOutsideEffective
	// StatusGroupLost: another matching rule of the group has a larger
	// priority (or the same priority, earlier in the file).
	StatusGroupLost
	// StatusCapReached: a cap left nothing.
	StatusCapReached
	// StatusBudgetReached: a budget left nothing.
	StatusBudgetReached
	// StatusSettled: the fact was settled before with the same points.
	StatusSettled
	// StatusNegativeAdjustment: a restated fact would pay less than was
	// paid, and the rule does not allow negative points.
	StatusNegativeAdjustment
	// StatusZero: the rule's points rounded to zero.
	StatusZero
	// StatusError: the rule failed for this fact (Outcome.Err).
	StatusError
)

var statusNames = [...]string{
	StatusPaid: "paid", StatusConditionFalse: "condition false", StatusOutsideValidity: "outside validity window",
	StatusOutsideEffective: "outside effective window", StatusGroupLost: "group lost to another rule",
	StatusCapReached: "cap reached", StatusBudgetReached: "budget reached", StatusSettled: "already settled",
	StatusNegativeAdjustment: "negative adjustment not allowed", StatusZero: "zero points", StatusError: "error",
}

// String says why, in words.
func (s Status) String() string {
	if s > 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText writes String().
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Award is points to credit to a customer: data, applied to a ledger by
// the caller with Key as the transaction's idempotency key. Its JSON form
// uses the CLI's snake_case keys.
type Award struct {
	Customer string `json:"customer"`
	Program  string `json:"program"`
	Version  int    `json:"version"`
	Rule     string `json:"rule"`
	// Fact is savings.id.
	Fact string `json:"fact"`
	// Points is the amount, rounded with the set's rounding; negative only
	// for allow_negative rules.
	Points decimal.Decimal `json:"points"`
	// Key is the idempotency key: AwardKey(program, rule, customer, fact)
	// for the first award, AdjustmentKey(...) for adjustments.
	Key string `json:"key"`
	// Adjusts is the original award's key when this award adjusts it for
	// a restated fact; "" otherwise.
	Adjusts string `json:"adjusts,omitempty"`
	// EffectiveAt is savings.start.
	EffectiveAt time.Time   `json:"effective_at"`
	Explanation Explanation `json:"explain"`
}

// Outcome is what became of one rule for one fact.
type Outcome struct {
	Customer string
	Rule     string
	Fact     string
	Status   Status
	// Award is set when Status is StatusPaid.
	Award *Award
	// Err is set when Status is StatusError; it is an *AwardError.
	Err         error
	Explanation Explanation
}

// Explanation says how an outcome came about.
type Explanation struct {
	// RawPoints is the points expression's value; RoundedPoints the same
	// rounded once with the set's rounding (the entitlement).
	RawPoints, RoundedPoints decimal.Decimal
	// PaidBefore is what earlier settlements of this fact paid.
	PaidBefore decimal.Decimal
	// Trims lists the caps and budgets that cut the award.
	Trims []Trim
	// Reason says why in words; Winner names the rule that won the group
	// when Status is StatusGroupLost.
	Reason string
	Winner string
	// evaluated is false when the points expression was never run.
	evaluated bool
	// fact and rule render Inputs on demand (rule.inputs are the names
	// the rule reads): most explanations are never read, and formatting
	// every input of every rule would dominate the cost of evaluating a
	// fact. One pointer per rule rather than its inputs slice keeps
	// Outcome and Award small, which the garbage collector notices.
	fact *factView
	rule *compiledRule
}

// Inputs lists each input the rule's expressions read, with its value,
// sorted by name.
func (e Explanation) Inputs() []Input {
	if e.fact == nil || e.rule == nil || len(e.rule.inputs) == 0 {
		return nil
	}
	env := e.fact.env()
	out := make([]Input, len(e.rule.inputs))
	for i, in := range e.rule.inputs {
		out[i] = Input{Name: in.name, Value: in.value(env)}
	}
	return out
}

// Input is one referenced input and its value.
type Input struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// MarshalJSON writes inputs as an object in name order and omits points
// that were never computed.
func (e Explanation) MarshalJSON() ([]byte, error) {
	type out struct {
		Inputs     orderedInputs    `json:"inputs"`
		Raw        *decimal.Decimal `json:"raw_points,omitempty"`
		Rounded    *decimal.Decimal `json:"rounded_points,omitempty"`
		PaidBefore *decimal.Decimal `json:"paid_before,omitempty"`
		Trims      []Trim           `json:"trimmed_by,omitempty"`
		Reason     string           `json:"reason"`
		Winner     string           `json:"winner,omitempty"`
	}
	o := out{Inputs: e.Inputs(), Trims: e.Trims, Reason: e.Reason, Winner: e.Winner}
	if e.evaluated {
		o.Raw, o.Rounded = &e.RawPoints, &e.RoundedPoints
	}
	if !e.PaidBefore.IsZero() {
		o.PaidBefore = &e.PaidBefore
	}
	return json.Marshal(o)
}

type orderedInputs []Input

func (in orderedInputs) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, x := range in {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(x.Name)
		v, _ := json.Marshal(x.Value)
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// awardKeyLen is the length of AwardKey's keys.
const awardKeyLen = len("nw1-") + 32

func keyOf4(a, b, c, d string) string {
	var out [awardKeyLen]byte
	return string(appendKey4(out[:0], a, b, c, d))
}

// appendKey4 appends AwardKey(a, b, c, d) to dst.
func appendKey4(dst []byte, a, b, c, d string) []byte {
	// Length-prefixed fields, so no two tuples share an encoding.
	var stack [256]byte
	buf := stack[:0]
	for _, s := range [4]string{a, b, c, d} {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	sum := sha256.Sum256(buf)
	return hex.AppendEncode(append(dst, "nw1-"...), sum[:16])
}

var vmPool = sync.Pool{New: func() any { return new(vm.VM) }}

// run executes one compiled expression on a pooled VM.
func (p *Program) run(prog *vm.Program, env *Env) (any, error) {
	m := vmPool.Get().(*vm.VM)
	v, err, ok := p.runOn(m, prog, env)
	if ok {
		vmPool.Put(m)
	}
	return v, err
}

// runOn executes one compiled expression on m with the memory budget. A
// panic in the VM or a function becomes an error (expr already recovers;
// this is the last line of defence); ok is false then, and m must not be
// reused.
func (p *Program) runOn(m *vm.VM, prog *vm.Program, env *Env) (v any, err error, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			v, err, ok = nil, fmt.Errorf("rule panicked: %v", r), false
		}
	}()
	m.MemoryBudget = p.lim.MemoryBudget
	env.decimals()
	v, err = m.Run(prog, env)
	return v, err, true
}

// evalState is what one fact's evaluation reuses across its rules; it is
// pooled, so evaluating a fact allocates no scratch space.
type evalState struct {
	vm     *vm.VM
	claim  Claim
	groups [][2]string // group, winning rule: few groups, no map
	// claims are the indexes (in Program.rules) of the rules that claim
	// points for the fact, in draw order; keys holds their award keys.
	claims []int
	keys   []byte
	// windows caches Period.Window(savings.start) for the fact: an entry
	// is current when its gen is gen (no clearing between facts).
	windows [PerLifetime + 1]window
	gen     uint64
	// setLimits are the set's caps and budget for the fact when
	// setLimitsGen is gen: every claim of a rule without caps or budget of
	// its own hands them to the tally as they are, without a copy.
	setLimits    []Limit
	setLimitsGen uint64
	// limits are the limits of the current claim of a rule with caps or a
	// budget of its own.
	limits []Limit
	// awards and facts are slabs the paid awards and the explanations'
	// views of facts are carved from: slots already handed out are never
	// written again, so outcomes keep them.
	awards []Award
	facts  []factView
	// env is the expression environment of the fact being evaluated.
	env Env
	// slow is 1 + the index of the rule of the fact whose fast path
	// panicked (see decide), or 0.
	slow int
}

type window struct {
	from, to time.Time
	gen      uint64
}

var statePool = sync.Pool{New: func() any { return new(evalState) }}

// Slab lengths: 24 awards of 272 bytes are 6,528 bytes and 31 fact views
// of 264 bytes 8,184, each (nearly) filling one of the allocator's size
// classes (6,528 and 8,192 bytes on amd64), so no slab pays for unused
// rounding; every byte allocated per fact brings the next collection
// closer, and while it marks, every pointer written pays a barrier.
const (
	awardSlab = 24
	factSlab  = 31
)

// newAward returns the award of a grant from the slab. The slot is
// fresh (zero), so only the fields that are set are written: a composite
// literal would be copied whole, with a write barrier on every pointer
// slot, nil or not, while the collector marks.
func (st *evalState) newAward(c *Claim, version int, g *Grant, ex *Explanation) *Award {
	if len(st.awards) == cap(st.awards) {
		st.awards = make([]Award, 0, awardSlab)
	}
	st.awards = st.awards[:len(st.awards)+1]
	a := &st.awards[len(st.awards)-1]
	a.Customer, a.Program, a.Version, a.Rule, a.Fact = c.Customer, c.Program, version, c.Rule, c.Fact
	a.Points, a.Key, a.EffectiveAt = g.Points, g.Key, c.At
	if g.Adjusts != "" {
		a.Adjusts = g.Adjusts
	}
	a.Explanation = *ex
	return a
}

// newFactView returns a fresh factView from the slab.
func (st *evalState) newFactView() *factView {
	if len(st.facts) == cap(st.facts) {
		st.facts = make([]factView, 0, factSlab)
	}
	st.facts = st.facts[:len(st.facts)+1]
	return &st.facts[len(st.facts)-1]
}

// window is per.Window(at), computed once per fact and period (st may be
// nil: no cache).
func (st *evalState) window(per Period, at time.Time) (from, to time.Time) {
	if st == nil || per < 0 || int(per) >= len(st.windows) {
		return per.Window(at)
	}
	w := &st.windows[per]
	if w.gen != st.gen {
		w.from, w.to = per.Window(at)
		w.gen = st.gen
	}
	return w.from, w.to
}

func (p *Program) exec(st *evalState, prog *vm.Program, env *Env) (any, error) {
	if st.vm == nil {
		st.vm = vmPool.Get().(*vm.VM)
	}
	v, err, ok := p.runOn(st.vm, prog, env)
	if !ok {
		st.vm = nil
	}
	return v, err
}

// Evaluate settles facts in order against t and returns every outcome, one
// per (fact, rule) in draw order. It fails only when t fails or a fact
// holds a NaN or ±Inf amount (see AppendEvaluate); rule errors are
// outcomes with StatusError, and the other awards still pay.
func (p *Program) Evaluate(t Tally, facts []Fact) ([]Outcome, error) {
	var out []Outcome
	for i := range facts {
		var err error
		out, err = p.AppendEvaluate(out, t, &facts[i])
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// Awards returns the paid awards of outcomes.
func Awards(outcomes []Outcome) []Award {
	var out []Award
	for _, o := range outcomes {
		if o.Award != nil {
			out = append(out, *o.Award)
		}
	}
	return out
}

// AppendEvaluate settles one fact and appends its outcomes to dst.
//
// Semantics: savings.start places the fact in the set's effective window,
// each rule's validity window and cap periods. Matching rules of a group
// pay only the one with the largest priority (ties: earlier in the file),
// even if caps then trim it to zero. Rules draw on caps and budgets in
// priority order, then file order.
//
// A fact with a NaN or ±Inf amount is an error (a [*FactError] naming the
// field, matching [ErrInvalidFact] and [ErrNotFinite]) and appends nothing.
func (p *Program) AppendEvaluate(dst []Outcome, t Tally, f *Fact) ([]Outcome, error) {
	if err := f.finite(); err != nil {
		return dst, err
	}
	rs := p.set
	at := f.Savings.Start
	if (!rs.EffectiveFrom.IsZero() && at.Before(rs.EffectiveFrom)) || (!rs.EffectiveTo.IsZero() && !at.Before(rs.EffectiveTo)) {
		for _, r := range p.rules {
			dst = append(dst, Outcome{Customer: f.Customer.ID, Rule: r.ID, Fact: f.Savings.ID, Status: StatusOutsideEffective,
				Explanation: Explanation{Reason: StatusOutsideEffective.String()}})
		}
		return dst, nil
	}
	st := statePool.Get().(*evalState)
	st.groups, st.claims = st.groups[:0], st.claims[:0]
	st.gen++
	defer func() {
		// Keep the VM and buffers, drop references into this fact.
		st.claim = Claim{}
		clear(st.groups)
		statePool.Put(st)
	}()
	env := &st.env
	p.envFast(f, env)
	view := st.newFactView()
	view.of(env)
	start := len(dst)
	for _, r := range p.rules {
		dst = append(dst, Outcome{Customer: f.Customer.ID, Rule: r.ID, Fact: f.Savings.ID, Explanation: Explanation{fact: view, rule: r}})
	}
	outs := dst[start:]
	// Conditions and points depend on the fact alone: evaluate them for
	// every rule first, then claim in draw order (the same claims, in the
	// same order, as claiming rule by rule), so the award keys of the fact
	// are hashed into one string.
	st.slow = 0
	for i := 0; i < len(p.rules); {
		i = p.decide(st, outs, env, at, i)
	}
	keys := p.awardKeys(st, f)
	// The claims of a fact differ only in key, rule, points, sign and
	// limits: the rest is written once (the Tally contract forbids
	// modifying a claim).
	st.claim = Claim{Program: p.set.Program, Customer: f.Customer.ID, Fact: f.Savings.ID, At: f.Savings.Start, Places: p.set.Rounding.Places}
	for j, i := range st.claims {
		r, o := p.rules[i], &outs[i]
		key := keys[j*awardKeyLen : (j+1)*awardKeyLen]
		var err error
		if o.Status == 0 {
			err = p.pay(o, r, f, t, st, key)
		} else {
			err = p.withdraw(o, r, f, t, st, key)
		}
		if err != nil {
			// The tally failed: leave the later rules as if they had not
			// been looked at.
			for k := i + 1; k < len(outs); k++ {
				outs[k] = Outcome{Customer: f.Customer.ID, Rule: p.rules[k].ID, Fact: f.Savings.ID}
			}
			return dst, err
		}
	}
	for i := range outs {
		if outs[i].Explanation.Reason == "" {
			outs[i].Explanation.Reason = outs[i].Status.String()
		}
	}
	return dst, nil
}

// decide evaluates the conditions and points of the rules from index i
// on, appending the claiming rules to st.claims, and returns
// len(p.rules). When the fast path of a rule panics (it must not; this is
// defence in depth), it undoes that rule's work, marks the rule for the
// exact path (expr's VM, which reports errors and recovers its own
// panics) and returns its index to be decided again: one deferred
// recover per fact instead of one per expression.
func (p *Program) decide(st *evalState, outs []Outcome, env *Env, at time.Time, i int) (next int) {
	groups, claims := len(st.groups), len(st.claims)
	defer func() {
		if v := recover(); v != nil {
			if st.slow == i+1 {
				panic(v) // not the fast path's: never swallowed
			}
			o := &outs[i]
			*o = Outcome{Customer: o.Customer, Rule: o.Rule, Fact: o.Fact, Explanation: Explanation{fact: o.Explanation.fact, rule: o.Explanation.rule}}
			st.groups, st.claims = st.groups[:groups], st.claims[:claims]
			st.slow, next = i+1, i
		}
	}()
	for ; i < len(p.rules); i++ {
		groups, claims = len(st.groups), len(st.claims)
		r, o, fast := p.rules[i], &outs[i], st.slow != i+1
		if !p.matches(o, r, env, at, st, fast) {
			// A restated fact the rule no longer applies to is entitled to
			// zero: an allow_negative rule takes back what it paid.
			if r.AllowNegative && o.Status != StatusError {
				st.claims = append(st.claims, i)
			}
			continue
		}
		if p.points(o, r, env, st, fast) {
			st.claims = append(st.claims, i)
		}
	}
	return i
}

// exprRuntimeError is a runtime error inside an expression, at a line and
// column of the expression text.
type exprRuntimeError struct {
	line, col int
	err       error
}

func (e *exprRuntimeError) Error() string {
	return fmt.Sprintf("%v (at %d:%d of the expression)", e.err, e.line, e.col)
}

func (e *exprRuntimeError) Unwrap() error { return e.err }

// matches reports whether r applies to the fact, setting o's status when
// it does not.
func (p *Program) matches(o *Outcome, r *compiledRule, env *Env, at time.Time, st *evalState, fast bool) bool {
	if (!r.ValidFrom.IsZero() && at.Before(r.ValidFrom)) || (!r.ValidTo.IsZero() && !at.Before(r.ValidTo)) {
		o.Status = StatusOutsideValidity
		return false
	}
	if r.when != nil {
		var b, ok bool
		if fast && r.fastWhen != nil {
			b, ok = r.fastWhen(env)
		}
		if !ok {
			v, err := p.exec(st, r.when, env)
			if err != nil {
				p.fail(o, r, "when", err)
				return false
			}
			b, _ = v.(bool)
		}
		if !b {
			o.Status = StatusConditionFalse
			return false
		}
	}
	if r.Group != "" {
		// Rules are in draw order, so the first match of a group has the
		// largest priority and, among equals, comes first in the file.
		if w := winnerOf(st.groups, r.Group); w != "" {
			o.Status, o.Explanation.Winner = StatusGroupLost, w
			return false
		}
		st.groups = append(st.groups, [2]string{r.Group, r.ID})
	}
	return true
}

// withdraw claims zero points for a rule that does not apply to the fact;
// the tally pays a negative adjustment only if the rule paid this fact
// before.
func (p *Program) withdraw(o *Outcome, r *compiledRule, f *Fact, t Tally, st *evalState, key string) error {
	c := &st.claim
	c.Key, c.Rule, c.Points, c.AllowNegative, c.Limits = key, r.ID, zeroDec, true, nil
	g, err := t.Reserve(c)
	if err != nil {
		return fmt.Errorf("rewards: reserving %s for customer %q, fact %q: %w", r.ID, c.Customer, c.Fact, err)
	}
	if g.Status != StatusPaid {
		return nil
	}
	o.Explanation.PaidBefore = g.Prior.Paid
	o.Explanation.Reason = "paid (adjustment: the rule no longer applies to the restated fact: " + o.Status.String() + ")"
	o.Status = StatusPaid
	o.Award = st.newAward(c, p.set.Version, &g, &o.Explanation)
	return nil
}

func winnerOf(w [][2]string, group string) string {
	for _, g := range w {
		if g[0] == group {
			return g[1]
		}
	}
	return ""
}

func (p *Program) fail(o *Outcome, r *compiledRule, field string, err error) {
	var fe *file.Error
	if errors.As(err, &fe) {
		cause := fe.Unwrap()
		if cause == nil {
			cause = errors.New(fe.Message)
		}
		err = &exprRuntimeError{line: fe.Line, col: fe.Column + 1, err: cause}
	}
	o.Status = StatusError
	o.Err = &AwardError{Customer: o.Customer, Rule: r.ID, Fact: o.Fact, Field: field, Err: err}
	o.Explanation.Reason = o.Err.Error()
}

// awardKeys returns the award keys of the claiming rules, concatenated
// in one string (one allocation per fact).
func (p *Program) awardKeys(st *evalState, f *Fact) string {
	if len(st.claims) == 0 {
		return ""
	}
	b := st.keys[:0]
	for _, i := range st.claims {
		b = appendKey4(b, p.set.Program, p.rules[i].ID, f.Customer.ID, f.Savings.ID)
	}
	st.keys = b
	return string(b)
}

// points evaluates and rounds the points of a rule that matched; false
// when that failed (an error on the award, set in o).
func (p *Program) points(o *Outcome, r *compiledRule, env *Env, st *evalState, fast bool) bool {
	var raw decimal.Decimal
	var ok bool
	if fast && r.fastPoints != nil {
		raw, ok = r.fastPoints(env)
	}
	if !ok {
		v, err := p.exec(st, r.points, env)
		if err != nil {
			p.fail(o, r, "points", err)
			return false
		}
		if raw, ok = v.(decimal.Decimal); !ok {
			p.fail(o, r, "points", fmt.Errorf("points is %T, not a number", v))
			return false
		}
	}
	rounded := p.set.Rounding.Round(raw)
	o.Explanation.RawPoints, o.Explanation.RoundedPoints, o.Explanation.evaluated = raw, rounded, true
	if rounded.IsNegative() && !r.AllowNegative {
		p.fail(o, r, "points", fmt.Errorf("%w: %s", ErrNegativePoints, rounded))
		return false
	}
	return true
}

// pay claims the rounded points of a rule that matched.
func (p *Program) pay(o *Outcome, r *compiledRule, f *Fact, t Tally, st *evalState, key string) error {
	rounded := o.Explanation.RoundedPoints
	c := &st.claim
	c.Key, c.Rule, c.Points, c.AllowNegative, c.Limits = key, r.ID, rounded, r.AllowNegative, p.limitsOf(r, f, st)
	g, err := t.Reserve(c)
	if err != nil {
		return fmt.Errorf("rewards: reserving %s for customer %q, fact %q: %w", r.ID, c.Customer, c.Fact, err)
	}
	o.Explanation.PaidBefore, o.Explanation.Trims = g.Prior.Paid, g.Trims
	o.Status = g.Status
	if g.Status == StatusSettled && !g.Prior.Exists && rounded.IsZero() {
		o.Status = StatusZero
	}
	if g.Status != StatusPaid {
		return nil
	}
	o.Explanation.Reason = StatusPaid.String()
	if len(g.Trims) > 0 {
		o.Explanation.Reason = "paid, trimmed by " + g.Trims[len(g.Trims)-1].Limit.String()
	}
	if g.Adjusts != "" {
		o.Explanation.Reason += " (adjustment of a restated fact)"
	}
	o.Award = st.newAward(c, p.set.Version, &g, &o.Explanation)
	return nil
}

// limits lists the rule's caps, the set's caps, the rule's budget and the
// set's budget for the fact.
func (p *Program) limits(out []Limit, r *compiledRule, f *Fact) []Limit {
	return p.limitsIn(out, r, f, nil)
}

// limitsIn is limits with the windows cached in st (when not nil).
func (p *Program) limitsIn(out []Limit, r *compiledRule, f *Fact, st *evalState) []Limit {
	rs := p.set
	at := f.Savings.Start
	for _, c := range r.Caps {
		from, to := st.window(c.Per, at)
		out = append(out, Limit{Kind: LimitCap, Program: rs.Program, Rule: r.ID, Customer: f.Customer.ID, Per: c.Per, From: from, To: to, Max: c.Max})
	}
	out = p.setCaps(out, f, st)
	if r.HasBudget {
		out = append(out, r.budget)
	}
	if rs.HasBudget {
		out = append(out, p.budget)
	}
	return out
}

// limitsOf is limits for a claim of the fact being evaluated: the set's
// limits of the fact as they are for a rule without caps or budget of its
// own (the same for every such rule), else built in st.limits.
func (p *Program) limitsOf(r *compiledRule, f *Fact, st *evalState) []Limit {
	if st.setLimitsGen != st.gen {
		st.setLimits = p.setCaps(st.setLimits[:0], f, st)
		if p.set.HasBudget {
			st.setLimits = append(st.setLimits, p.budget)
		}
		st.setLimitsGen = st.gen
	}
	if len(r.Caps) == 0 && !r.HasBudget {
		return st.setLimits
	}
	st.limits = p.limitsIn(st.limits[:0], r, f, st)
	return st.limits
}

func (p *Program) setCaps(out []Limit, f *Fact, st *evalState) []Limit {
	for _, c := range p.set.Caps {
		from, to := st.window(c.Per, f.Savings.Start)
		out = append(out, Limit{Kind: LimitCap, Program: p.set.Program, Customer: f.Customer.ID, Per: c.Per, From: from, To: to, Max: c.Max})
	}
	return out
}
