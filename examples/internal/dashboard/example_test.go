package dashboard_test

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/negawatt/negawatt/examples/internal/dashboard"
)

func ExampleRenderCustomer() {
	page := dashboard.CustomerPage{
		CustomerID: "c-7",
		AsOf:       time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
		Balance:    decimal.RequireFromString("1500"),
		Months: []dashboard.MonthRow{
			{Month: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), BaselineKWh: 700, ActualKWh: 650, Points: decimal.NewFromInt(50)},
			{Month: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), BaselineKWh: 640, ActualKWh: 600, Points: decimal.NewFromInt(40)},
		},
	}
	var b bytes.Buffer
	if err := dashboard.RenderCustomer(&b, page); err != nil {
		fmt.Println(err)
		return
	}
	html := b.String()
	fmt.Println(strings.Contains(html, `data-testid="balance">1,500<`), strings.Count(html, "<svg"))
	// Output: true 3
}
