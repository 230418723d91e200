package rewards

// Limits bound what a rule file may cost to load and to run. Rule files may
// come from a web form, so every limit has a safe default
// ([DefaultLimits]) and can be changed with [WithLimits]. A zero field
// means "use the default".
type Limits struct {
	// MaxFileBytes bounds the rule file size (default 1 MiB).
	MaxFileBytes int
	// MaxRules bounds the number of rules (default 1,000).
	MaxRules int
	// MaxExprBytes bounds the text of one expression (default 16 KiB).
	MaxExprBytes int
	// MaxNodes bounds the AST nodes of one expression (expr.MaxNodes;
	// default 2,000).
	MaxNodes uint
	// MemoryBudget bounds what one expression run may allocate, in expr's
	// units (vm.VM.MemoryBudget: array elements, range sizes, ...; default
	// 100,000). It is what makes map(1..1000000000, #) fail at once.
	MemoryBudget uint
	// MaxDepth bounds YAML/JSON nesting (default 32). The YAML parser's
	// cost grows with nesting, so this is checked on tokens before parsing.
	MaxDepth int
	// MaxAliases bounds YAML anchors plus aliases in one file (default 16).
	MaxAliases int
	// MaxYAMLNodes bounds the YAML nodes visited while decoding, counting
	// every alias expansion (default 200,000): no "billion laughs".
	MaxYAMLNodes int
	// MaxDigits bounds the significant digits and the exponent of decimal
	// values inside expressions (default 60); beyond it an award fails
	// with ErrOverflow rather than computing huge numbers.
	MaxDigits int
	// MaxStringBytes bounds strings built by expressions (default 4 KiB).
	MaxStringBytes int
}

// DefaultLimits returns the limits used when none are given.
func DefaultLimits() Limits {
	return Limits{
		MaxFileBytes:   1 << 20,
		MaxRules:       1000,
		MaxExprBytes:   16 << 10,
		MaxNodes:       2000,
		MemoryBudget:   100_000,
		MaxDepth:       32,
		MaxAliases:     16,
		MaxYAMLNodes:   200_000,
		MaxDigits:      60,
		MaxStringBytes: 4 << 10,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxRules <= 0 {
		l.MaxRules = d.MaxRules
	}
	if l.MaxExprBytes <= 0 {
		l.MaxExprBytes = d.MaxExprBytes
	}
	if l.MaxNodes == 0 {
		l.MaxNodes = d.MaxNodes
	}
	if l.MemoryBudget == 0 {
		l.MemoryBudget = d.MemoryBudget
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxAliases < 0 {
		l.MaxAliases = 0
	} else if l.MaxAliases == 0 {
		l.MaxAliases = d.MaxAliases
	}
	if l.MaxYAMLNodes <= 0 {
		l.MaxYAMLNodes = d.MaxYAMLNodes
	}
	if l.MaxDigits <= 0 {
		l.MaxDigits = d.MaxDigits
	}
	if l.MaxStringBytes <= 0 {
		l.MaxStringBytes = d.MaxStringBytes
	}
	return l
}

// Option configures Parse, Load and Compile.
type Option func(*config)

type config struct {
	limits Limits
}

// WithLimits replaces the default limits; zero fields keep their default
// (MaxAliases < 0 forbids anchors and aliases entirely).
func WithLimits(l Limits) Option {
	return func(c *config) { c.limits = l }
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	c.limits = c.limits.withDefaults()
	return c
}
