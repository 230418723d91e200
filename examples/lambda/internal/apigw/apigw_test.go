package apigw

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/negawatt/negawatt/examples/internal/app"
	"github.com/negawatt/negawatt/examples/internal/dashboard"
	"github.com/negawatt/negawatt/examples/internal/openapi"
	"github.com/negawatt/negawatt/examples/internal/openapi/openapitest"
	"github.com/negawatt/negawatt/examples/internal/platform"
)

func loadEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// seen is what a handler observed of the request.
type seen struct {
	Method, Path, EscapedPath, Host, RemoteAddr string
	Query                                       map[string][]string
	Cookie, UserAgent, Header1, RequestID       string
	Proxy                                       string
	Body                                        []byte
	ContentLength                               int64
}

func capture(dst *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*dst = seen{
			Method: r.Method, Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(), Host: r.Host, RemoteAddr: r.RemoteAddr,
			Query: r.URL.Query(), Cookie: r.Header.Get("Cookie"), UserAgent: r.UserAgent(), Header1: r.Header.Get("Header1"),
			RequestID: r.Header.Get("X-Request-Id"), Proxy: r.PathValue("proxy"), Body: b, ContentLength: r.ContentLength,
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func TestRequestFromFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		want    seen
	}{
		{"apigw-v2-request-no-authorizer.json", seen{
			Method: "GET", Path: "/", EscapedPath: "/", Host: "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
			RemoteAddr: "1.2.3.4:0", Query: map[string][]string{}, UserAgent: "curl/7.58.0", Body: []byte{},
		}},
		{"apigw-v2-request-jwt-authorizer.json", seen{
			Method: "GET", Path: "/my/path", EscapedPath: "/my/path", Host: "id.execute-api.us-east-1.amazonaws.com",
			RemoteAddr: "IP", Query: map[string][]string{"parameter1": {"value1", "value2"}, "parameter2": {"value"}},
			Cookie: "cookie1; cookie2", Header1: "value1", Proxy: "hello/world", Body: []byte("{\r\n\t\"a\": 1\r\n}"), ContentLength: 13,
		}},
		{"apigw-v2-post-base64-stage.json", seen{
			Method: "POST", Path: "/v1/echo/a/b", EscapedPath: "/v1/echo/a%2Fb", Host: "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
			RemoteAddr: "203.0.113.7:0", Query: map[string][]string{"month": {"2025-01", "2025-02"}, "q": {"kWh saved"}},
			Cookie: "negawatt_token=nw1.test; theme=dark", UserAgent: "curl/8.5.0", RequestID: "req-1", Proxy: "v1/echo/a%2Fb",
			Body: []byte{0, 1, 2, 0xfd, 0xfe, 0xff}, ContentLength: 6,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			var got seen
			resp, err := New(capture(&got)).Invoke(context.Background(), loadEvent(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("status %d", resp.StatusCode)
			}
			if got.RemoteAddr == "IP:0" {
				got.RemoteAddr = "IP" // the fixture's placeholder is not an address
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("request seen by the handler (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResponseMapping(t *testing.T) {
	png := []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0xff}
	tests := []struct {
		name string
		h    http.HandlerFunc
		want events.APIGatewayV2HTTPResponse
	}{
		{"json with cookies and repeated header", func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1", Path: "/", Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)})
			http.SetCookie(w, &http.Cookie{Name: "b", Value: "2", HttpOnly: true})
			w.Header().Add("Vary", "Accept")
			w.Header().Add("Vary", "Cookie")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"ok":true}`)
		}, events.APIGatewayV2HTTPResponse{
			StatusCode: 201,
			Headers:    map[string]string{"Vary": "Accept, Cookie", "Content-Type": "application/json"},
			Cookies:    []string{"a=1; Path=/; Expires=Wed, 02 Jan 2030 03:04:05 GMT", "b=2; HttpOnly"},
			Body:       `{"ok":true}`,
		}},
		{"binary is base64", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(png)
		}, events.APIGatewayV2HTTPResponse{
			StatusCode: 200, Headers: map[string]string{"Content-Type": "image/png"},
			Body: base64.StdEncoding.EncodeToString(png), IsBase64Encoded: true,
		}},
		{"text that is not UTF-8 is base64", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte{0xff, 0xfe})
		}, events.APIGatewayV2HTTPResponse{
			StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "//4=", IsBase64Encoded: true,
		}},
		{"svg is text", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/svg+xml")
			_, _ = io.WriteString(w, "<svg/>")
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "image/svg+xml"}, Body: "<svg/>"}},
		{"no content type is sniffed", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "<html><body>hi</body></html>")
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}, Body: "<html><body>hi</body></html>"}},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{}, Body: ""}},
	}
	ev := loadEvent(t, "apigw-v2-request-no-authorizer.json")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := New(tt.h).Invoke(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOversizedResponse(t *testing.T) {
	big := make([]byte, MaxResponseBytes+1)
	got, _ := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(big) })).
		Invoke(context.Background(), loadEvent(t, "apigw-v2-request-no-authorizer.json"))
	if got.StatusCode != 500 || len(got.Body) > 1000 {
		t.Errorf("status %d, body %d bytes; want a short 500", got.StatusCode, len(got.Body))
	}
}

func TestBadEvents(t *testing.T) {
	ev := loadEvent(t, "apigw-v2-post-base64-stage.json")
	ev.Body = "not base64!"
	got, err := New(http.NotFoundHandler()).Invoke(context.Background(), ev)
	if err != nil || got.StatusCode != 400 {
		t.Fatalf("bad base64: status %d err %v, want 400", got.StatusCode, err)
	}
	var env struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(got.Body), &env); err != nil || env.Error.Code != "bad_request" {
		t.Errorf("body %q is not the error envelope", got.Body)
	}
	for name, mod := range map[string]func(*events.APIGatewayV2HTTPRequest){
		"version 1.0": func(e *events.APIGatewayV2HTTPRequest) { e.Version = "1.0" },
		"no method":   func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.HTTP.Method = "" },
		"bad path":    func(e *events.APIGatewayV2HTTPRequest) { e.RawPath = "no-slash" },
	} {
		e := loadEvent(t, "apigw-v2-request-no-authorizer.json")
		mod(&e)
		if _, err := Request(context.Background(), e); !errors.Is(err, ErrBadEvent) {
			t.Errorf("%s: err = %v, want ErrBadEvent", name, err)
		}
	}
}

// TestServesTheAppHandler runs the service handler itself through the
// adapter and validates the responses against the OpenAPI document.
func TestServesTheAppHandler(t *testing.T) {
	signer, _ := platform.NewSigner(platform.NewRandomKey())
	h, err := app.New(app.Config{Signer: signer, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Dashboard: dashboard.Demo()})
	if err != nil {
		t.Fatal(err)
	}
	v := openapitest.New(t, openapi.JSON)
	alice, _ := platform.CustomerScope("demo-alice")
	tok, _ := signer.Mint(alice, time.Hour)
	tests := []struct {
		path    string
		cookies []string
		want    int
	}{
		{"/prod/healthz", nil, 200},
		{"/prod/customers/demo-alice", []string{platform.TokenCookie + "=" + tok}, 200},
		{"/prod/customers/demo-alice", nil, 401},
		{"/prod/customers/demo-bob", []string{platform.TokenCookie + "=" + tok}, 403},
	}
	for _, tt := range tests {
		ev := loadEvent(t, "apigw-v2-post-base64-stage.json")
		ev.RequestContext.HTTP.Method, ev.RawPath, ev.RawQueryString, ev.Body, ev.IsBase64Encoded = "GET", tt.path, "", "", false
		ev.Cookies, ev.PathParameters = tt.cookies, nil
		resp, err := New(h).Invoke(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s: status %d, want %d: %s", tt.path, resp.StatusCode, tt.want, resp.Body)
			continue
		}
		req, _ := Request(context.Background(), ev)
		hdr := http.Header{}
		for k, val := range resp.Headers {
			hdr.Set(k, val)
		}
		if err := v.Check(req, resp.StatusCode, hdr, []byte(resp.Body)); err != nil {
			t.Error(err)
		}
	}
}

func FuzzRequest(f *testing.F) {
	f.Add("/v1/x", "a=1&a=2", "aGVsbG8=", true, "prod")
	f.Add("/%zz", "%", "", false, "$default")
	f.Fuzz(func(t *testing.T, rawPath, rawQuery, body string, b64 bool, stage string) {
		ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: rawPath, RawQueryString: rawQuery, Body: body, IsBase64Encoded: b64}
		ev.RequestContext.HTTP.Method = "POST"
		ev.RequestContext.Stage = stage
		req, err := Request(context.Background(), ev)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("error %v does not wrap ErrBadEvent", err)
			}
			return
		}
		if req.URL.Path == "" || req.URL.Path[0] != '/' {
			t.Fatalf("path %q", req.URL.Path)
		}
	})
}

func BenchmarkInvoke(b *testing.B) {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/healthz"}
	ev.RequestContext.HTTP.Method = "GET"
	h := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Invoke(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
}
