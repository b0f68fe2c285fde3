package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/awsclients"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/store"
)

// TestHTTPAuthorizer_AStoreFaultIsAJSONErrorNotABare500: with the table unreachable, a
// visitor's session cannot be checked. The authorizer does not fail (API Gateway would answer
// a bare 500 without a code): it passes the caller on as unchecked, and the action answers a
// JSON error with a stable code — never treating the caller as anonymous.
func TestHTTPAuthorizer_AStoreFaultIsAJSONErrorNotABare500(t *testing.T) {
	t.Parallel()
	unreachable := store.New(awsclients.DynamoDBAt(awsconfig.Static("us-east-1"), "http://127.0.0.1:1"), "gone")
	d := setup.With(slog.New(slog.NewJSONHandler(io.Discard, nil)), setup.Overrides{Store: unreachable, AgentTokens: noAgents{},
		DeploymentSecret: []byte("authorizer-fault-test-secret-0123456789abcdef")})
	session := strings.Repeat("A", 43)
	authz, err := handlers.HTTPAuthorizer(d)(t.Context(), events.APIGatewayV2CustomAuthorizerV2Request{
		Headers: map[string]string{"authorization": "Bearer " + session}})
	if err != nil || !authz.IsAuthorized {
		t.Fatalf("authorizer = %+v, %v; want the request passed on", authz, err)
	}
	lambdaCtx := map[string]any{}
	for k, v := range authz.Context {
		lambdaCtx[k] = v
	}
	ev := events.APIGatewayV2HTTPRequest{
		PathParameters: map[string]string{"id": "conv_any"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lambdaCtx}},
	}
	for name, h := range map[string]func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error){
		"get conversation":        handlers.GetConversation(d),
		"start (anonymous route)": handlers.StartConversation(d),
	} {
		resp, err := h(t.Context(), ev)
		var body struct{ Error struct{ Code string } }
		if err != nil || resp.StatusCode < 500 || json.Unmarshal([]byte(resp.Body), &body) != nil || body.Error.Code != "credentials_unchecked" {
			t.Errorf("%s: %d %s (%v), want a 5xx JSON error credentials_unchecked", name, resp.StatusCode, resp.Body, err)
		}
	}
}

// noAgents verifies no JWT: the test presents a visitor session only.
type noAgents struct{}

func (noAgents) Verify(context.Context, string) (auth.Principal, error) {
	return auth.Principal{}, apperror.Unauthenticated("token_invalid", "no agents here")
}
