package rewards

import (
	"github.com/expr-lang/expr/ast"
	"github.com/shopspring/decimal"
)

// The fast path evaluates the common shapes of rule expressions (field
// reads, string equality, decimal arithmetic and comparisons, and/or/not,
// multiplier, min/max, abs) as typed Go closures over the checked AST, so
// that no value is boxed into an interface through reflection: expr's VM
// reads every struct field with reflect.Value.Interface, which allocates
// for decimals, strings and times. Anything else, and any error on the
// way, falls back to expr's VM on the same compiled program, so the VM
// stays the reference for values and errors (with their positions): a
// closure reports ok=false instead of an error, and the VM then runs the
// expression and produces the error itself.

type (
	fastBool func(e *Env) (v, ok bool)
	fastDec  func(e *Env) (v decimal.Decimal, ok bool)
	fastStr  func(e *Env) (v string, ok bool)
)

// fastCompiler turns checked expression trees into closures. Each method
// returns nil when the node is outside the fast subset.
type fastCompiler struct{ lib *library }

func (c *fastCompiler) boolOf(n ast.Node) fastBool {
	switch n := n.(type) {
	case *ast.BoolNode:
		v := n.Value
		return func(*Env) (bool, bool) { return v, true }
	case *ast.ConstantNode:
		v, ok := n.Value.(bool)
		if !ok {
			return nil
		}
		return func(*Env) (bool, bool) { return v, true }
	case *ast.UnaryNode:
		if n.Operator != "!" && n.Operator != "not" {
			return nil
		}
		x := c.boolOf(n.Node)
		if x == nil {
			return nil
		}
		return func(e *Env) (bool, bool) {
			v, ok := x(e)
			return !v, ok
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and", "||", "or":
			l, r := c.boolOf(n.Left), c.boolOf(n.Right)
			if l == nil || r == nil {
				return nil
			}
			if n.Operator == "&&" || n.Operator == "and" {
				return func(e *Env) (bool, bool) {
					if v, ok := l(e); !ok || !v {
						return false, ok
					}
					return r(e)
				}
			}
			return func(e *Env) (bool, bool) {
				if v, ok := l(e); !ok || v {
					return v, ok
				}
				return r(e)
			}
		case "==", "!=":
			if n.Left.Type() != stringType || n.Right.Type() != stringType {
				return nil
			}
			l, r := c.strOf(n.Left), c.strOf(n.Right)
			if l == nil || r == nil {
				return nil
			}
			want := n.Operator == "=="
			if k, ok := constString(n.Right); ok {
				// The common shape, savings.kind == "period": one call less.
				return func(e *Env) (bool, bool) {
					a, ok := l(e)
					return (a == k) == want, ok
				}
			}
			return func(e *Env) (bool, bool) {
				a, ok1 := l(e)
				b, ok2 := r(e)
				return (a == b) == want, ok1 && ok2
			}
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || len(n.Arguments) != 2 {
			return nil
		}
		op, ok := cmpOps[id.Value]
		if !ok {
			return nil
		}
		l, r := c.decOf(n.Arguments[0]), c.decOf(n.Arguments[1])
		if l == nil || r == nil {
			return nil
		}
		exact := func(e *Env) (bool, bool) {
			a, ok1 := l(e)
			if !ok1 {
				return false, false
			}
			b, ok2 := r(e)
			return op.holds(cmpDec(a, b)), ok2
		}
		fl, fr := c.fixOf(n.Arguments[0]), c.fixOf(n.Arguments[1])
		if fl == nil || fr == nil {
			return exact
		}
		// Fixed point first; the exact decimals when it cannot decide.
		if k, ok := c.constFixed(n.Arguments[1]); ok {
			// The common shape, savings.kwh > 0: one call less.
			return func(e *Env) (bool, bool) {
				if a, ok := fl(e); ok {
					return op.holds(cmpFixed(a, k)), true
				}
				return exact(e)
			}
		}
		return func(e *Env) (bool, bool) {
			if a, ok := fl(e); ok {
				if b, ok := fr(e); ok {
					return op.holds(cmpFixed(a, b)), true
				}
			}
			return exact(e)
		}
	}
	return nil
}

// cmpOp is a decimal comparison: what a three-way comparison must be for
// it to hold.
type cmpOp uint8

const (
	cmpLT cmpOp = iota
	cmpLE
	cmpGT
	cmpGE
	cmpEQ
	cmpNE
)

var cmpOps = map[string]cmpOp{"decimal_lt": cmpLT, "decimal_le": cmpLE, "decimal_gt": cmpGT,
	"decimal_ge": cmpGE, "decimal_eq": cmpEQ, "decimal_ne": cmpNE}

func (op cmpOp) holds(c int) bool {
	switch op {
	case cmpLT:
		return c < 0
	case cmpLE:
		return c <= 0
	case cmpGT:
		return c > 0
	case cmpGE:
		return c >= 0
	case cmpEQ:
		return c == 0
	}
	return c != 0
}

// constString returns the value of a string literal.
func constString(n ast.Node) (string, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.ConstantNode:
		v, ok := n.Value.(string)
		return v, ok
	}
	return "", false
}

