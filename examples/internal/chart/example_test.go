package chart_test

import (
	"fmt"
	"strings"

	"github.com/negawatt/negawatt/examples/internal/chart"
)

func Example() {
	svg, err := chart.SVG(chart.Bars{
		Title:  "kWh saved per month",
		Unit:   "kWh saved",
		Labels: []string{"Jan", "Feb", "Mar"},
		Values: []float64{42, 17.5, -3},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := string(svg)
	fmt.Println(strings.HasPrefix(s, "<svg"), strings.Contains(s, `width="100%"`), strings.Count(s, "<rect")-1)
	// Output: true true 3
}
