// Package platform is the HTTP plumbing shared by negawatt's example
// services (examples/httpserver and the API Gateway side of
// examples/lambda): everything a production JSON API needs that is not
// about energy or points.
//
//   - Token auth: HMAC-SHA256 signed bearer tokens ([Signer]) carrying a
//     [Scope], either the operator or one customer ("customer:<id>").
//     Signatures are compared in constant time; tampered, expired and
//     malformed tokens are rejected with 401.
//   - Routes are registered with Go 1.22+ [http.ServeMux] patterns and an
//     [Access] rule: [Public], [Operator], or [Customer] (the customer id in
//     a path wildcard must match the token; ids are validated with
//     [ValidID] before any handler runs, so injection-shaped ids get 400).
//   - Middleware: request ids (X-Request-Id), structured log/slog JSON
//     access logs, panic recovery (500), body size limit (413), per-token
//     token-bucket rate limiting (429 + Retry-After), Prometheus metrics.
//   - One JSON error envelope everywhere, including unknown routes (404)
//     and wrong methods (405): {"error":{"code":"…","message":"…"}}.
//   - /healthz, /readyz (with a readiness check), /metrics, /openapi.json.
//   - [NewServer] and [Serve] / [ServeUntilSignal]: timeouts and graceful
//     shutdown that lets in-flight requests finish.
//
// A domain handler is an ordinary http.Handler registered with
// [Platform.Handle]; it decodes input with [DecodeJSON], answers with
// [WriteJSON] or [WriteError], reads the caller with [ClaimsFrom] and bumps
// domain counters through [Platform.Metrics].
package platform
