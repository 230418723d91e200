package platform

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Error codes used in the JSON error envelope. Clients switch on the code,
// never on the message.
const (
	CodeBadRequest         = "bad_request"
	CodeMalformedJSON      = "malformed_json"
	CodeInvalidID          = "invalid_id"
	CodeUnauthorized       = "unauthorized"
	CodeForbidden          = "forbidden"
	CodeNotFound           = "not_found"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodePayloadTooLarge    = "payload_too_large"
	CodeUnsupportedMedia   = "unsupported_media_type"
	CodeRateLimited        = "rate_limited"
	CodeInternal           = "internal"
	CodeNotReady           = "not_ready"
	CodeConflict           = "conflict"
	CodeUnprocessable      = "unprocessable"
	CodeServiceUnavailable = "unavailable"
)

// Error is an error with an HTTP status and a stable code; handlers return
// it (or wrap it) and [WriteError] renders it as the JSON envelope.
type Error struct {
	Status  int    // HTTP status, 4xx or 5xx
	Code    string // one of the Code* constants
	Message string // human-readable, safe to show to the caller
	// Err is the underlying cause, logged but never sent to the client.
	Err error
}

// Errorf builds an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.Status, e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorBody is the JSON error envelope: {"error": {...}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of the envelope.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// JSONAppender is implemented by response values on hot paths that encode
// themselves without reflection. AppendJSON appends exactly the bytes
// json.Marshal would produce for the value, or returns an error, in which
// case WriteJSON uses json.Marshal.
type JSONAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var b []byte
	err := errors.ErrUnsupported
	if a, ok := v.(JSONAppender); ok {
		b, err = a.AppendJSON(make([]byte, 0, 512))
	}
	if err != nil {
		b, err = json.Marshal(v)
	}
	if err != nil {
		// A value the handler built itself failed to encode: a bug, not
		// the caller's fault.
		status = http.StatusInternalServerError
		b, _ = json.Marshal(ErrorBody{Error: ErrorDetail{Code: CodeInternal, Message: "internal error"}})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// WriteError writes err as the JSON error envelope. An *Error (possibly
// wrapped) gives status, code and message; any other error is a 500 whose
// details are logged with the request id and not sent to the client.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error", Err: err}
	}
	if e.Status >= 500 && r != nil {
		Logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.Int("status", e.Status), slog.String("code", e.Code), slog.Any("err", err))
	}
	id := ""
	if r != nil {
		id = RequestID(r.Context())
	}
	WriteJSON(w, e.Status, ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message, RequestID: id}})
}

// AppendJSONString appends s as a JSON string exactly as json.Marshal
// encodes it (HTML-safe escaping), for JSONAppender implementations.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // rare: let encoding/json escape it
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
