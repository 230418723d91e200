package rewards

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
	"github.com/shopspring/decimal"
)

// exprSpan locates an expression's text in the rule file.
type exprSpan struct {
	start Position // of the scalar's token
	block bool     // a block scalar (| or >): text starts on the next line
}

// Parse reads a YAML or JSON rule file (JSON is a subset of YAML). file is
// the name used in error messages.
//
// Set keys: program, version (integer), effective_from, effective_to (RFC
// 3339; effective_from <= savings.start < effective_to), currency,
// rounding {places, mode: half-even|half-up|floor|ceil|down}, budget,
// caps [{per: day|week|month|year|lifetime, max}], multipliers (named
// tables with an optional default key) and rules. Rule keys: id,
// description, when, points, priority, group, valid_from, valid_to, caps,
// budget, allow_negative. Unknown keys, YAML tags and merge keys are
// errors. Every problem is reported, as a
// [RuleErrors] sorted by position; Parse does not compile expressions (see
// [Compile] and [Load]).
func Parse(file string, src []byte, opts ...Option) (*RuleSet, error) {
	c := newConfig(opts)
	rs, errs := parse(file, src, c)
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	return rs, nil
}

// parse returns what could be decoded along with every problem, so that
// Load can still compile the expressions of a file with structural errors
// and report everything at once.
func parse(file string, src []byte, c config) (*RuleSet, RuleErrors) {
	d := &decoder{file: file, src: src, lim: c.limits, anchors: map[string]ast.Node{}}
	rs := d.decodeFile()
	rs.src, rs.fromFile = src, true
	return rs, d.errs
}

func (es RuleErrors) sorted() RuleErrors {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Column < es[j].Column
	})
	return es
}

type decoder struct {
	file    string
	src     []byte
	lim     Limits
	errs    RuleErrors
	anchors map[string]ast.Node
	nodes   int
	rule    string // id of the rule being decoded, for messages
}

func posOf(n ast.Node) Position {
	if n == nil {
		return Position{1, 1}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Position{1, 1}
	}
	return Position{tk.Position.Line, tk.Position.Column}
}

func (d *decoder) errAt(p Position, field, format string, args ...any) {
	d.errs = append(d.errs, &RuleError{File: d.file, Position: p, Rule: d.rule, Field: field,
		Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) limitAt(p Position, format string, args ...any) {
	d.errs = append(d.errs, &RuleError{File: d.file, Position: p, Rule: d.rule,
		Message: fmt.Sprintf(format, args...), Err: ErrLimit})
}

// prescan bounds nesting and aliases on the token stream, which is cheap,
// before the parser (whose cost grows with nesting) sees the file.
func (d *decoder) prescan() bool {
	if !utf8.Valid(d.src) {
		d.errAt(Position{1, 1}, "", "file is not valid UTF-8")
		return false
	}
	if p, ok := quickDepth(d.src, d.lim.MaxDepth); !ok {
		d.limitAt(p, "nesting deeper than %d levels", d.lim.MaxDepth)
		return false
	}
	toks := lexer.Tokenize(string(d.src))
	flow, aliases := 0, 0
	maxCol := 4*d.lim.MaxDepth + 64
	for _, tk := range toks {
		p := Position{1, 1}
		if tk.Position != nil {
			p = Position{tk.Position.Line, tk.Position.Column}
		}
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
			if flow > d.lim.MaxDepth {
				d.limitAt(p, "nesting deeper than %d levels", d.lim.MaxDepth)
				return false
			}
		case token.SequenceEndType, token.MappingEndType:
			flow--
		case token.AnchorType, token.AliasType:
			aliases++
			if aliases > d.lim.MaxAliases {
				d.limitAt(p, "more than %d YAML anchors and aliases", d.lim.MaxAliases)
				return false
			}
		case token.SequenceEntryType, token.MappingValueType:
			// Block nesting needs indentation: a structure token far to the
			// right ("- - - - ...") is nesting we refuse to parse.
			if flow == 0 && p.Column > maxCol {
				d.limitAt(p, "nesting deeper than %d levels", d.lim.MaxDepth)
				return false
			}
		case token.TagType:
			d.errAt(p, "", "YAML tags are not allowed")
			return false
		}
	}
	return true
}

func (d *decoder) decodeFile() *RuleSet {
	rs := &RuleSet{File: d.file, Currency: "points", pos: map[string]Position{}}
	if len(d.src) > d.lim.MaxFileBytes {
		d.limitAt(Position{1, 1}, "file is %d bytes, more than the limit of %d", len(d.src), d.lim.MaxFileBytes)
		return rs
	}
	if !d.prescan() {
		return rs
	}
	f, err := parser.ParseBytes(d.src, 0)
	if err != nil {
		p := Position{1, 1}
		msg := err.Error()
		var tok interface {
			GetToken() *token.Token
			GetMessage() string
		}
		if errors.As(err, &tok) {
			if t := tok.GetToken(); t != nil && t.Position != nil {
				p = Position{t.Position.Line, t.Position.Column}
			}
			msg = tok.GetMessage()
		}
		d.errAt(p, "", "syntax error: %s", msg)
		return rs
	}
	var docs []ast.Node
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			docs = append(docs, doc.Body)
		}
	}
	if len(docs) == 0 {
		d.errAt(Position{1, 1}, "", "empty rule file")
		return rs
	}
	if len(docs) > 1 {
		d.errAt(posOf(docs[1]), "", "more than one YAML document")
		return rs
	}
	d.decodeSet(rs, docs[0])
	return rs
}

