package platform

import (
	"net/http"
	"strconv"
)

// Page is a validated pagination request: ?limit=N&cursor=C. The cursor
// is opaque to clients (the domain layer encodes a position in it, e.g. a
// base64url ledger sequence number) and empty for the first page.
type Page struct {
	Limit  int
	Cursor string
}

// maxCursorLen bounds cursors so one cannot smuggle a large payload
// through a query string into a decoder.
const maxCursorLen = 256

// ParsePage reads limit (default def, at most max) and cursor (at most 256
// base64url characters) from the query string. Errors are 400 *Error
// values for WriteError. Responses return the next cursor in a
// "next_cursor" field (OpenAPI: components/schemas/PageInfo).
func ParsePage(r *http.Request, def, max int) (Page, error) {
	q := r.URL.Query()
	p := Page{Limit: def, Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > max {
			return Page{}, Errorf(http.StatusBadRequest, CodeBadRequest, "limit must be an integer from 1 to %d", max)
		}
		p.Limit = n
	}
	if len(p.Cursor) > maxCursorLen {
		return Page{}, Errorf(http.StatusBadRequest, CodeBadRequest, "cursor is longer than %d characters", maxCursorLen)
	}
	for i := 0; i < len(p.Cursor); i++ {
		c := p.Cursor[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return Page{}, Errorf(http.StatusBadRequest, CodeBadRequest, "cursor is not one this server issued")
		}
	}
	return p, nil
}
