// Package openapi holds the OpenAPI 3 document of the example service
// (served at /openapi.json) and, in openapitest, the test helper that
// validates every response a test receives against it.
//
// To add an endpoint: add its path to openapi.json (reusing
// #/components/responses/Error for every error status, and the
// bearerAuth security scheme), register the handler with
// platform.Handle, and call it from a test through
// openapitest.Validator.Client: the response is checked against the
// document automatically.
package openapi

import _ "embed"

// JSON is the OpenAPI 3.0 document, as served at /openapi.json.
//
//go:embed openapi.json
var JSON []byte
