package apigw_test

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/negawatt/negawatt/examples/lambda/internal/apigw"
)

func Example() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"path":"`+r.URL.Path+`","month":"`+r.URL.Query().Get("month")+`"}`)
	})
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/prod/v1/balance", RawQueryString: "month=2025-02"}
	ev.RequestContext.HTTP.Method = "GET"
	ev.RequestContext.Stage = "prod"

	// In main: lambda.Start(apigw.New(h).Invoke)
	resp, err := apigw.New(h).Invoke(context.Background(), ev)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, resp.Body)
	// Output: 200 {"path":"/v1/balance","month":"2025-02"}
}
