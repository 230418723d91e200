package dashboard

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/examples/internal/openapi"
	"github.com/negawatt/negawatt/examples/internal/openapi/openapitest"
	"github.com/negawatt/negawatt/examples/internal/platform"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func TestFormatPoints(t *testing.T) {
	in := []string{"0", "1200", "12345.5", "-200", "25.555", "1234567.891", "-0.004"}
	want := []string{"0", "1,200", "12,345.50", "-200", "25.56", "1,234,567.89", "0"}
	var got []string
	for _, s := range in {
		got = append(got, formatPoints(decimal.RequireFromString(s)))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("formatPoints (-want +got):\n%s", diff)
	}
	gotK := []string{formatKWh(1234.56), formatKWh(-0.01), formatKWh(-42)}
	if diff := cmp.Diff([]string{"1,234.6", "0.0", "-42.0"}, gotK); diff != "" {
		t.Errorf("formatKWh (-want +got):\n%s", diff)
	}
}

func TestRenderGolden(t *testing.T) {
	src := Demo()
	alice, err := src.Customer(context.Background(), "demo-alice")
	if err != nil {
		t.Fatal(err)
	}
	ov, err := src.Overview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	empty := CustomerPage{CustomerID: "new-1", AsOf: alice.AsOf}
	cases := map[string]func(*bytes.Buffer) error{
		"customer.html":       func(b *bytes.Buffer) error { return RenderCustomer(b, alice) },
		"customer_empty.html": func(b *bytes.Buffer) error { return RenderCustomer(b, empty) },
		"overview.html":       func(b *bytes.Buffer) error { return RenderOverview(b, ov) },
		"signin.html":         RenderSignIn,
	}
	for name, render := range cases {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := render(&b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s", path, diff)
			}
		})
	}
}

func TestRenderCustomerContent(t *testing.T) {
	alice, _ := Demo().Customer(context.Background(), "demo-alice")
	alice.DisplayName = `<script>alert(1)</script>`
	alice.History[0].Description = `"><img src=x onerror=alert(1)>`
	var b bytes.Buffer
	if err := RenderCustomer(&b, alice); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		`data-testid="balance">1,284.50<`, // balance, grouped, two decimals
		"<svg",                            // inline chart
		"Mar 2024", "Feb 2025",            // savings table months
		"Upcoming expiries", "312.50",
		`class="badge redemption"`, "-200",
		"&lt;script&gt;alert(1)&lt;/script&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>", "<img src=x"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	if n := strings.Count(page, "<svg"); n != 3 {
		t.Errorf("%d svg charts, want 3 (usage phone and wide, points)", n)
	}
}

func TestRenderDailyChart(t *testing.T) {
	p := CustomerPage{CustomerID: "d", AsOf: demoAsOf}
	for i := 0; i < 30; i++ {
		p.Daily = append(p.Daily, DailyUsage{Day: demoAsOf.AddDate(0, 0, i), BaselineKWh: 20, ActualKWh: 18})
	}
	var b bytes.Buffer
	if err := RenderCustomer(&b, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "kWh/day") {
		t.Error("daily chart not rendered")
	}
}

func TestHandlers(t *testing.T) {
	signer, err := platform.NewSigner(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(platform.Config{Signer: signer, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), OpenAPI: openapi.JSON})
	if err != nil {
		t.Fatal(err)
	}
	Register(p, Demo())
	mint := func(s string) string {
		sc, err := platform.ParseScope(s)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := signer.Mint(sc, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	op, alice, bob := mint("operator"), mint("customer:demo-alice"), mint("customer:demo-bob")
	srv := httptest.NewServer(p)
	defer srv.Close()
	client := openapitest.New(t, openapi.JSON).Client(t)
	tests := []struct {
		name, path, token string
		cookie            bool
		want              int
	}{
		{"customer via cookie", "/customers/demo-alice", alice, true, 200},
		{"customer via header", "/customers/demo-alice", alice, false, 200},
		{"operator views customer", "/customers/demo-bob", op, false, 200},
		{"other customer", "/customers/demo-bob", alice, true, 403},
		{"no token", "/customers/demo-alice", "", false, 401},
		{"unknown customer", "/customers/nobody", op, false, 404},
		{"injection id", "/customers/x'%20OR%201=1--", op, false, 400},
		{"overview operator", "/", op, false, 200},
		{"home redirects a customer", "/", bob, true, 303},
		{"home anonymous", "/", "", false, 200},
		{"home tampered token", "/", bob + "x", true, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
			if tt.token != "" {
				if tt.cookie {
					req.AddCookie(&http.Cookie{Name: platform.TokenCookie, Value: tt.token})
				} else {
					req.Header.Set("Authorization", "Bearer "+tt.token)
				}
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == 303 && resp.Header.Get("Location") != "/customers/demo-bob" {
				t.Errorf("Location = %q", resp.Header.Get("Location"))
			}
			if tt.want == 200 {
				if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("CSP = %q", csp)
				}
			}
		})
	}
}

func BenchmarkRenderCustomer(b *testing.B) {
	alice, _ := Demo().Customer(context.Background(), "demo-alice")
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := RenderCustomer(&buf, alice); err != nil {
			b.Fatal(err)
		}
	}
}
