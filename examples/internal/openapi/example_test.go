package openapi_test

import (
	"encoding/json"
	"fmt"

	"github.com/negawatt/negawatt/examples/internal/openapi"
)

func Example() {
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openapi.JSON, &doc); err != nil {
		panic(err)
	}
	_, ok := doc.Paths["/healthz"]
	fmt.Println(doc.OpenAPI, ok)
	// Output: 3.0.3 true
}
