package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/examples/internal/app"
	"github.com/negawatt/negawatt/examples/internal/platform"
	"github.com/negawatt/negawatt/examples/internal/store/storetest"
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
			args := append(append([]string(nil), tt.args...), "-data-dir", t.TempDir())
			code := run(context.Background(), args, func(k string) string { return tt.env[k] }, io.Discard, &stderr)
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

// TestSmokeBinary builds the real binary, starts it on a free port with a
// fresh data directory and the demo data, walks the whole flow over HTTP
// (rules → customer → usage → temperature → baseline → settle → balance
// → redeem: hold → commit), then sends SIGTERM while a request is in
// flight and expects that request to finish and the process to exit 0.
func TestSmokeBinary(t *testing.T) {
	smoke(t, nil)
}

// TestSmokeBinaryPostgres is the same walk with --postgres.
func TestSmokeBinaryPostgres(t *testing.T) {
	url := storetest.PostgresURL(t)
	smoke(t, []string{"-postgres", url})
}

func smoke(t *testing.T, extra []string) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "httpserver")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	args := append([]string{"-addr", "127.0.0.1:0", "-demo", "-data-dir", filepath.Join(t.TempDir(), "data"), "-rate-limit", "0"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "NEGAWATT_TOKEN_KEY=", "NEGAWATT_POSTGRES_URL=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // already exited on the happy path

	var base, op, demoTok string
	var logs bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(stderr, &logs))
	for (base == "" || op == "" || demoTok == "") && sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if u, ok := m["url"].(string); ok {
			base = strings.TrimSuffix(u, "/")
		}
		if tok, ok := m["operator_token"].(string); ok {
			op = tok
		}
		if tok, ok := m["customer_token"].(string); ok {
			demoTok = tok
		}
	}
	if base == "" || op == "" || demoTok == "" {
		t.Fatalf("no address or tokens logged:\n%s", logs.String())
	}
	go io.Copy(io.Discard, io.TeeReader(stderr, &syncWriter{b: &logs})) //nolint:errcheck // drains the log

	call := func(method, path, token, ct, body string, want int, dst any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, want, out)
		}
		if dst != nil {
			if err := json.Unmarshal(out, dst); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
		}
	}
	for _, c := range []struct {
		path, token string
		want        int
	}{{"/healthz", "", 200}, {"/readyz", "", 200}, {"/metrics", op, 200}, {"/metrics", "", 401},
		{"/customers/demo-1", op, 200}, {"/customers/demo-1", demoTok, 200}, {"/", op, 200}, {"/v1/customers/demo-1/balance", demoTok, 200}} {
		call("GET", c.path, c.token, "", "", c.want, nil)
	}

	// The demo already promoted the demo rules; walk a new customer.
	call("PUT", "/v1/customers/smoke-1", op, "application/json", `{"tier":"silver","time_zone":"America/Chicago","enrolled_at":"2012-03-01"}`, 201, nil)
	usage, temp := nmecrCSV(t)
	call("POST", "/v1/customers/smoke-1/usage", op, "text/csv", usage, 200, nil)
	call("POST", "/v1/temperature?station=smoke-1", op, "text/csv", temp, 200, nil)
	call("POST", "/v1/customers/smoke-1/baseline", op, "application/json", `{"method":"daily","end":"2013-03-01","days":365}`, 200, nil)
	var settled struct {
		Awards int    `json:"awards"`
		Points string `json:"points"`
	}
	call("POST", "/v1/settlements", op, "application/json", `{"customers":["smoke-1"],"from":"2014-03-01","to":"2015-03-01"}`, 200, &settled)
	if settled.Awards == 0 {
		t.Fatalf("settlement paid nothing")
	}
	var bal struct {
		Available string `json:"available"`
	}
	call("GET", "/v1/customers/smoke-1/balance", op, "", "", 200, &bal)
	if bal.Available != settled.Points {
		t.Errorf("balance %s, want %s", bal.Available, settled.Points)
	}
	call("POST", "/v1/customers/smoke-1/redemptions", op, "application/json", `{"id":"r-1","points":"10","reward":"bill-credit"}`, 201, nil)
	call("POST", "/v1/customers/smoke-1/redemptions/r-1/commit", op, "", "", 200, nil)
	call("GET", "/v1/customers/smoke-1/balance", op, "", "", 200, &bal)
	if want := decimal.RequireFromString(settled.Points).Sub(decimal.NewFromInt(10)); !decimal.RequireFromString(bal.Available).Equal(want) {
		t.Errorf("after redeeming 10: %s, want %s", bal.Available, want)
	}
	call("GET", "/metrics", op, "", "", 200, nil)

	// In flight at SIGTERM: headers sent, body not yet; the server must
	// finish this request before it exits.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"tier":"gold","time_zone":"UTC","enrolled_at":"2020-01-01"}`
	fmt.Fprintf(conn, "PUT /v1/customers/late-1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", op, len(body), body[:10])
	time.Sleep(200 * time.Millisecond) // let the server start reading it
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	fmt.Fprint(conn, body[10:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("in-flight request = %d, want 201", resp.StatusCode)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("server exited with %v after SIGTERM:\n%s", err, logs.String())
	}
}

// syncWriter guards the log buffer the drain goroutine appends to.
type syncWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// nmecrCSV is the nmecr building as upload CSVs.
func nmecrCSV(t *testing.T) (usage, temp string) {
	u, tf, err := app.ReadNMECR("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	var ub, tb strings.Builder
	ub.WriteString("start,value\n")
	for _, r := range u {
		fmt.Fprintf(&ub, "%s,%v\n", r.Start.Format(time.RFC3339), r.KWh)
	}
	tb.WriteString("dt,tempF\n")
	for _, r := range tf {
		fmt.Fprintf(&tb, "%s,%v\n", r.Start.Format(time.RFC3339), r.TempF)
	}
	return ub.String(), tb.String()
}
