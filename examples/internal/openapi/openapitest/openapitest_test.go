package openapitest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/negawatt/negawatt/examples/internal/openapi"
)

func TestCheck(t *testing.T) {
	v := New(t, openapi.JSON)
	jsonH := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name    string
		method  string
		path    string
		status  int
		header  http.Header
		body    string
		wantErr bool
	}{
		{"documented ok", "GET", "/healthz", 200, jsonH, `{"status":"ok"}`, false},
		{"body off schema", "GET", "/healthz", 200, jsonH, `{"status":"bogus"}`, true},
		{"extra field", "GET", "/healthz", 200, jsonH, `{"status":"ok","x":1}`, true},
		{"undocumented status", "GET", "/readyz", 418, jsonH, `{"error":{"code":"internal","message":"m"}}`, false}, // default response covers it
		{"error envelope on documented path", "GET", "/customers/abc", 403, jsonH, `{"error":{"code":"forbidden","message":"no"}}`, false},
		{"bad envelope on documented path", "GET", "/customers/abc", 403, jsonH, `{"message":"no"}`, true},
		{"unknown path, envelope", "GET", "/nope", 404, jsonH, `{"error":{"code":"not_found","message":"no","request_id":"r1"}}`, false},
		{"unknown path, plain text", "GET", "/nope", 404, http.Header{"Content-Type": {"text/plain"}}, "404 page not found", true},
		{"unknown path, unknown code", "GET", "/nope", 404, jsonH, `{"error":{"code":"oops","message":"no"}}`, true},
		{"unknown path, success", "GET", "/nope", 200, jsonH, `{}`, true},
		{"metrics text", "GET", "/metrics", 200, http.Header{"Content-Type": {"text/plain; version=0.0.4; charset=utf-8"}}, "# HELP x\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://example.test"+tt.path, nil)
			err := v.Check(req, tt.status, tt.header, []byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Errorf("Check error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestLoadRejectsInvalidDocument(t *testing.T) {
	if _, err := load([]byte(`{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"$ref":"#/components/responses/Missing"}}}}}}`)); err == nil {
		t.Error("load accepted a document with a dangling $ref")
	}
}
