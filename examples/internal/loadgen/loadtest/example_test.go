package loadtest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/negawatt/negawatt/examples/internal/loadgen/loadtest"
	"github.com/negawatt/negawatt/examples/internal/platform"
)

// A scenario measured against a handler served in process. The figures
// of record come from the real binary (loadtest.Start) instead; see the
// loadtest command.
func Example() {
	signer, _ := platform.NewSigner(platform.NewRandomKey())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	s, err := loadtest.ServeInProcess(h, signer, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Stop()
	sc := loadtest.Scenario{
		Name: "root",
		Request: func(ctx context.Context, s *loadtest.Server, i int) (*http.Request, error) {
			return s.NewRequest(ctx, http.MethodGet, "/", s.OperatorToken(), "")
		},
	}
	f, err := loadtest.Measure(context.Background(), s, "none", sc, loadtest.Limits{Requests: 100, Duration: 10 * time.Second, Concurrency: 4})
	fmt.Println(f.Requests, f.Errors, err)
	// Output: 100 0 <nil>
}
