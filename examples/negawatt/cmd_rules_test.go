package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/rules")

const rulesDir = "../../testdata/rules"

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// TestRulesSimulateGolden runs `rules simulate` on every example rule set
// with the facts of the same stem. The expected points in the goldens were
// checked by hand against the calculations written at the top of each
// rule file.
func TestRulesSimulateGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(rulesDir, "*.yaml"))
	jsons, _ := filepath.Glob(filepath.Join(rulesDir, "*.json"))
	files = append(files, jsons...)
	if len(files) < 10 {
		t.Fatalf("found only %d example rule sets", len(files))
	}
	for _, rules := range files {
		name := filepath.Base(rules)
		t.Run(name, func(t *testing.T) {
			stem := strings.SplitN(name, ".", 2)[0]
			facts := filepath.Join(rulesDir, stem+".facts.jsonl")
			var stdout, stderr bytes.Buffer
			code := run([]string{"rules", "simulate", "--rules", rules, "--facts", facts}, &stdout, &stderr)
			wantCode := exitOK
			if bytes.Contains(stdout.Bytes(), []byte(`"error":`)) {
				wantCode = exitProblem
			}
			if code != wantCode || stderr.Len() > 0 {
				t.Fatalf("exit %d (want %d), stderr %q", code, wantCode, stderr.String())
			}
			for i, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("line %d is not JSON: %v", i+1, err)
				}
				_, hasPoints := m["points"]
				_, hasErr := m["error"]
				if hasPoints == hasErr {
					t.Errorf("line %d: want exactly one of points and error: %s", i+1, line)
				}
				if _, ok := m["points"].(string); hasPoints && !ok {
					t.Errorf("line %d: points is not a decimal string", i+1)
				}
			}
			golden(t, rules+".golden.jsonl", stdout.Bytes())
		})
	}
}

// The JSON and YAML forms of the same rule set pay the same awards.
func TestRulesSimulateJSONMatchesYAML(t *testing.T) {
	a, _ := os.ReadFile(filepath.Join(rulesDir, "tiers.yaml.golden.jsonl"))
	b, _ := os.ReadFile(filepath.Join(rulesDir, "tiers.json.golden.jsonl"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("tiers.json and tiers.yaml goldens differ or are empty")
	}
}

func TestRulesCheck(t *testing.T) {
	var stdout, stderr bytes.Buffer
	path := filepath.Join(rulesDir, "tiers.yaml")
	if code := run([]string{"rules", "check", path}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	want := path + `: ok: program "peak-saver" version 3, 2 rules, effective 2024-01-01T00:00:00Z to 2025-01-01T00:00:00Z, rounding 1 places, half-even` + "\n"
	if diff := cmp.Diff(want, stdout.String()); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestRulesCheckInvalidGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(rulesDir, "invalid", "*.*"))
	for _, f := range files {
		if strings.HasSuffix(f, ".golden") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run([]string{"rules", "check", f}, &stdout, &stderr); code != exitProblem {
				t.Fatalf("exit %d, want %d", code, exitProblem)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if strings.HasPrefix(line, "    | ") {
					continue // caret snippet
				}
				if !strings.HasPrefix(line, f+":") || !strings.Contains(line, `: rule "`) {
					t.Errorf("line %q is not FILE:LINE:COL: rule \"ID\": message", line)
				}
			}
			golden(t, f+".golden", stderr.Bytes())
		})
	}
}

func TestRulesCheckMissingFile(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"rules", "check", "no/such/file.yaml"}, &stdout, &stderr); code != exitProblem {
		t.Fatalf("exit %d, want %d", code, exitProblem)
	}
	if !strings.HasPrefix(stderr.String(), `no/such/file.yaml:1:1: rule "": `) {
		t.Errorf("stderr %q", stderr.String())
	}
}

// Hostile files are rejected quickly, whatever their content.
func TestRulesCheckHostile(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"brackets.yaml": strings.Repeat("[", 1<<20-1),
		"dashes.yaml":   strings.Repeat("- ", 1<<19-1),
		"big.yaml":      "program: x\n" + strings.Repeat("#", 2<<20),
		"laughs.yaml":   "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
		"binary.yaml":   "\xff\xfe\x00program",
		"deep-expr.yaml": "program: x\nversion: 1\nrules:\n  - id: a\n    points: " +
			strings.Repeat("abs(", 3000) + "1" + strings.Repeat(")", 3000) + "\n",
		"long-expr.yaml": "program: x\nversion: 1\nrules:\n  - id: a\n    points: 1" + strings.Repeat(" + 1", 3000) + "\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := run([]string{"rules", "check", path}, &stdout, &stderr)
			if code != exitProblem {
				t.Fatalf("exit %d, want %d; stderr %.300s", code, exitProblem, stderr.String())
			}
			t.Logf("%s rejected in %v: %.200s", name, time.Since(start), stderr.String())
		})
	}
}

func TestRulesUsage(t *testing.T) {
	for _, args := range [][]string{
		{"rules"},
		{"rules", "check"},
		{"rules", "check", "a", "b"},
		{"rules", "simulate", "--rules", "x.yaml"},
		{"rules", "simulate", "--bogus"},
		{"rules", "diff", "--live", "a"},
		{"rules", "frobnicate"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestRulesSimulateBadFacts(t *testing.T) {
	dir := t.TempDir()
	facts := filepath.Join(dir, "facts.jsonl")
	good, _ := os.ReadFile(filepath.Join(rulesDir, "tiers.facts.jsonl"))
	first := strings.SplitN(string(good), "\n", 2)[0]
	for _, tc := range []struct{ content, want string }{
		{first + "\n{not json\n", "line 2"},
		{first + "\n\n" + strings.Replace(first, `"kind": "period"`, `"kind": "weekly"`, 1) + "\n", `line 3: savings.kind: "weekly"`},
		{strings.Replace(first, `"kwh": 10.55`, `"kwh": "ten"`, 1) + "\n", "line 1: savings.kwh"},
	} {
		if err := os.WriteFile(facts, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		code := run([]string{"rules", "simulate", "--rules", filepath.Join(rulesDir, "tiers.yaml"), "--facts", facts}, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), tc.want) || stdout.Len() != 0 {
			t.Errorf("exit %d, stderr %q, stdout %q; want exit 2 and %q", code, stderr.String(), stdout.String(), tc.want)
		}
	}
}

func TestRulesDiffGolden(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"rules", "diff",
		"--live", filepath.Join(rulesDir, "tiers.yaml"),
		"--candidate", filepath.Join(rulesDir, "diff", "tiers-v4.yaml"),
		"--facts", filepath.Join(rulesDir, "tiers.facts.jsonl")}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	golden(t, filepath.Join(rulesDir, "diff", "tiers-v4.diff.golden.json"), stdout.Bytes())
}
