package rewards

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func seedRuleFiles(f *testing.F) {
	files, _ := filepath.Glob("../testdata/rules/*.yaml")
	more, _ := filepath.Glob("../testdata/rules/*/*.*")
	for _, name := range append(append(files, "../testdata/rules/tiers.json"), more...) {
		if strings.HasSuffix(name, ".golden") {
			continue
		}
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("program: p\nversion: 1\nrules:\n  - {id: a, points: '1 / 0'}\n"))
	f.Add([]byte("a: &a [1]\nb: *a\n"))
	f.Add([]byte("{]"))
}

// FuzzLoad: loading any bytes never panics, and every problem carries a
// position inside the file.
func FuzzLoad(f *testing.F) {
	seedRuleFiles(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Load("fuzz.yaml", src)
		if err != nil {
			var errs RuleErrors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is not RuleErrors: %v", err)
			}
			lines := strings.Count(string(src), "\n") + 2
			for _, e := range errs {
				if e.Line < 1 || e.Column < 1 || e.Line > lines {
					t.Fatalf("bad position %d:%d for %d lines: %v", e.Line, e.Column, lines, e)
				}
			}
			return
		}
		// A program that loads evaluates without panicking.
		if _, err := p.Evaluate(&MemoryTally{}, []Fact{periodFact("c1", "gold", "f", "2024-07-01T00:00:00Z", 12.5)}); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzExpression compiles and runs arbitrary points and when expressions.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{"savings.kwh * 10", "1 / 0", "len(map(1..100000000, #)) * 1", "min(1, 2) + max(3)",
		`multiplier("t", customer.tier)`, "-savings.kwh", "savings.start", `customer.attributes["x"] + "y"`, "round(1.25, 1)"} {
		f.Add(s, "savings.kwh > 0")
	}
	f.Fuzz(func(t *testing.T, points, when string) {
		rs := &RuleSet{File: "fuzz", Program: "p", Version: 1,
			Multipliers: map[string]map[string]decimal.Decimal{"t": {"gold": decimal.NewFromInt(2)}},
			Rules:       []Rule{{ID: "r", When: when, Points: points, AllowNegative: true}}}
		p, err := Compile(rs)
		if err != nil {
			var errs RuleErrors
			if !errors.As(err, &errs) {
				t.Fatalf("error is not RuleErrors: %v", err)
			}
			return
		}
		if _, err := p.Evaluate(&MemoryTally{}, []Fact{periodFact("c1", "gold", "f", "2024-07-01T00:00:00Z", 12.5)}); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeFact: decoding any bytes never panics; accepted facts are valid.
func FuzzDecodeFact(f *testing.F) {
	files, _ := filepath.Glob("../testdata/rules/*.facts.jsonl")
	for _, name := range files {
		b, _ := os.ReadFile(name)
		for _, line := range strings.Split(string(b), "\n") {
			f.Add([]byte(line))
		}
	}
	f.Add([]byte(`{"customer":{"id":"c"},"savings":{"kind":"period","id":"x","start":"2024-01-01T00:00:00Z"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fact, err := DecodeFact(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidFact) {
				t.Fatalf("error is not ErrInvalidFact: %v", err)
			}
			return
		}
		if err := fact.Validate(); err != nil {
			t.Fatalf("accepted an invalid fact: %v", err)
		}
	})
}
