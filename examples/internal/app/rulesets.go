package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/negawatt/negawatt/examples/internal/platform"
	"github.com/negawatt/negawatt/examples/internal/store"
	"github.com/negawatt/negawatt/rewards"
)

// RuleSetView describes a stored rule-set version.
type RuleSetView struct {
	Program   string    `json:"program"`
	Version   int       `json:"version"`
	Status    string    `json:"status"`
	Rules     []string  `json:"rules"`
	CreatedAt time.Time `json:"created_at"`
}

// RuleProblem is one problem in a rule file, positioned as line:col.
type RuleProblem struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Rule    string `json:"rule,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Snippet string `json:"snippet,omitempty"`
}

// RuleSetError is a rule file that does not compile: every problem.
type RuleSetError struct {
	Problems []RuleProblem
}

func (e *RuleSetError) Error() string {
	return fmt.Sprintf("rule set has %d problem(s)", len(e.Problems))
}

func problemsOf(err error) *RuleSetError {
	var res RuleSetError
	var rerrs rewards.RuleErrors
	if errors.As(err, &rerrs) {
		for _, e := range rerrs {
			res.Problems = append(res.Problems, RuleProblem{Line: e.Line, Column: e.Column, Rule: e.Rule, Field: e.Field, Message: e.Message, Snippet: e.Snippet})
		}
	}
	if len(res.Problems) == 0 {
		res.Problems = []RuleProblem{{Line: 1, Column: 1, Message: err.Error()}}
	}
	return &res
}

func viewOfRuleSet(rs store.RuleSet, p *rewards.Program) RuleSetView {
	v := RuleSetView{Program: rs.Program, Version: rs.Version, Status: rs.Status, CreatedAt: rs.CreatedAt, Rules: []string{}}
	if p != nil {
		for _, r := range p.RuleSet().Rules {
			v.Rules = append(v.Rules, r.ID)
		}
	}
	return v
}

// UploadRuleSet compiles a YAML or JSON rule file (fileName's extension
// or isJSON picks the syntax) and stores it as a candidate. A file that
// does not compile returns *RuleSetError and stores nothing.
func (s *Service) UploadRuleSet(ctx context.Context, src []byte, isJSON bool) (RuleSetView, bool, error) {
	name := "ruleset.yaml"
	if isJSON {
		name = "ruleset.json"
	}
	p, err := rewards.Load(name, src)
	if err != nil {
		return RuleSetView{}, false, problemsOf(err)
	}
	if p.Version() <= 0 {
		return RuleSetView{}, false, &RuleSetError{Problems: []RuleProblem{{Line: 1, Column: 1, Field: "version", Message: "version must be a positive integer"}}}
	}
	existing, err := s.store.RuleSet(ctx, p.Version())
	created := errors.Is(err, store.ErrNotFound)
	rs, err := s.store.PutRuleSet(ctx, store.RuleSet{Version: p.Version(), Program: p.Program(), FileName: name, Source: src})
	if errors.Is(err, store.ErrConflict) {
		return RuleSetView{}, false, platform.Errorf(http.StatusConflict, platform.CodeConflict, "rule set version %d exists with a different source; bump the version", p.Version())
	}
	if err != nil {
		return RuleSetView{}, false, err
	}
	if !created && existing.Program != p.Program() {
		return RuleSetView{}, false, platform.Errorf(http.StatusConflict, platform.CodeConflict, "rule set version %d belongs to program %q", p.Version(), existing.Program)
	}
	return viewOfRuleSet(rs, p), created, nil
}

// RuleSets lists every stored version, oldest first.
func (s *Service) RuleSets(ctx context.Context) ([]RuleSetView, error) {
	all, err := s.store.RuleSets(ctx)
	if err != nil {
		return nil, err
	}
	out := []RuleSetView{}
	for _, rs := range all {
		p, _ := s.program(rs)
		out = append(out, viewOfRuleSet(rs, p))
	}
	return out, nil
}

func (s *Service) storedRuleSet(ctx context.Context, version int) (store.RuleSet, *rewards.Program, error) {
	rs, err := s.store.RuleSet(ctx, version)
	if errors.Is(err, store.ErrNotFound) {
		return store.RuleSet{}, nil, notFound("no rule set version %d", version)
	}
	if err != nil {
		return store.RuleSet{}, nil, err
	}
	p, err := s.program(rs)
	return rs, p, err
}

// ValidationReport is a dry run of a stored version over stored facts.
type ValidationReport struct {
	RuleSetView
	Valid  bool         `json:"valid"`
	Facts  int          `json:"facts"`
	Awards int          `json:"awards"`
	Errors []AwardIssue `json:"errors"`
}

// AwardIssue is an award a rule set could not compute.
type AwardIssue struct {
	Customer string `json:"customer"`
	Fact     string `json:"fact"`
	Rule     string `json:"rule"`
	Message  string `json:"message"`
}

// ValidateRuleSet re-compiles a stored version and evaluates it against
// every stored fact without paying (a fresh in-memory tally), reporting
// the awards it would make and every award that errors (division by
// zero, missing multiplier key ...).
func (s *Service) ValidateRuleSet(ctx context.Context, version int) (ValidationReport, error) {
	rs, p, err := s.storedRuleSet(ctx, version)
	if err != nil {
		return ValidationReport{}, err
	}
	facts, err := s.storedFacts(ctx, time.Time{}, time.Time{})
	if err != nil {
		return ValidationReport{}, err
	}
	outs, err := p.Evaluate(&rewards.MemoryTally{}, facts)
	if err != nil {
		return ValidationReport{}, err
	}
	rep := ValidationReport{RuleSetView: viewOfRuleSet(rs, p), Valid: true, Facts: len(facts), Errors: []AwardIssue{}}
	for _, o := range outs {
		if o.Award != nil {
			rep.Awards++
		}
		if o.Err != nil {
			rep.Valid = false
			rep.Errors = append(rep.Errors, AwardIssue{Customer: o.Customer, Fact: o.Fact, Rule: o.Rule, Message: o.Err.Error()})
		}
	}
	return rep, nil
}

func (s *Service) storedFacts(ctx context.Context, from, to time.Time) ([]rewards.Fact, error) {
	rows, err := s.store.Settlements(ctx, "", from, to)
	if err != nil {
		return nil, err
	}
	facts := make([]rewards.Fact, 0, len(rows))
	for _, r := range rows {
		var f rewards.Fact
		if err := json.Unmarshal(r.Fact, &f); err != nil {
			return nil, fmt.Errorf("app: stored fact %s/%s: %w", r.Customer, r.FactID, err)
		}
		facts = append(facts, f)
	}
	return facts, nil
}

// Shadow compares a candidate version with the live one over the stored
// facts whose start is in [from, to) (zero bounds are open), paying
// nothing (rewards.Diff).
func (s *Service) Shadow(ctx context.Context, candidate int, from, to time.Time) (*rewards.DiffReport, error) {
	live, err := s.liveProgram(ctx)
	if err != nil {
		return nil, err
	}
	_, cand, err := s.storedRuleSet(ctx, candidate)
	if err != nil {
		return nil, err
	}
	facts, err := s.storedFacts(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return rewards.Diff(live, cand, facts)
}

// PromoteRuleSet makes a stored version live.
func (s *Service) PromoteRuleSet(ctx context.Context, version int) (RuleSetView, error) {
	if _, _, err := s.storedRuleSet(ctx, version); err != nil {
		return RuleSetView{}, err
	}
	defer s.forgetLive()
	if err := s.store.Promote(ctx, version); err != nil {
		return RuleSetView{}, err
	}
	rs, p, err := s.storedRuleSet(ctx, version)
	return viewOfRuleSet(rs, p), err
}

// RollbackRuleSet makes the previously live version live again.
func (s *Service) RollbackRuleSet(ctx context.Context) (RuleSetView, error) {
	defer s.forgetLive()
	rs, err := s.store.Rollback(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return RuleSetView{}, platform.Errorf(http.StatusConflict, platform.CodeConflict, "no previously live rule set to roll back to")
	}
	if err != nil {
		return RuleSetView{}, err
	}
	p, err := s.program(rs)
	return viewOfRuleSet(rs, p), err
}
