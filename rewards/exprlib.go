package rewards

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/shopspring/decimal"
)

// divPlaces is the precision of "/" inside expressions: quotients carry 20
// decimal places (rounded half-up by shopspring's DivRound), far beyond any
// award's rounding, which is then applied once.
const divPlaces = 20

var (
	decType  = reflect.TypeOf(decimal.Decimal{})
	zeroDec  = decimal.Decimal{}
	builtins = []string{"len", "all", "any", "none", "one", "filter", "map", "count", "find",
		"findIndex", "lower", "upper", "trim", "trimPrefix", "trimSuffix", "hasPrefix", "hasSuffix",
		"keys", "values", "first", "last", "get", "duration"}
)

// toDec converts an operand that type checking allowed (decimal or int).
func toDec(v any) decimal.Decimal {
	switch x := v.(type) {
	case decimal.Decimal:
		return x
	case int:
		return decimal.NewFromInt(int64(x))
	}
	panic(fmt.Sprintf("rewards: unexpected operand %T", v))
}

// cmpDec compares without rescaling (which allocates) in the common cases
// of a comparison with zero or of equal exponents.
func cmpDec(a, b decimal.Decimal) int {
	switch {
	case b.IsZero():
		return a.Sign()
	case a.IsZero():
		return -b.Sign()
	case a.Sign() != b.Sign():
		return a.Sign() - b.Sign()
	}
	return a.Cmp(b)
}

// library holds the functions of one compiled rule set: the decimal
// operators, the rule functions and multiplier tables.
type library struct {
	lim    Limits
	tables map[string]map[string]decimal.Decimal
}

// bound rejects decimals beyond MaxDigits significant digits or exponent,
// so hostile rules cannot make arithmetic arbitrarily slow.
func (l *library) bound(d decimal.Decimal) (decimal.Decimal, error) {
	if d.NumDigits() > l.lim.MaxDigits || int(d.Exponent()) > l.lim.MaxDigits || int(d.Exponent()) < -2*l.lim.MaxDigits {
		return zeroDec, fmt.Errorf("%w: decimal value beyond %d digits", ErrOverflow, l.lim.MaxDigits)
	}
	return d, nil
}

