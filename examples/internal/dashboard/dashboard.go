package dashboard

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/examples/internal/chart"
	"github.com/negawatt/negawatt/examples/internal/platform"
)

//go:embed templates/*.html
var templateFS embed.FS

var funcs = template.FuncMap{
	"points": formatPoints,
	"signed": func(d decimal.Decimal) string {
		if d.IsPositive() {
			return "+" + formatPoints(d)
		}
		return formatPoints(d)
	},
	"kwh":   formatKWh,
	"month": func(t time.Time) string { return t.UTC().Format("Jan 2006") },
	"date":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
}

var (
	customerTmpl = template.Must(template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")).ParseFS(templateFS, "templates/customer.html"))
	overviewTmpl = template.Must(template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")).ParseFS(templateFS, "templates/overview.html"))
	signinTmpl   = template.Must(template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")).ParseFS(templateFS, "templates/signin.html"))
)

// RenderSignIn writes the page anonymous visitors of / see.
func RenderSignIn(w *bytes.Buffer) error {
	return signinTmpl.ExecuteTemplate(w, "layout", struct {
		Title, Who string
		AsOf       time.Time
	}{Title: "Welcome", Who: "Not signed in"})
}

// customerData is what customer.html sees.
type customerData struct {
	Title, Who                      string
	AsOf                            time.Time
	Customer                        CustomerPage
	TotalSavedKWh                   float64
	UsageChartPhone, UsageChartWide template.HTML
	PointsChart                     template.HTML
}

type overviewData struct {
	Title, Who                      string
	AsOf                            time.Time
	Overview                        OverviewPage
	SavedChartPhone, SavedChartWide template.HTML
}

// RenderCustomer writes the customer page for v as HTML.
func RenderCustomer(w *bytes.Buffer, v CustomerPage) error {
	return renderCustomer(w, v, "Customer "+v.CustomerID)
}

// renderCustomer names the viewer in the header (the customer, or the
// operator looking at a customer).
func renderCustomer(w *bytes.Buffer, v CustomerPage, who string) error {
	d := customerData{Title: v.CustomerID, Who: who, AsOf: v.AsOf, Customer: v}
	if v.DisplayName != "" {
		d.Title = v.DisplayName
	}
	for _, m := range v.Months {
		d.TotalSavedKWh += m.SavedKWh()
	}
	var err error
	if d.UsageChartPhone, d.UsageChartWide, err = usageCharts(v); err != nil {
		return err
	}
	if d.PointsChart, err = pointsChart(v); err != nil {
		return err
	}
	return customerTmpl.ExecuteTemplate(w, "layout", d)
}

// RenderOverview writes the overview page for v as HTML.
func RenderOverview(w *bytes.Buffer, v OverviewPage) error {
	d := overviewData{Title: "Overview", Who: "Operator", AsOf: v.AsOf, Overview: v}
	if len(v.Months) > 0 {
		labels := make([]string, len(v.Months))
		vals := make([]float64, len(v.Months))
		for i, m := range v.Months {
			labels[i], vals[i] = m.Month.UTC().Format("Jan"), m.SavedKWh
		}
		var err error
		d.SavedChartPhone, d.SavedChartWide, err = both(func(s chart.Size) chart.Chart {
			return chart.Bars{Title: "kWh saved, all customers", Unit: "kWh saved", Labels: labels, Values: vals, Size: s}
		})
		if err != nil {
			return err
		}
	} else {
		d.SavedChartPhone = `<p class="empty">No settled months yet.</p>`
	}
	return overviewTmpl.ExecuteTemplate(w, "layout", d)
}

func usageCharts(v CustomerPage) (template.HTML, template.HTML, error) {
	if len(v.Daily) > 0 {
		times := make([]time.Time, len(v.Daily))
		base := make([]float64, len(v.Daily))
		act := make([]float64, len(v.Daily))
		for i, d := range v.Daily {
			times[i], base[i], act[i] = d.Day, d.BaselineKWh, d.ActualKWh
		}
		return both(func(s chart.Size) chart.Chart {
			return chart.TimeSeries{Title: "Daily usage", Unit: "kWh/day", Times: times, Size: s,
				Series: []chart.Series{{Name: "Baseline", Values: base, Style: chart.Dashed}, {Name: "Actual", Values: act}}}
		})
	}
	if len(v.Months) == 0 {
		return `<p class="empty">No usage settled yet.</p>`, "", nil
	}
	times := make([]time.Time, len(v.Months))
	base := make([]float64, len(v.Months))
	act := make([]float64, len(v.Months))
	for i, m := range v.Months {
		times[i], base[i], act[i] = m.Month, m.BaselineKWh, m.ActualKWh
	}
	return both(func(s chart.Size) chart.Chart {
		return chart.TimeSeries{Title: "Monthly usage", Unit: "kWh/month", Times: times, Size: s,
			Series: []chart.Series{{Name: "Baseline", Values: base, Style: chart.Dashed}, {Name: "Actual", Values: act}}}
	})
}

// pointsChart sits in a half-width column on desktop and full width on
// a phone: one medium size reads well in both.
func pointsChart(v CustomerPage) (template.HTML, error) {
	if len(v.Months) == 0 {
		return `<p class="empty">No points yet.</p>`, nil
	}
	labels := make([]string, len(v.Months))
	vals := make([]float64, len(v.Months))
	for i, m := range v.Months {
		// A chart is a picture: float64 is fine here, never for balances.
		labels[i], vals[i] = m.Month.UTC().Format("Jan"), m.Points.InexactFloat64()
	}
	svg, err := chart.SVG(chart.Bars{Title: "Points earned", Unit: "points", Labels: labels, Values: vals, Size: halfSize})
	return template.HTML(svg), err //nolint:gosec // escaped by package chart
}

// Chart sizes: wideSize fills the desktop column at a comfortable text
// size; halfSize suits half a desktop column or a phone.
var (
	wideSize = chart.Size{Width: 960, Height: 380}
	halfSize = chart.Size{Width: 480, Height: 320}
)

// both renders a chart at phone and desktop sizes; CSS shows one. The
// chart package escapes every text it writes, so its output is trusted
// markup for html/template.
func both(mk func(chart.Size) chart.Chart) (phone, wide template.HTML, err error) {
	p, err := chart.SVG(mk(chart.PhoneSize))
	if err != nil {
		return "", "", err
	}
	w, err := chart.SVG(mk(wideSize))
	if err != nil {
		return "", "", err
	}
	return template.HTML(p), template.HTML(w), nil //nolint:gosec // escaped by package chart
}

// Register mounts the dashboard on p:
//
//	GET /                the operator's overview; a signed-in customer is
//	                     redirected (303) to their page; anonymous visitors
//	                     get a short sign-in page
//	GET /customers/{id}  that customer's page (the customer or the operator)
func Register(p *platform.Platform, src Source) {
	p.HandleFunc("GET /{$}", platform.Optional, func(w http.ResponseWriter, r *http.Request) {
		c, ok := platform.ClaimsFrom(r.Context())
		if id, isCustomer := c.Scope.CustomerID(); ok && isCustomer {
			http.Redirect(w, r, "/customers/"+url.PathEscape(id), http.StatusSeeOther)
			return
		}
		var b bytes.Buffer
		if !ok {
			if err := RenderSignIn(&b); err != nil {
				platform.WriteError(w, r, fmt.Errorf("dashboard: render sign-in: %w", err))
				return
			}
			writeHTML(w, b.Bytes())
			return
		}
		v, err := src.Overview(r.Context())
		if err != nil {
			platform.WriteError(w, r, err)
			return
		}
		if err := RenderOverview(&b, v); err != nil {
			platform.WriteError(w, r, fmt.Errorf("dashboard: render overview: %w", err))
			return
		}
		writeHTML(w, b.Bytes())
	})
	p.HandleFunc("GET /customers/{id}", platform.Customer("id"), func(w http.ResponseWriter, r *http.Request) {
		v, err := src.Customer(r.Context(), r.PathValue("id"))
		if errors.Is(err, ErrNotFound) {
			platform.WriteError(w, r, platform.Errorf(http.StatusNotFound, platform.CodeNotFound, "no such customer"))
			return
		}
		if err != nil {
			platform.WriteError(w, r, err)
			return
		}
		who := "Customer " + v.CustomerID
		if c, _ := platform.ClaimsFrom(r.Context()); c.Scope.Role() == platform.RoleOperator {
			who = "Operator"
		}
		var b bytes.Buffer
		if err := renderCustomer(&b, v, who); err != nil {
			platform.WriteError(w, r, fmt.Errorf("dashboard: render customer %s: %w", v.CustomerID, err))
			return
		}
		writeHTML(w, b.Bytes())
	})
}

// contentSecurityPolicy allows the page's own inline CSS and inline SVG
// and nothing else: no scripts, no third-party requests, no framing.
const contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func writeHTML(w http.ResponseWriter, page []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(page)
}

// formatPoints prints a points amount with thousands separators and at
// most two decimals (rounded half away from zero), e.g. 12345.5 →
// "12,345.50", 1200 → "1,200".
func formatPoints(d decimal.Decimal) string {
	return groupDigits(strings.TrimSuffix(d.Round(2).StringFixed(2), ".00"))
}

// formatKWh prints energy with thousands separators and one decimal,
// or none from 10,000 kWh on (a building's monthly figures must fit a
// phone-width table; a tenth of a kWh is noise at that size).
func formatKWh(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	prec := 1
	if math.Abs(v) >= 10000 {
		prec = 0
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if s == "-0.0" {
		s = "0.0"
	}
	return groupDigits(s)
}

// groupDigits inserts commas into the integer part of a plain decimal
// string: "-12345.5" → "-12,345.5".
func groupDigits(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}

// FormatPoints formats points as the pages show them (two decimals, ".00"
// dropped, thousands grouped), e.g. for tests that read a rendered page.
func FormatPoints(d decimal.Decimal) string { return formatPoints(d) }