// deref resolves anchors and aliases and counts nodes against the budget.
func (d *decoder) deref(n ast.Node, depth int) (ast.Node, bool) {
	for {
		d.nodes++
		if d.nodes > d.lim.MaxYAMLNodes {
			d.limitAt(posOf(n), "more than %d YAML nodes (alias expansion)", d.lim.MaxYAMLNodes)
			return nil, false
		}
		if depth > d.lim.MaxDepth {
			d.limitAt(posOf(n), "nesting deeper than %d levels", d.lim.MaxDepth)
			return nil, false
		}
		switch v := n.(type) {
		case *ast.AnchorNode:
			if v.Name != nil {
				d.anchors[v.Name.GetToken().Value] = v.Value
			}
			n = v.Value
		case *ast.AliasNode:
			name := ""
			if v.Value != nil {
				name = v.Value.GetToken().Value
			}
			target, ok := d.anchors[name]
			if !ok {
				d.errAt(posOf(n), "", "unknown alias %q", name)
				return nil, false
			}
			n = target
		case *ast.TagNode:
			d.errAt(posOf(n), "", "YAML tags are not allowed")
			return nil, false
		default:
			return n, n != nil
		}
	}
}

type kv struct {
	key  string
	kpos Position
	val  ast.Node
}

// mapping returns the pairs of a mapping node in order, reporting unknown
// and duplicate keys.
func (d *decoder) mapping(n ast.Node, field string, depth int, known ...string) ([]kv, bool) {
	n, ok := d.deref(n, depth)
	if !ok {
		return nil, false
	}
	var pairs []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		pairs = m.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{m}
	default:
		d.errAt(posOf(n), field, "must be a mapping")
		return nil, false
	}
	seen := map[string]bool{}
	out := make([]kv, 0, len(pairs))
	for _, p := range pairs {
		if _, merge := p.Key.(*ast.MergeKeyNode); merge {
			d.errAt(posOf(p.Key), field, "merge keys (<<) are not allowed")
			continue
		}
		key := p.Key.GetToken().Value
		if s, ok := p.Key.(*ast.StringNode); ok {
			key = s.Value
		}
		kp := posOf(p.Key)
		if known != nil && !contains(known, key) {
			d.errAt(kp, join(field, key), "unknown key %q", key)
			continue
		}
		if seen[key] {
			d.errAt(kp, join(field, key), "duplicate key %q", key)
			continue
		}
		seen[key] = true
		out = append(out, kv{key, kp, p.Value})
	}
	return out, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

// scalar returns the text of a scalar node.
func (d *decoder) scalar(n ast.Node, field string, depth int) (string, Position, bool) {
	n, ok := d.deref(n, depth)
	if !ok {
		return "", Position{}, false
	}
	p := posOf(n)
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, p, true
	case *ast.LiteralNode:
		return v.Value.Value, p, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return n.GetToken().Value, p, true
	case *ast.NullNode:
		d.errAt(p, field, "must not be null")
	default:
		d.errAt(p, field, "must be a scalar")
	}
	return "", p, false
}

