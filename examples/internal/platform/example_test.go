package platform_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/negawatt/negawatt/examples/internal/platform"
)

func Example() {
	signer, err := platform.NewSigner([]byte("an example key of at least 32 bytes!"))
	if err != nil {
		panic(err)
	}
	p, err := platform.New(platform.Config{Signer: signer, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	p.HandleFunc("GET /v1/customers/{id}/balance", platform.Customer("id"), func(w http.ResponseWriter, r *http.Request) {
		platform.WriteJSON(w, http.StatusOK, map[string]string{"customer": r.PathValue("id"), "points": "120"})
	})

	alice, _ := platform.CustomerScope("alice")
	token, _ := signer.Mint(alice, time.Hour)
	for _, path := range []string{"/v1/customers/alice/balance", "/v1/customers/bob/balance"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		var body map[string]map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		fmt.Printf("%d error=%q\n", rec.Code, body["error"]["code"])
	}
	// Output:
	// 200 error=""
	// 403 error="forbidden"
}
