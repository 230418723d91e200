package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.Method != http.MethodPost {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	if code := run([]string{"-url", srv.URL, "-n", "30", "-token", "tok", "-method", "POST", "-body", `{"a":1}`}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "30 requests") {
		t.Errorf("stdout %q", out.String())
	}
	out.Reset()
	if code := run([]string{"-url", srv.URL, "-n", "5"}, &out, &errb); code != 1 {
		t.Errorf("unauthorized run exit %d, want 1", code)
	}
	if code := run([]string{"-url", "http://192.0.2.1/"}, &out, &errb); code != 2 {
		t.Errorf("non-loopback exit %d, want 2", code)
	}
}
