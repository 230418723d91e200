// Package apigw serves an http.Handler behind an Amazon API Gateway HTTP
// API (Lambda proxy integration, payload format version 2.0), so the
// Lambda deployment runs the very handler examples/httpserver serves.
//
// Request mapping: method and path from requestContext.http and rawPath
// (a named stage's "/<stage>" prefix is removed), rawQueryString verbatim
// (repeated parameters survive), headers, cookies re-joined into one
// Cookie header, base64 bodies decoded, pathParameters set as path values,
// source IP as RemoteAddr. Response mapping: status, headers (repeated
// values joined with ", ", since payload 2.0 has no multi-value headers),
// every Set-Cookie as an entry of cookies, and a base64 body for anything
// that is not UTF-8 text.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// MaxResponseBytes is the Lambda synchronous-invocation payload limit
// (6 MB, AWS Lambda quotas) less room for the JSON envelope; a larger
// response is replaced by a 500 JSON error rather than failing opaquely in
// API Gateway.
const MaxResponseBytes = 6_000_000 - 64<<10

// ErrBadEvent is wrapped by Request for events that cannot become an
// http.Request.
var ErrBadEvent = errors.New("apigw: bad event")

// Handler adapts h to API Gateway HTTP API events.
type Handler struct {
	h http.Handler
}

// New returns an adapter for h.
func New(h http.Handler) *Handler { return &Handler{h: h} }

// Invoke is the Lambda handler: lambda.Start(apigw.New(h).Invoke).
func (a *Handler) Invoke(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	req, err := Request(ctx, ev)
	if err != nil {
		// The event itself is broken (e.g. invalid base64): the client's
		// fault as far as anyone can tell, so a 400 in the platform's
		// envelope rather than a Lambda error.
		return errorResponse(http.StatusBadRequest, "bad_request", err.Error()), nil
	}
	rec := &recorder{header: http.Header{}}
	a.h.ServeHTTP(rec, req)
	return rec.response(), nil
}

// Request converts a payload 2.0 event to an http.Request carrying ctx.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	if ev.Version != "" && ev.Version != "2.0" {
		return nil, fmt.Errorf("%w: payload version %q, want 2.0", ErrBadEvent, ev.Version)
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, fmt.Errorf("%w: requestContext.http.method is empty", ErrBadEvent)
	}
	rawPath := ev.RawPath
	if rawPath == "" {
		rawPath = "/"
	}
	// A named stage appears as the first path segment of rawPath; the
	// service's routes do not know about stages.
	if st := ev.RequestContext.Stage; st != "" && st != "$default" {
		if rest, ok := strings.CutPrefix(rawPath, "/"+st); ok && (rest == "" || rest[0] == '/') {
			rawPath = rest
			if rawPath == "" {
				rawPath = "/"
			}
		}
	}
	target := rawPath
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("%w: path %q: %v", ErrBadEvent, target, err)
	}
	var body []byte
	if ev.IsBase64Encoded {
		body, err = base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: body is marked base64 but is not: %v", ErrBadEvent, err)
		}
	} else {
		body = []byte(ev.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	req.RequestURI = u.RequestURI()
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		// Payload 2.0 moves the Cookie header into cookies; put it back.
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = ev.RequestContext.DomainName
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	req.Header.Del("Host")
	req.Header.Del("Content-Length")
	req.ContentLength = int64(len(body))
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		req.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	for k, v := range ev.PathParameters {
		req.SetPathValue(k, v)
	}
	return req, nil
}

// recorder buffers the handler's response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) response() events.APIGatewayV2HTTPResponse {
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	if r.body.Len() > MaxResponseBytes {
		return errorResponse(http.StatusInternalServerError, "internal",
			"response of "+strconv.Itoa(r.body.Len())+" bytes exceeds the Lambda payload limit")
	}
	out := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{}}
	for k, vs := range r.header {
		if k == "Set-Cookie" {
			out.Cookies = append(out.Cookies, vs...)
			continue
		}
		out.Headers[k] = strings.Join(vs, ", ")
	}
	if _, ok := r.header["Content-Type"]; !ok && r.body.Len() > 0 {
		out.Headers["Content-Type"] = http.DetectContentType(r.body.Bytes())
	}
	if r.body.Len() == 0 || (isText(out.Headers["Content-Type"]) && utf8.Valid(r.body.Bytes())) {
		out.Body = r.body.String()
	} else {
		out.Body = base64.StdEncoding.EncodeToString(r.body.Bytes())
		out.IsBase64Encoded = true
	}
	return out
}

// isText reports whether a media type is sent as text (else base64).
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-www-form-urlencoded", mt == "image/svg+xml":
		return true
	}
	return false
}

func errorResponse(status int, code, msg string) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(map[string]map[string]string{"error": {"code": code, "message": msg}})
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(b),
	}
}