// constFixed returns the fixed value of a decimal literal.
func (c *fastCompiler) constFixed(n ast.Node) (fixed, bool) {
	k, ok := n.(*ast.ConstantNode)
	if !ok {
		return noFixed, false
	}
	d, ok := k.Value.(decimal.Decimal)
	if !ok {
		return noFixed, false
	}
	return fixedOf(d)
}

func (c *fastCompiler) strOf(n ast.Node) fastStr {
	switch n := n.(type) {
	case *ast.StringNode:
		v := n.Value
		return func(*Env) (string, bool) { return v, true }
	case *ast.ConstantNode:
		v, ok := n.Value.(string)
		if !ok {
			return nil
		}
		return func(*Env) (string, bool) { return v, true }
	case *ast.MemberNode:
		if n.Optional || n.Method {
			return nil
		}
		key, ok := n.Property.(*ast.StringNode)
		if !ok {
			return nil
		}
		if inner, ok := n.Node.(*ast.MemberNode); ok && !inner.Optional && !inner.Method && envMember(inner) == "customer.attributes" {
			k := key.Value
			// A missing key (or a nil map) reads as "", as in expr.
			return func(e *Env) (string, bool) { return e.Customer.Attributes[k], true }
		}
		switch envMember(n) {
		case "customer.id":
			return func(e *Env) (string, bool) { return e.Customer.ID, true }
		case "customer.tier":
			return func(e *Env) (string, bool) { return e.Customer.Tier, true }
		case "savings.kind":
			return func(e *Env) (string, bool) { return e.Savings.Kind, true }
		case "savings.id":
			return func(e *Env) (string, bool) { return e.Savings.ID, true }
		case "event.id":
			return func(e *Env) (string, bool) { return e.Event.ID, true }
		case "event.type":
			return func(e *Env) (string, bool) { return e.Event.Type, true }
		}
	}
	return nil
}

// envMember names a root.field read of the environment ("savings.kwh"),
// or returns "".
func envMember(n *ast.MemberNode) string {
	root, ok := n.Node.(*ast.IdentifierNode)
	prop, okp := n.Property.(*ast.StringNode)
	if !ok || !okp {
		return ""
	}
	return root.Value + "." + prop.Value
}

func (c *fastCompiler) decOf(n ast.Node) fastDec {
	switch n := n.(type) {
	case *ast.ConstantNode:
		v, ok := n.Value.(decimal.Decimal)
		if !ok {
			return nil
		}
		return func(*Env) (decimal.Decimal, bool) { return v, true }
	case *ast.MemberNode:
		if n.Optional || n.Method {
			return nil
		}
		// The exact path reads the decimal amounts, which are filled from
		// the fact only when first needed (see Env.decimals).
		switch envMember(n) {
		case "savings.baseline_kwh":
			return func(e *Env) (decimal.Decimal, bool) { e.decimals(); return e.Savings.BaselineKWh, true }
		case "savings.observed_kwh":
			return func(e *Env) (decimal.Decimal, bool) { e.decimals(); return e.Savings.ObservedKWh, true }
		case "savings.kwh":
			return func(e *Env) (decimal.Decimal, bool) { e.decimals(); return e.Savings.KWh, true }
		case "savings.percent":
			return func(e *Env) (decimal.Decimal, bool) { e.decimals(); return e.Savings.Percent, true }
		case "savings.uncertainty_kwh":
			return func(e *Env) (decimal.Decimal, bool) { e.decimals(); return e.Savings.UncertaintyKWh, true }
		case "history.event_streak":
			return func(e *Env) (decimal.Decimal, bool) { e.decimals(); return e.History.EventStreak, true }
		case "history.events_total":
			return func(e *Env) (decimal.Decimal, bool) { e.decimals(); return e.History.EventsTotal, true }
		}
	case *ast.CallNode:
		return c.decCall(n)
	}
	return nil
}