func (d *decoder) str(n ast.Node, field string, depth int) (string, bool) {
	s, _, ok := d.scalar(n, field, depth)
	return s, ok
}

func (d *decoder) integer(n ast.Node, field string, depth int) (int, bool) {
	s, p, ok := d.scalar(n, field, depth)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil {
		d.errAt(p, field, "must be an integer, got %q", s)
		return 0, false
	}
	return v, true
}

func (d *decoder) dec(n ast.Node, field string, depth int) (decimal.Decimal, bool) {
	s, p, ok := d.scalar(n, field, depth)
	if !ok {
		return decimal.Decimal{}, false
	}
	v, err := decimal.NewFromString(strings.ReplaceAll(s, "_", ""))
	if err != nil || len(s) > 40 {
		d.errAt(p, field, "must be a decimal number, got %q", s)
		return decimal.Decimal{}, false
	}
	return v, true
}

func (d *decoder) nonNegDec(n ast.Node, field string, depth int) (decimal.Decimal, bool) {
	v, ok := d.dec(n, field, depth)
	if ok && v.IsNegative() {
		d.errAt(posOf(n), field, "must not be negative, got %s", v)
		return v, false
	}
	return v, ok
}

func (d *decoder) timestamp(n ast.Node, field string, depth int) (time.Time, bool) {
	s, p, ok := d.scalar(n, field, depth)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.errAt(p, field, "must be an RFC 3339 time such as 2024-01-01T00:00:00Z, got %q", s)
		return time.Time{}, false
	}
	return t.UTC(), true
}

func (d *decoder) boolean(n ast.Node, field string, depth int) (bool, bool) {
	s, p, ok := d.scalar(n, field, depth)
	if !ok {
		return false, false
	}
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.errAt(p, field, "must be true or false, got %q", s)
	return false, false
}

func (d *decoder) sequence(n ast.Node, field string, depth int) ([]ast.Node, bool) {
	n, ok := d.deref(n, depth)
	if !ok {
		return nil, false
	}
	s, ok := n.(*ast.SequenceNode)
	if !ok {
		d.errAt(posOf(n), field, "must be a list")
		return nil, false
	}
	return s.Values, true
}

var setKeys = []string{"program", "version", "effective_from", "effective_to", "currency", "rounding",
	"budget", "caps", "multipliers", "rules"}

var ruleKeys = []string{"id", "description", "when", "points", "priority", "group", "valid_from",
	"valid_to", "caps", "budget", "allow_negative"}

func (d *decoder) decodeSet(rs *RuleSet, body ast.Node) {
	pairs, ok := d.mapping(body, "", 0, setKeys...)
	if !ok {
		return
	}
	have := map[string]Position{}
	var rulesNode ast.Node
	for _, p := range pairs {
		have[p.key] = p.kpos
		rs.pos[p.key] = posOf(p.val)
		switch p.key {
		case "program":
			rs.Program, _ = d.str(p.val, p.key, 1)
			if strings.TrimSpace(rs.Program) == "" {
				d.errAt(p.kpos, p.key, "must not be empty")
			}
		case "version":
			rs.Version, _ = d.integer(p.val, p.key, 1)
		case "effective_from":
			rs.EffectiveFrom, _ = d.timestamp(p.val, p.key, 1)
		case "effective_to":
			rs.EffectiveTo, _ = d.timestamp(p.val, p.key, 1)
		case "currency":
			rs.Currency, _ = d.str(p.val, p.key, 1)
		case "rounding":
			rs.Rounding = d.rounding(p.val)
		case "budget":
			rs.Budget, rs.HasBudget = d.nonNegDec(p.val, p.key, 1)
		case "caps":
			rs.Caps = d.caps(p.val, "caps", 1)
		case "multipliers":
			rs.Multipliers = d.multipliers(p.val)
		case "rules":
			rulesNode = p.val
		}
	}
	for _, req := range []string{"program", "version", "rules"} {
		if _, ok := have[req]; !ok {
			d.errAt(Position{1, 1}, req, "missing required key %q", req)
		}
	}
	if !rs.EffectiveFrom.IsZero() && !rs.EffectiveTo.IsZero() && !rs.EffectiveFrom.Before(rs.EffectiveTo) {
		d.errAt(have["effective_to"], "effective_to", "must be after effective_from")
	}
	if rulesNode != nil {
		d.rules(rs, rulesNode)
	}
}