func (l *library) options() []expr.Option {
	arith := []any{
		new(func(decimal.Decimal, decimal.Decimal) decimal.Decimal),
		new(func(decimal.Decimal, int) decimal.Decimal),
		new(func(int, decimal.Decimal) decimal.Decimal),
	}
	cmp := []any{
		new(func(decimal.Decimal, decimal.Decimal) bool),
		new(func(decimal.Decimal, int) bool),
		new(func(int, decimal.Decimal) bool),
	}
	binop := func(f func(a, b decimal.Decimal) (decimal.Decimal, error)) func(p ...any) (any, error) {
		return func(p ...any) (any, error) {
			r, err := f(toDec(p[0]), toDec(p[1]))
			if err != nil {
				return nil, err
			}
			return l.bound(r)
		}
	}
	cmpop := func(f func(c int) bool) func(p ...any) (any, error) {
		return func(p ...any) (any, error) { return f(cmpDec(toDec(p[0]), toDec(p[1]))), nil }
	}
	opts := []expr.Option{
		expr.DisableAllBuiltins(),
		expr.Function("decimal_add", binop(func(a, b decimal.Decimal) (decimal.Decimal, error) { return a.Add(b), nil }), arith...),
		expr.Function("decimal_sub", binop(func(a, b decimal.Decimal) (decimal.Decimal, error) { return a.Sub(b), nil }), arith...),
		expr.Function("decimal_mul", binop(func(a, b decimal.Decimal) (decimal.Decimal, error) { return a.Mul(b), nil }), arith...),
		expr.Function("decimal_div", binop(func(a, b decimal.Decimal) (decimal.Decimal, error) {
			if b.IsZero() {
				return zeroDec, ErrDivisionByZero
			}
			return a.DivRound(b, divPlaces), nil
		}), arith...),
		expr.Function("decimal_mod", binop(func(a, b decimal.Decimal) (decimal.Decimal, error) {
			if b.IsZero() {
				return zeroDec, ErrDivisionByZero
			}
			_, r := a.QuoRem(b, 0)
			return r, nil
		}), arith...),
		expr.Function("decimal_neg", func(p ...any) (any, error) { return p[0].(decimal.Decimal).Neg(), nil },
			new(func(decimal.Decimal) decimal.Decimal)),
		expr.Function("decimal_lt", cmpop(func(c int) bool { return c < 0 }), cmp...),
		expr.Function("decimal_le", cmpop(func(c int) bool { return c <= 0 }), cmp...),
		expr.Function("decimal_gt", cmpop(func(c int) bool { return c > 0 }), cmp...),
		expr.Function("decimal_ge", cmpop(func(c int) bool { return c >= 0 }), cmp...),
		expr.Function("decimal_eq", cmpop(func(c int) bool { return c == 0 }), cmp...),
		expr.Function("decimal_ne", cmpop(func(c int) bool { return c != 0 }), cmp...),
		expr.Function("string_concat", func(p ...any) (any, error) {
			a, b := p[0].(string), p[1].(string)
			if len(a)+len(b) > l.lim.MaxStringBytes {
				return nil, fmt.Errorf("%w: string longer than %d bytes", ErrOverflow, l.lim.MaxStringBytes)
			}
			return a + b, nil
		}, new(func(string, string) string)),
		expr.Function("min", func(p ...any) (any, error) {
			m := p[0].(decimal.Decimal)
			for _, v := range p[1:] {
				if d := v.(decimal.Decimal); d.LessThan(m) {
					m = d
				}
			}
			return m, nil
		}, new(func(decimal.Decimal, ...decimal.Decimal) decimal.Decimal)),
		expr.Function("max", func(p ...any) (any, error) {
			m := p[0].(decimal.Decimal)
			for _, v := range p[1:] {
				if d := v.(decimal.Decimal); d.GreaterThan(m) {
					m = d
				}
			}
			return m, nil
		}, new(func(decimal.Decimal, ...decimal.Decimal) decimal.Decimal)),
		expr.Function("round", func(p ...any) (any, error) {
			places := int32(0)
			if len(p) == 2 {
				pl := p[1].(decimal.Decimal)
				if !pl.IsInteger() || pl.Abs().GreaterThan(decimal.NewFromInt(18)) {
					return nil, fmt.Errorf("round: places must be an integer between -18 and 18, got %s", pl)
				}
				places = int32(pl.IntPart())
			}
			return p[0].(decimal.Decimal).RoundBank(places), nil
		}, new(func(decimal.Decimal) decimal.Decimal), new(func(decimal.Decimal, decimal.Decimal) decimal.Decimal)),
		expr.Function("floor", func(p ...any) (any, error) { return p[0].(decimal.Decimal).Floor(), nil },
			new(func(decimal.Decimal) decimal.Decimal)),
		expr.Function("ceil", func(p ...any) (any, error) { return p[0].(decimal.Decimal).Ceil(), nil },
			new(func(decimal.Decimal) decimal.Decimal)),
		expr.Function("abs", func(p ...any) (any, error) { return p[0].(decimal.Decimal).Abs(), nil },
			new(func(decimal.Decimal) decimal.Decimal)),
		expr.Function("clamp", func(p ...any) (any, error) {
			x, lo, hi := p[0].(decimal.Decimal), p[1].(decimal.Decimal), p[2].(decimal.Decimal)
			if lo.GreaterThan(hi) {
				return nil, fmt.Errorf("clamp: lo %s greater than hi %s", lo, hi)
			}
			return decimal.Min(decimal.Max(x, lo), hi), nil
		}, new(func(decimal.Decimal, decimal.Decimal, decimal.Decimal) decimal.Decimal)),
		expr.Function("between", func(p ...any) (any, error) {
			t := p[0].(time.Time)
			from, err := asTime(p[1])
			if err != nil {
				return nil, err
			}
			to, err := asTime(p[2])
			if err != nil {
				return nil, err
			}
			return !t.Before(from) && !t.After(to), nil
		}, new(func(time.Time, time.Time, time.Time) bool), new(func(time.Time, string, string) bool)),
		expr.Function("multiplier", func(p ...any) (any, error) {
			name, key := p[0].(string), p[1].(string)
			tab, ok := l.tables[name]
			if !ok {
				return nil, fmt.Errorf("%w: no multiplier table %q", ErrMissingMultiplier, name)
			}
			if v, ok := tab[key]; ok {
				return v, nil
			}
			if v, ok := tab["default"]; ok {
				return v, nil
			}
			return nil, fmt.Errorf("%w: table %q has no key %q and no default", ErrMissingMultiplier, name, key)
		}, new(func(string, string) decimal.Decimal)),
	}
	for _, b := range builtins {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	return opts
}

func asTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return time.Time{}, fmt.Errorf("between: %q is not an RFC 3339 time", x)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("between: unexpected %T", v)
}

