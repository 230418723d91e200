package platform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// DecodeJSON reads the request body into dst, strictly: the Content-Type
// must be application/json, the body one JSON value with no unknown
// fields and no trailing data, within the platform's body limit. Every
// failure is an *Error ready for [WriteError]: 415 for the wrong media
// type, 413 for an oversized body, 400 malformed_json with line:column for
// bad JSON.
func DecodeJSON(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return Errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type must be application/json, got %q", ct)
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodePayloadTooLarge,
				Message: fmt.Sprintf("request body exceeds %d bytes", mbe.Limit), Err: err}
		}
		return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: "could not read request body", Err: err}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return Errorf(http.StatusBadRequest, CodeMalformedJSON, "request body is empty, want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(body, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		line, col := lineCol(body, dec.InputOffset())
		return Errorf(http.StatusBadRequest, CodeMalformedJSON, "line %d, column %d: unexpected data after the JSON value", line, col)
	}
	return nil
}

func jsonError(body []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(body, syn.Offset)
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: fmt.Sprintf("line %d, column %d: %s", line, col, syn.Error()), Err: err}
	case errors.As(err, &typ):
		line, col := lineCol(body, typ.Offset)
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON,
			Message: fmt.Sprintf("line %d, column %d: field %q: got JSON %s, want %s", line, col, typ.Field, typ.Value, typ.Type), Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "unexpected end of JSON input", Err: err}
	default:
		// Unknown fields and the like: encoding/json's message names the
		// field and carries no internals.
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: err.Error(), Err: err}
	}
}

// lineCol turns a byte offset into 1-based line and column.
func lineCol(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line, col = 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