func (d *decoder) rounding(n ast.Node) Rounding {
	r := Rounding{}
	pairs, ok := d.mapping(n, "rounding", 1, "places", "mode")
	if !ok {
		return r
	}
	for _, p := range pairs {
		switch p.key {
		case "places":
			v, ok := d.integer(p.val, "rounding.places", 2)
			if ok && (v < -18 || v > 18) {
				d.errAt(posOf(p.val), "rounding.places", "must be between -18 and 18, got %d", v)
			}
			r.Places = int32(max(-18, min(18, v)))
		case "mode":
			s, pos, ok := d.scalar(p.val, "rounding.mode", 2)
			if ok {
				m, err := ParseRoundingMode(s)
				if err != nil {
					d.errAt(pos, "rounding.mode", "%v", err)
				}
				r.Mode = m
			}
		}
	}
	return r
}

func (d *decoder) caps(n ast.Node, field string, depth int) []Cap {
	items, ok := d.sequence(n, field, depth)
	if !ok {
		return nil
	}
	var out []Cap
	for i, it := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		pairs, ok := d.mapping(it, f, depth+1, "per", "max")
		if !ok {
			continue
		}
		c, okPer, okMax := Cap{}, false, false
		for _, p := range pairs {
			switch p.key {
			case "per":
				s, pos, ok := d.scalar(p.val, f+".per", depth+2)
				if ok {
					per, err := ParsePeriod(s)
					if err != nil {
						d.errAt(pos, f+".per", "%v", err)
					} else {
						c.Per, okPer = per, true
					}
				}
			case "max":
				c.Max, okMax = d.nonNegDec(p.val, f+".max", depth+2)
			}
		}
		if len(pairs) > 0 && (!okPer || !okMax) {
			if _, has := keyOf(pairs, "per"); !has {
				d.errAt(posOf(it), f, "missing required key \"per\"")
			}
			if _, has := keyOf(pairs, "max"); !has {
				d.errAt(posOf(it), f, "missing required key \"max\"")
			}
		}
		if okPer && okMax {
			out = append(out, c)
		}
	}
	return out
}

func keyOf(pairs []kv, key string) (kv, bool) {
	for _, p := range pairs {
		if p.key == key {
			return p, true
		}
	}
	return kv{}, false
}

func (d *decoder) multipliers(n ast.Node) map[string]map[string]decimal.Decimal {
	tables, ok := d.mapping(n, "multipliers", 1)
	if !ok {
		return nil
	}
	out := make(map[string]map[string]decimal.Decimal, len(tables))
	for _, t := range tables {
		f := "multipliers." + t.key
		entries, ok := d.mapping(t.val, f, 2)
		if !ok {
			continue
		}
		tab := make(map[string]decimal.Decimal, len(entries))
		for _, e := range entries {
			if v, ok := d.dec(e.val, f+"."+e.key, 3); ok {
				tab[e.key] = v
			}
		}
		out[t.key] = tab
	}
	return out
}

