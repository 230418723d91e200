package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/negawatt/negawatt/examples/internal/platform"
)

func TestRunRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"-nope"}, nil, "flag provided but not defined"},
		{"extra args", []string{"serve"}, nil, "unexpected arguments"},
		{"key not hex", nil, map[string]string{"NEGAWATT_TOKEN_KEY": "zz"}, "not hex"},
		{"key too short", nil, map[string]string{"NEGAWATT_TOKEN_KEY": "abcd"}, "2 bytes, want at least 32"},
		{"negative rate", []string{"-rate-limit", "-1"}, nil, "want PerSecond > 0"},
		{"mint without key", []string{"-mint", "operator"}, nil, "-mint needs NEGAWATT_TOKEN_KEY"},
		{"mint bad scope", []string{"-mint", "customer:a b"}, map[string]string{"NEGAWATT_TOKEN_KEY": strings.Repeat("ab", 32)}, "invalid scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, io.Discard, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tt.want)
			}
		})
	}
}

func TestMint(t *testing.T) {
	key := strings.Repeat("ab", 32)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-mint", "customer:c-1", "-ttl", "1h"}, func(k string) string {
		if k == "NEGAWATT_TOKEN_KEY" {
			return key
		}
		return ""
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	kb, _ := hex.DecodeString(key)
	signer, _ := platform.NewSigner(kb)
	claims, err := signer.Verify(strings.TrimSpace(stdout.String()))
	if err != nil || claims.Scope.String() != "customer:c-1" || claims.ExpiresAt.Sub(claims.IssuedAt) != time.Hour {
		t.Errorf("minted token: claims %+v err %v", claims, err)
	}
}

// TestSmokeBinary builds the real binary, starts it on a free port, reads
// the address and operator token from its JSON log, calls it over HTTP,
// then stops it with SIGTERM and expects a clean exit. The domain wave
// extends the walk (customer → usage → baseline → settle → balance →
// redeem).
func TestSmokeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "httpserver")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-demo")
	cmd.Env = append(os.Environ(), "NEGAWATT_TOKEN_KEY=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // already exited on the happy path

	var url, op string
	var logs bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(stderr, &logs))
	for (url == "" || op == "") && sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if u, ok := m["url"].(string); ok {
			url = u
		}
		if tok, ok := m["operator_token"].(string); ok {
			op = tok
		}
	}
	if url == "" || op == "" {
		t.Fatalf("no address or operator token logged:\n%s", logs.String())
	}
	get := func(path, token string) int {
		req, _ := http.NewRequest("GET", strings.TrimSuffix(url, "/")+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		path, token string
		want        int
	}{{"/healthz", "", 200}, {"/readyz", "", 200}, {"/metrics", op, 200}, {"/metrics", "", 401}, {"/customers/demo-alice", op, 200}} {
		if got := get(c.path, c.token); got != c.want {
			t.Errorf("GET %s = %d, want %d", c.path, got, c.want)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The process closes its stderr when it exits: drain it, then reap.
	_, _ = io.Copy(&logs, stderr)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("server exited with %v after SIGTERM:\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "shut down cleanly") {
		t.Errorf("no clean-shutdown log line:\n%s", logs.String())
	}
}
