package platform

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePage(t *testing.T) {
	tests := []struct {
		query   string
		want    Page
		wantErr bool
	}{
		{"", Page{Limit: 50}, false},
		{"limit=10&cursor=AAEC_-z", Page{Limit: 10, Cursor: "AAEC_-z"}, false},
		{"limit=100", Page{Limit: 100}, false},
		{"limit=0", Page{}, true},
		{"limit=101", Page{}, true},
		{"limit=ten", Page{}, true},
		{"limit=-5", Page{}, true},
		{"cursor=1'%20OR%20'1'='1", Page{}, true},
		{"cursor=" + strings.Repeat("a", 257), Page{}, true},
	}
	for _, tt := range tests {
		got, err := ParsePage(httptest.NewRequest("GET", "/v1/x?"+tt.query, nil), 50, 100)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v", tt.query, err)
			continue
		}
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Status != 400) {
			t.Errorf("%q: err %v is not a 400 *Error", tt.query, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.query, diff)
		}
	}
}
