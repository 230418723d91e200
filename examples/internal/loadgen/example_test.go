package loadgen_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/negawatt/negawatt/examples/internal/loadgen"
)

func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res, err := loadgen.Run(context.Background(), loadgen.Config{URL: srv.URL, Requests: 100, Duration: 10 * time.Second, Concurrency: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Requests, res.Errors)
	// Output: 100 0
}
