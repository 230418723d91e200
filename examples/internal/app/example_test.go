package app_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"

	"github.com/negawatt/negawatt/examples/internal/app"
	"github.com/negawatt/negawatt/examples/internal/platform"
)

func Example() {
	signer, _ := platform.NewSigner(platform.NewRandomKey())
	h, err := app.New(app.Config{Signer: signer, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 200 {"status":"ok"}
}
