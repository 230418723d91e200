package main

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/negawatt/negawatt/examples/internal/app"
	"github.com/negawatt/negawatt/examples/internal/dashboard"
	"github.com/negawatt/negawatt/examples/internal/platform"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "copy the browser test's screenshots into testdata/")

// chromiumPath finds a Chromium. CI installs Debian's chromium (.ci/run);
// on a developer machine without one the browser test skips, but under
// CI=true a missing browser is a failure, so the test cannot silently
// stop running.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found and CI=true: .ci/run must install Debian's chromium package")
	}
	t.Skip("chromium not found: install it (apt-get install chromium) to run the dashboard browser test")
	return ""
}

// TestDashboardInChromium loads the customer dashboard (demo data) in real
// headless Chromium at phone and desktop widths, checks the balance and
// the chart render and that nothing overflows sideways, and takes a
// full-page screenshot of each.
func TestDashboardInChromium(t *testing.T) {
	bin := chromiumPath(t)
	signer, err := platform.NewSigner(platform.NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	h, err := app.New(app.Config{Signer: signer, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Dashboard: dashboard.Demo()})
	if err != nil {
		t.Fatal(err)
	}
	browse(t, bin, signer, h, "demo-alice", "1,284.50", false)
}

// TestDashboardRealDataInChromium is the same check on the real demo
// program (the nmecr building settled through the SDK, SQLite store and
// ledger); its screenshots are the ones committed under testdata/.
func TestDashboardRealDataInChromium(t *testing.T) {
	bin := chromiumPath(t)
	signer, err := platform.NewSigner(platform.NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc, closeData, err := app.OpenService(context.Background(), t.TempDir(), "", log)
	if err != nil {
		t.Fatal(err)
	}
	defer closeData()
	if err := app.LoadDemo(context.Background(), svc, "../../testdata"); err != nil {
		t.Fatal(err)
	}
	bal, err := svc.Balance(context.Background(), app.DemoCustomer)
	if err != nil {
		t.Fatal(err)
	}
	h, err := app.New(app.Config{Signer: signer, Logger: log, Service: svc, Dashboard: app.DashboardSource(svc)})
	if err != nil {
		t.Fatal(err)
	}
	browse(t, bin, signer, h, app.DemoCustomer, dashboard.FormatPoints(bal.Available), true)
}

// browse loads /customers/{customer} in headless Chromium at phone and
// desktop widths, checks the balance text and the chart, and takes a
// full-page screenshot of each (copied to testdata/ with
// -update-screenshots when save is set).
func browse(t *testing.T, bin string, signer *platform.Signer, h http.Handler, customer, wantBalance string, save bool) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	scope, _ := platform.CustomerScope(customer)
	token, err := signer.Mint(scope, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		// The machine has no network: without these Chromium stalls on
		// background connections (QUIC, component updates, sync).
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Screenshots at the exact viewport width, as on a phone.
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// Start the browser on a context without a deadline (a deadline on
	// the first call would bound the browser's whole life), then bound
	// each step below.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: platform.TokenCookie, Value: token, Domain: u.Hostname(), Path: "/", HTTPOnly: &[]bool{true}[0],
	}); err != nil {
		t.Fatalf("set cookie: %v", err)
	}

	shots := t.TempDir()
	for _, vp := range []struct {
		name          string
		width, height int64
	}{{"phone", 390, 844}, {"desktop", 1280, 800}} {
		t.Run(vp.name, func(t *testing.T) {
			sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			if err := chromedp.Do(sctx,
				chromedp.EmulateViewport(vp.width, vp.height),
				chromedp.Navigate(srv.URL+"/customers/"+customer),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="balance"]`)),
			); err != nil {
				t.Fatal(err)
			}
			balance, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(`[data-testid="balance"]`)))
			if err != nil {
				t.Fatal(err)
			}
			eval := func(js string) int {
				t.Helper()
				v, err := chromedp.Run(sctx, chromedp.Evaluate[int](js))
				if err != nil {
					t.Fatalf("%s: %v", js, err)
				}
				return v
			}
			visibleCharts := eval(`[...document.querySelectorAll('#usage-chart svg')].filter(e => e.getBoundingClientRect().width > 0).length`)
			svgWidth := eval(`Math.round(Math.max(...[...document.querySelectorAll('#usage-chart svg')].map(e => e.getBoundingClientRect().width)))`)
			scrollWidth := eval(`document.documentElement.scrollWidth`)
			// Tables sit in .table-scroll boxes, so a table too wide for
			// the phone would scroll inside its box, not the page.
			scrollingTables := eval(`[...document.querySelectorAll('.table-scroll')].filter(e => e.scrollWidth > e.clientWidth).length`)
			innerWidth := eval(`window.innerWidth`)
			shot, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(balance) != wantBalance {
				t.Errorf("balance = %q, want %s", balance, wantBalance)
			}
			if visibleCharts != 1 {
				t.Errorf("%d usage charts visible, want exactly 1 (phone or desktop variant)", visibleCharts)
			}
			if svgWidth < int(vp.width)/2 {
				t.Errorf("chart is %d px wide in a %d px viewport", svgWidth, vp.width)
			}
			if scrollWidth > innerWidth {
				t.Errorf("page scrolls sideways: scrollWidth %d > innerWidth %d", scrollWidth, innerWidth)
			}
			if scrollingTables != 0 {
				t.Errorf("%d tables scroll sideways at %d px", scrollingTables, vp.width)
			}
			img, err := png.Decode(bytes.NewReader(shot))
			if err != nil {
				t.Fatalf("screenshot is not a PNG: %v", err)
			}
			if w := img.Bounds().Dx(); w != int(vp.width) {
				t.Errorf("screenshot %d px wide, want %d", w, vp.width)
			}
			name := "dashboard-" + vp.name + ".png"
			if err := os.WriteFile(filepath.Join(shots, name), shot, 0o644); err != nil {
				t.Fatal(err)
			}
			if *updateScreenshots && save {
				if err := os.WriteFile(filepath.Join("testdata", name), shot, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("screenshot %s", filepath.Join(shots, name))
		})
	}
}
