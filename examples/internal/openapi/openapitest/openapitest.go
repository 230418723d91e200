// Package openapitest validates HTTP responses against the service's
// OpenAPI document with kin-openapi's openapi3filter, so every test that
// talks to the service through [Validator.Client] also checks the
// contract. Responses on paths the document does not describe must still
// be the JSON error envelope (components/schemas/Error).
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Validator checks responses against one OpenAPI document.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
	errRef *openapi3.SchemaRef
}

// New loads and validates doc; it fails the test if the document itself
// is invalid.
func New(t testing.TB, doc []byte) *Validator {
	t.Helper()
	v, err := load(doc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// registerDecoders teaches openapi3filter (whose decoder table is
// process-global) to read HTML pages as strings, for the dashboard paths.
var registerDecoders = sync.OnceFunc(func() {
	if openapi3filter.RegisteredBodyDecoder("text/html") == nil {
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	}
})

func load(doc []byte) (*Validator, error) {
	registerDecoders()
	loader := openapi3.NewLoader()
	d, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("openapitest: load document: %w", err)
	}
	if err := d.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapitest: document is invalid: %w", err)
	}
	router, err := gorillamux.NewRouter(d)
	if err != nil {
		return nil, fmt.Errorf("openapitest: router: %w", err)
	}
	errRef := d.Components.Schemas["Error"]
	if errRef == nil {
		return nil, fmt.Errorf("openapitest: document has no components.schemas.Error")
	}
	return &Validator{doc: d, router: router, errRef: errRef}, nil
}

// Check validates one response (status, headers, body) to req. A request
// on a documented path and method is validated with openapi3filter
// (status must be documented, body must match the schema for its content
// type); anything else must be a JSON Error envelope.
func (v *Validator) Check(req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return v.checkEnvelope(req, status, header, body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
			Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: status,
		Header: header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true, // an undocumented status is an error, not "default"-less silence
			MultiError:            true,
		},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		return fmt.Errorf("%s %s → %d does not match the OpenAPI document: %w\nbody: %s", req.Method, req.URL.Path, status, err, truncate(body))
	}
	if status >= 400 {
		// A documented error response may add details next to the
		// envelope (e.g. ValidationError's rows); its "error" member
		// must still be the envelope's.
		return v.checkEnvelope(req, status, header, errorMember(body))
	}
	return nil
}

// errorMember returns {"error": body.error} (body unchanged if it is not a
// JSON object), so the envelope check ignores documented extra members.
func errorMember(body []byte) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return body
	}
	out, err := json.Marshal(map[string]json.RawMessage{"error": m["error"]})
	if err != nil {
		return body
	}
	return out
}

func (v *Validator) checkEnvelope(req *http.Request, status int, header http.Header, body []byte) error {
	if status < 300 {
		return fmt.Errorf("%s %s → %d: path and method are not in the OpenAPI document", req.Method, req.URL.Path, status)
	}
	if status < 400 {
		return nil // redirects carry no envelope
	}
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != "application/json" {
		return fmt.Errorf("%s %s → %d: error Content-Type %q, want application/json", req.Method, req.URL.Path, status, header.Get("Content-Type"))
	}
	var val any
	if err := json.Unmarshal(body, &val); err != nil {
		return fmt.Errorf("%s %s → %d: error body is not JSON: %v\nbody: %s", req.Method, req.URL.Path, status, err, truncate(body))
	}
	if err := v.errRef.Value.VisitJSON(val); err != nil {
		return fmt.Errorf("%s %s → %d: error body is not the Error envelope: %v\nbody: %s", req.Method, req.URL.Path, status, err, truncate(body))
	}
	return nil
}

// Transport wraps base (nil: http.DefaultTransport) so that every response
// is read, validated with Check (failures reported with t.Errorf), and
// handed back with its body intact.
func (v *Validator) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err := v.Check(req, resp.StatusCode, resp.Header, body); err != nil {
			t.Errorf("openapitest: %v", err)
		}
		return resp, nil
	})
}

// Client is an http.Client using Transport; it does not follow redirects,
// so each response the server sends is validated.
func (v *Validator) Client(t testing.TB) *http.Client {
	return &http.Client{
		Transport:     v.Transport(t, nil),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func truncate(b []byte) string {
	if len(b) > 512 {
		return string(b[:512]) + "…"
	}
	return string(b)
}