func (c *fastCompiler) decCall(n *ast.CallNode) fastDec {
	lib := c.lib
	return callOf(c, n, c.decOf, &arith[decimal.Decimal]{
		none: zeroDec,
		add:  func(a, b decimal.Decimal) (decimal.Decimal, bool) { return a.Add(b), true },
		sub:  func(a, b decimal.Decimal) (decimal.Decimal, bool) { return a.Sub(b), true },
		mul:  func(a, b decimal.Decimal) (decimal.Decimal, bool) { return a.Mul(b), true },
		div: func(a, b decimal.Decimal) (decimal.Decimal, bool) {
			if b.IsZero() {
				return zeroDec, false
			}
			return a.DivRound(b, divPlaces), true
		},
		neg: decimal.Decimal.Neg,
		abs: decimal.Decimal.Abs,
		cmp: decimal.Decimal.Cmp,
		// Beyond the bounds: the VM reports the overflow.
		within: func(v decimal.Decimal) bool { _, err := lib.bound(v); return err == nil },
		of:     func(v decimal.Decimal) (decimal.Decimal, bool) { return v, true },
	})
}

func (c *fastCompiler) fixCall(n *ast.CallNode) fixDec {
	maxDigits := c.lib.lim.MaxDigits
	return callOf(c, n, c.fixOf, &arith[fixed]{
		none: noFixed,
		add:  addFixed, sub: subFixed, mul: mulFixed, div: divFixed,
		neg: negFixed,
		abs: func(v fixed) fixed {
			if v.c < 0 {
				return negFixed(v)
			}
			return v
		},
		cmp: cmpFixed,
		// Beyond the bounds: the exact path (then the VM) reports the
		// overflow, as library.bound does for decCall's operators.
		within: func(v fixed) bool { return v.within(maxDigits) },
		// A table value that does not fit keeps the call on the exact path.
		of: fixedOf,
	})
}

// arith is what callOf needs of a value type: the exact path's
// decimal.Decimal, or fixed point (fixed.go).
type arith[T any] struct {
	none               T // the value returned with ok == false
	add, sub, mul, div func(a, b T) (T, bool)
	neg, abs           func(T) T
	cmp                func(a, b T) int
	within             func(T) bool // inside the limits' digits
	of                 func(decimal.Decimal) (T, bool)
}

