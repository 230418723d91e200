package rewards

import (
	"errors"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/shopspring/decimal"
)

// ErrNoPrevious is returned by Registry.Rollback when there is no earlier
// version to return to.
var ErrNoPrevious = errors.New("no previous rule set version")

// Registry holds the live compiled rule set of a program and the versions
// that were live before it. Promote and Rollback switch an atomic pointer,
// so evaluations in flight keep the Program they started with and new ones
// see the switch at once. Safe for concurrent use.
type Registry struct {
	live    atomic.Pointer[Program]
	mu      sync.Mutex
	history []*Program // previously live, oldest first
}

// Live returns the live program, or nil before the first Promote.
func (r *Registry) Live() *Program { return r.live.Load() }

// Promote makes p live and remembers the one it replaces.
func (r *Registry) Promote(p *Program) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev := r.live.Swap(p); prev != nil {
		r.history = append(r.history, prev)
	}
}

// Rollback makes the previously live version live again and returns it.
func (r *Registry) Rollback() (*Program, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.history) == 0 {
		return nil, ErrNoPrevious
	}
	prev := r.history[len(r.history)-1]
	r.history = r.history[:len(r.history)-1]
	r.live.Store(prev)
	return prev, nil
}

// History returns the previously live versions, oldest first.
func (r *Registry) History() []*Program {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Program(nil), r.history...)
}

// DiffReport compares a candidate rule set with the live one on the same
// facts, each settled from empty state without paying anything.
type DiffReport struct {
	Facts     int        `json:"facts"`
	Live      SetInfo    `json:"live"`
	Candidate SetInfo    `json:"candidate"`
	Total     DiffTotals `json:"total"`
	// Rules has one entry per rule id of either set, sorted by id.
	Rules []RuleDiff `json:"rules"`
}

// SetInfo names a rule set version.
type SetInfo struct {
	Program string `json:"program"`
	Version int    `json:"version"`
	Rules   int    `json:"rules"`
	Errors  int    `json:"errors"`
}

// DiffTotals sums points over all rules.
type DiffTotals struct {
	// CustomersChanged counts customers whose total points differ.
	CustomersChanged int             `json:"customers_changed"`
	LivePoints       decimal.Decimal `json:"live_points"`
	CandidatePoints  decimal.Decimal `json:"candidate_points"`
	DeltaPoints      decimal.Decimal `json:"delta_points"`
}

// RuleDiff is one rule's change.
type RuleDiff struct {
	Rule string `json:"rule"`
	// InLive and InCandidate say which sets have the rule.
	InLive      bool `json:"in_live"`
	InCandidate bool `json:"in_candidate"`
	DiffTotals
}

// Diff evaluates live and candidate on facts, each against its own fresh
// MemoryTally, and reports per rule and in total how many customers' and
// how many points would change. It fails only if evaluation fails.
func Diff(live, candidate *Program, facts []Fact) (*DiffReport, error) {
	type sums struct {
		byRule     map[string]map[string]decimal.Decimal // rule -> customer -> points
		byCustomer map[string]decimal.Decimal
		total      decimal.Decimal
		errors     int
	}
	settle := func(p *Program) (*sums, error) {
		s := &sums{byRule: map[string]map[string]decimal.Decimal{}, byCustomer: map[string]decimal.Decimal{}}
		for _, r := range p.rules {
			s.byRule[r.ID] = map[string]decimal.Decimal{}
		}
		outs, err := p.Evaluate(&MemoryTally{}, facts)
		if err != nil {
			return nil, err
		}
		for _, o := range outs {
			if o.Status == StatusError {
				s.errors++
			}
			if o.Award == nil {
				continue
			}
			pts := o.Award.Points
			s.byRule[o.Rule][o.Customer] = s.byRule[o.Rule][o.Customer].Add(pts)
			s.byCustomer[o.Customer] = s.byCustomer[o.Customer].Add(pts)
			s.total = s.total.Add(pts)
		}
		return s, nil
	}
	a, err := settle(live)
	if err != nil {
		return nil, err
	}
	b, err := settle(candidate)
	if err != nil {
		return nil, err
	}
	rep := &DiffReport{
		Facts:     len(facts),
		Live:      SetInfo{Program: live.Program(), Version: live.Version(), Rules: len(live.rules), Errors: a.errors},
		Candidate: SetInfo{Program: candidate.Program(), Version: candidate.Version(), Rules: len(candidate.rules), Errors: b.errors},
	}
	rep.Total = compare(a.byCustomer, b.byCustomer)
	ids := map[string]bool{}
	for id := range a.byRule {
		ids[id] = true
	}
	for id := range b.byRule {
		ids[id] = true
	}
	for id := range ids {
		la, inA := a.byRule[id]
		lb, inB := b.byRule[id]
		rep.Rules = append(rep.Rules, RuleDiff{Rule: id, InLive: inA, InCandidate: inB, DiffTotals: compare(la, lb)})
	}
	sort.Slice(rep.Rules, func(i, j int) bool { return rep.Rules[i].Rule < rep.Rules[j].Rule })
	return rep, nil
}

func compare(a, b map[string]decimal.Decimal) DiffTotals {
	var t DiffTotals
	seen := map[string]bool{}
	for c, pa := range a {
		seen[c] = true
		t.LivePoints = t.LivePoints.Add(pa)
		if !pa.Equal(b[c]) {
			t.CustomersChanged++
		}
	}
	for c, pb := range b {
		t.CandidatePoints = t.CandidatePoints.Add(pb)
		if !seen[c] && !pb.IsZero() {
			t.CustomersChanged++
		}
	}
	t.DeltaPoints = t.CandidatePoints.Sub(t.LivePoints)
	return t
}
