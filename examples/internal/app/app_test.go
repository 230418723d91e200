package app

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/negawatt/negawatt/examples/internal/dashboard"
	"github.com/negawatt/negawatt/examples/internal/openapi"
	"github.com/negawatt/negawatt/examples/internal/openapi/openapitest"
	"github.com/negawatt/negawatt/examples/internal/platform"
)

// TestEveryDocumentedGetAnswers walks the platform and dashboard paths
// through the validating client, as the operator.
func TestEveryDocumentedGetAnswers(t *testing.T) {
	signer, err := platform.NewSigner(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Signer: signer, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Dashboard: dashboard.Demo()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	op, _ := signer.Mint(platform.OperatorScope(), time.Hour)
	client := openapitest.New(t, openapi.JSON).Client(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json", "/", "/customers/demo-alice", "/customers/nobody", "/nope"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+op)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if path != "/customers/nobody" && path != "/nope" && resp.StatusCode != 200 {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
}

func TestNewRequiresSigner(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted a config without a Signer")
	}
}