// callOf compiles a call of the decimal library (decimal_add … decimal_div,
// decimal_neg, abs, min, max, multiplier) over T, its arguments compiled by
// of; nil when the call or an argument is outside the fast subset.
func callOf[T any, F ~func(*Env) (T, bool)](c *fastCompiler, n *ast.CallNode, of func(ast.Node) F, ar *arith[T]) F {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		return nil
	}
	args := make([]F, 0, len(n.Arguments))
	if id.Value != "multiplier" {
		for _, a := range n.Arguments {
			if a.Type() != decType {
				return nil
			}
			f := of(a)
			if f == nil {
				return nil
			}
			args = append(args, f)
		}
	}
	binop := func(op func(a, b T) (T, bool)) F {
		if len(args) != 2 {
			return nil
		}
		l, r := args[0], args[1]
		return func(e *Env) (T, bool) {
			a, ok := l(e)
			if !ok {
				return ar.none, false
			}
			b, ok := r(e)
			if !ok {
				return ar.none, false
			}
			v, ok := op(a, b)
			if !ok || !ar.within(v) {
				return ar.none, false
			}
			return v, true
		}
	}
	switch id.Value {
	case "decimal_add":
		return binop(ar.add)
	case "decimal_sub":
		return binop(ar.sub)
	case "decimal_mul":
		return binop(ar.mul)
	case "decimal_div":
		return binop(ar.div)
	case "decimal_neg", "abs":
		if len(args) != 1 {
			return nil
		}
		x, f := args[0], ar.abs
		if id.Value == "decimal_neg" {
			f = ar.neg
		}
		return func(e *Env) (T, bool) {
			v, ok := x(e)
			if !ok {
				return ar.none, false
			}
			return f(v), true
		}
	case "min", "max":
		if len(args) == 0 {
			return nil
		}
		isMax := id.Value == "max"
		return func(e *Env) (T, bool) {
			m, ok := args[0](e)
			if !ok {
				return ar.none, false
			}
			for _, a := range args[1:] {
				d, ok := a(e)
				if !ok {
					return ar.none, false
				}
				// The VM's min and max keep the first of equal values.
				if c := ar.cmp(d, m); (isMax && c > 0) || (!isMax && c < 0) {
					m = d
				}
			}
			return m, true
		}
	case "multiplier":
		if len(n.Arguments) != 2 {
			return nil
		}
		name, ok := n.Arguments[0].(*ast.StringNode)
		if !ok {
			return nil
		}
		tab, ok := c.lib.tables[name.Value]
		if !ok {
			return nil
		}
		key := c.strOf(n.Arguments[1])
		if key == nil {
			return nil
		}
		vals := make(map[string]T, len(tab))
		for k, v := range tab {
			t, ok := ar.of(v)
			if !ok {
				return nil
			}
			vals[k] = t
		}
		def, hasDef := vals["default"]
		return func(e *Env) (T, bool) {
			k, ok := key(e)
			if !ok {
				return ar.none, false
			}
			if v, ok := vals[k]; ok {
				return v, true
			}
			// No default: the VM reports the missing key.
			return def, hasDef
		}
	}
	return nil
}

// fixDec is a decimal expression on the fixed-point fast path (fixed.go):
// ok is false when a value does not fit or is an error, and the caller
// then evaluates the same expression on the exact path.
type fixDec func(e *Env) (v fixed, ok bool)

// pointsOf is decOf for a points expression: fixed point first, converted
// to the exact path's decimal at the end, and the exact closures when the
// fixed point cannot compute a value. A constant or a multiplier alone
// stays on the exact path, which returns the decimal it already holds
// without allocating.
func (c *fastCompiler) pointsOf(n ast.Node) fastDec {
	exact := c.decOf(n)
	if exact == nil {
		return nil
	}
	switch n := n.(type) {
	case *ast.ConstantNode:
		return exact
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == "multiplier" {
			return exact
		}
	}
	fx := c.fixOf(n)
	if fx == nil {
		return exact
	}
	return func(e *Env) (decimal.Decimal, bool) {
		if v, ok := fx(e); ok {
			return v.decimal(), true
		}
		return exact(e)
	}
}

// fixOf is decOf on fixed point: the same subset of expressions, minus
// constants and multiplier tables whose values do not fit an int64
// coefficient. It returns nil where decOf does.
func (c *fastCompiler) fixOf(n ast.Node) fixDec {
	switch n := n.(type) {
	case *ast.ConstantNode:
		d, ok := n.Value.(decimal.Decimal)
		if !ok {
			return nil
		}
		v, ok := fixedOf(d)
		if !ok {
			return nil
		}
		return func(*Env) (fixed, bool) { return v, true }
	case *ast.MemberNode:
		if n.Optional || n.Method {
			return nil
		}
		switch envMember(n) {
		case "savings.baseline_kwh":
			return func(e *Env) (fixed, bool) { v := e.amounts.baseline; return v, v.valid() }
		case "savings.observed_kwh":
			return func(e *Env) (fixed, bool) { v := e.amounts.observed; return v, v.valid() }
		case "savings.kwh":
			return func(e *Env) (fixed, bool) { v := e.amounts.kwh; return v, v.valid() }
		case "savings.percent":
			return func(e *Env) (fixed, bool) { v := e.amounts.percent; return v, v.valid() }
		case "savings.uncertainty_kwh":
			return func(e *Env) (fixed, bool) { v := e.amounts.uncertainty; return v, v.valid() }
		case "history.event_streak":
			return func(e *Env) (fixed, bool) { v := e.amounts.streak; return v, v.valid() }
		case "history.events_total":
			return func(e *Env) (fixed, bool) { v := e.amounts.total; return v, v.valid() }
		}
	case *ast.CallNode:
		return c.fixCall(n)
	}
	return nil
}
