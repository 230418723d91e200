// Package dashboard renders the customer web app of the example service:
// server-side html/template pages with inline CSS (no front-end build),
// mobile-first, with inline SVG charts from examples/internal/chart.
//
// Pages render from plain view-model structs ([CustomerPage],
// [OverviewPage]) that a [Source] fills; the dashboard knows nothing about
// ledgers or baselines. [Register] mounts the pages on a
// platform.Platform:
//
//	GET /                operator: program overview
//	GET /customers/{id}  that customer (or the operator): balance, savings
//	                     per month, history, upcoming expiries, charts
//
// Browsers send the token in the negawatt_token cookie.
package dashboard