// literals turns every numeric literal into an exact decimal constant,
// parsed from the expression's own text (never via float64). Integer
// literals used as range bounds or indexes stay integers.
type literals struct {
	src  []rune
	errs []error
}

func (p *literals) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		d, err := p.parse(n)
		if err != nil {
			p.errs = append(p.errs, err)
			return
		}
		ast.Patch(node, &ast.ConstantNode{Value: d})
	case *ast.BinaryNode:
		if n.Operator == ".." {
			n.Left, n.Right = backToInt(n.Left), backToInt(n.Right)
		}
	case *ast.MemberNode:
		n.Property = backToInt(n.Property)
	case *ast.SliceNode:
		n.From, n.To = backToInt(n.From), backToInt(n.To)
	case *ast.UnaryNode:
		if c, ok := n.Node.(*ast.ConstantNode); ok && n.Operator == "-" {
			if d, ok := c.Value.(decimal.Decimal); ok {
				ast.Patch(node, &ast.ConstantNode{Value: d.Neg()})
			}
		}
	}
}

func (p *literals) parse(n ast.Node) (decimal.Decimal, error) {
	loc := n.Location()
	if loc.From >= 0 && loc.To > loc.From && loc.To <= len(p.src) {
		text := strings.ReplaceAll(string(p.src[loc.From:loc.To]), "_", "")
		if d, err := decimal.NewFromString(text); err == nil {
			return d, nil
		}
	}
	switch v := n.(type) {
	case *ast.IntegerNode:
		return decimal.NewFromInt(int64(v.Value)), nil
	case *ast.FloatNode:
		return decimal.NewFromFloat(v.Value), nil
	}
	return zeroDec, fmt.Errorf("bad literal")
}

func backToInt(n ast.Node) ast.Node {
	c, ok := n.(*ast.ConstantNode)
	if !ok {
		return n
	}
	d, ok := c.Value.(decimal.Decimal)
	if !ok || !d.IsInteger() || d.Abs().GreaterThan(decimal.NewFromInt(1<<53)) {
		return n
	}
	in := &ast.IntegerNode{Value: int(d.IntPart())}
	in.SetLocation(c.Location())
	return in
}

// decimalOps rewrites the arithmetic and comparison operators on decimals
// (and decimal-int mixes) into calls of the decimal_* functions, -x on a
// decimal into decimal_neg(x), and string + string into string_concat.
// It is one patcher for all operators: expr re-checks the whole tree before
// each patcher of its repeated phase, so one visitor instead of a dozen
// expr.Operator patchers makes compiling several times cheaper.
type decimalOps struct{ applied bool }

var (
	opFuncs = map[string]string{"+": "decimal_add", "-": "decimal_sub", "*": "decimal_mul", "/": "decimal_div",
		"%": "decimal_mod", "<": "decimal_lt", "<=": "decimal_le", ">": "decimal_gt", ">=": "decimal_ge",
		"==": "decimal_eq", "!=": "decimal_ne"}
	boolType   = reflect.TypeOf(true)
	stringType = reflect.TypeOf("")
)

func isNum(t reflect.Type) bool { return t == decType || (t != nil && t.Kind() == reflect.Int) }

func (v *decimalOps) Visit(node *ast.Node) {
	var call *ast.CallNode
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		fn, ok := opFuncs[n.Operator]
		if !ok {
			return
		}
		l, r := n.Left.Type(), n.Right.Type()
		switch {
		case isNum(l) && isNum(r) && (l == decType || r == decType):
			call = &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: []ast.Node{n.Left, n.Right}}
			if len(n.Operator) == 2 || n.Operator == "<" || n.Operator == ">" {
				call.SetType(boolType)
			} else {
				call.SetType(decType)
			}
		case n.Operator == "+" && l == stringType && r == stringType:
			call = &ast.CallNode{Callee: &ast.IdentifierNode{Value: "string_concat"}, Arguments: []ast.Node{n.Left, n.Right}}
			call.SetType(stringType)
		default:
			return
		}
	case *ast.UnaryNode:
		if n.Operator != "-" || n.Node.Type() != decType {
			return
		}
		call = &ast.CallNode{Callee: &ast.IdentifierNode{Value: "decimal_neg"}, Arguments: []ast.Node{n.Node}}
		call.SetType(decType)
	default:
		return
	}
	ast.Patch(node, call)
	v.applied = true
}

// Reset and ShouldRepeat put decimalOps in expr's repeated patch phase,
// where node types are known.
func (v *decimalOps) Reset()             { v.applied = false }
func (v *decimalOps) ShouldRepeat() bool { return v.applied }
