package handlers

import (
	"context"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// HTTPAuthorizer is the HTTP API's Lambda authorizer (payload 2.0, simple responses). It
// always lets the request through with the resolved principal in the context: anonymous,
// agent, visitor, or a principal carrying why its credentials were refused. Each action then
// decides — so a refused token is answered 401 with a stable error code, not API Gateway's
// bare 403, and access is decided on current data for every request.
func HTTPAuthorizer(d *setup.Deps) func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	resolver := d.Resolver()
	return func(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		p, err := resolver.Resolve(ctx, headerValue(req.Headers, "authorization"))
		if err != nil {
			// Storage failed: the credentials could not be checked. Returning the error would
			// make API Gateway answer a bare 500 without a code; instead the caller is passed
			// on as unchecked, which every action refuses with a JSON error (never as anonymous).
			d.Log.ErrorContext(ctx, "authorize", "outcome", "error", "cause", err.Error())
			p = auth.Principal{Kind: auth.Visitor, AuthError: auth.CredentialsUnchecked} // only a session lookup reads the store
		}
		d.Log.DebugContext(ctx, "authorize", "caller", string(p.Kind), "authError", p.AuthError)
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: p.ToContext()}, nil
	}
}

// headerValue reads a header case-insensitively (HTTP API lower-cases names, but events
// written by hand may not).
func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
