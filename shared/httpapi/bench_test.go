package httpapi

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/auth"
)

// BenchmarkHandle measures what the adapter adds to every request: reading the event, the
// principal, strict decoding, encoding the answer and the log line.
func BenchmarkHandle(b *testing.B) {
	h := Handle("bench", quietLog(), func(_ context.Context, r *Request) (Response, error) {
		var g greeting
		if err := Decode(r.Body, &g); err != nil {
			return Response{}, err
		}
		return Created(g), nil
	})
	ev := events.APIGatewayV2HTTPRequest{
		Body:           `{"name":"Ada","age":36}`,
		PathParameters: map[string]string{"id": "conv_1"},
		Headers:        map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				Lambda: auth.Principal{Kind: auth.Agent, AgentID: "ada"}.ToContext(),
			},
		},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := h(ctx, ev); resp.StatusCode != 201 {
			b.Fatal(resp.StatusCode)
		}
	}
}