func (d *decoder) rules(rs *RuleSet, n ast.Node) {
	items, ok := d.sequence(n, "rules", 1)
	if !ok {
		return
	}
	if len(items) == 0 {
		d.errAt(posOf(n), "rules", "must list at least one rule")
		return
	}
	if len(items) > d.lim.MaxRules {
		d.limitAt(posOf(items[d.lim.MaxRules]), "more than %d rules", d.lim.MaxRules)
		return
	}
	ids := map[string]bool{}
	for _, it := range items {
		d.rule = peekID(it)
		r := Rule{pos: posOf(it), exprSpan: map[string]exprSpan{}}
		pairs, ok := d.mapping(it, "", 2, ruleKeys...)
		if !ok {
			continue
		}
		if p, has := keyOf(pairs, "id"); has {
			id, ok := d.str(p.val, "id", 3)
			r.pos = posOf(p.val)
			if ok {
				d.rule = id
				r.ID = id
				switch {
				case strings.TrimSpace(id) == "":
					d.errAt(r.pos, "id", "must not be empty")
				case ids[id]:
					d.errAt(r.pos, "id", "duplicate rule id %q", id)
				}
				ids[id] = true
			}
		} else {
			d.errAt(posOf(it), "id", "missing required key \"id\"")
		}
		for _, p := range pairs {
			switch p.key {
			case "description":
				r.Description, _ = d.str(p.val, p.key, 3)
			case "when", "points":
				s, ok := d.str(p.val, p.key, 3)
				if !ok {
					continue
				}
				if len(s) > d.lim.MaxExprBytes {
					d.errs = append(d.errs, &RuleError{File: d.file, Position: posOf(p.val), Rule: d.rule, Field: p.key,
						Message: fmt.Sprintf("expression is %d bytes, more than the limit of %d", len(s), d.lim.MaxExprBytes), Err: ErrLimit})
					continue
				}
				vn, _ := d.deref(p.val, 3)
				_, block := vn.(*ast.LiteralNode)
				r.exprSpan[p.key] = exprSpan{start: posOf(vn), block: block}
				if p.key == "when" {
					r.When = s
				} else {
					r.Points = s
				}
			case "priority":
				r.Priority, _ = d.integer(p.val, p.key, 3)
			case "group":
				r.Group, _ = d.str(p.val, p.key, 3)
			case "valid_from":
				r.ValidFrom, _ = d.timestamp(p.val, p.key, 3)
			case "valid_to":
				r.ValidTo, _ = d.timestamp(p.val, p.key, 3)
			case "caps":
				r.Caps = d.caps(p.val, "caps", 3)
			case "budget":
				r.Budget, r.HasBudget = d.nonNegDec(p.val, p.key, 3)
			case "allow_negative":
				r.AllowNegative, _ = d.boolean(p.val, p.key, 3)
			}
		}
		if pt, has := keyOf(pairs, "points"); !has {
			d.errAt(r.pos, "points", "missing required key \"points\"")
		} else if strings.TrimSpace(r.Points) == "" {
			d.errAt(posOf(pt.val), "points", "must not be empty")
		}
		if !r.ValidFrom.IsZero() && !r.ValidTo.IsZero() && !r.ValidFrom.Before(r.ValidTo) {
			vp, _ := keyOf(pairs, "valid_to")
			d.errAt(vp.kpos, "valid_to", "must be after valid_from")
		}
		rs.Rules = append(rs.Rules, r)
	}
	d.rule = ""
}

// peekID returns the id of a rule item without decoding it, so problems
// reported while decoding the rule's other keys can name it.
func peekID(n ast.Node) string {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		return ""
	}
	for _, p := range m.Values {
		if p.Key.GetToken().Value == "id" {
			if s, ok := p.Value.(*ast.StringNode); ok {
				return s.Value
			}
		}
	}
	return ""
}

// quickDepth is a linear byte scan run before the YAML lexer (which is
// slow on pathological input): it bounds flow nesting ([ and { outside
// quotes and comments) and "- - - ..." block entries on one line. It may
// over-count only on input no rule file needs.
func quickDepth(src []byte, maxDepth int) (Position, bool) {
	line, col, depth := 1, 0, 0
	var quote byte
	comment, lineStart, dashes := false, true, 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		col++
		if c == '\n' {
			line, col, comment, lineStart, dashes = line+1, 0, false, true, 0
			if quote == '\'' {
				continue
			}
			continue
		}
		switch {
		case comment:
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
				col++
			} else if c == quote {
				quote = 0
			}
		case c == '#' && (i == 0 || src[i-1] == ' ' || src[i-1] == '\t' || src[i-1] == '\n'):
			comment = true
		case c == '"' || c == '\'':
			if i == 0 || strings.IndexByte(" \t[{,:-\n", src[i-1]) >= 0 {
				quote = c
			}
		case c == '[' || c == '{':
			depth++
			if depth > maxDepth {
				return Position{line, col}, false
			}
		case c == ']' || c == '}':
			depth--
		}
		if lineStart && !comment && quote == 0 {
			switch {
			case c == '-' && i+1 < len(src) && (src[i+1] == ' ' || src[i+1] == '\n'):
				dashes++
				if dashes > maxDepth {
					return Position{line, col}, false
				}
			case c == ' ' || c == '\t':
			default:
				lineStart = false
			}
		}
	}
	return Position{}, true
}
