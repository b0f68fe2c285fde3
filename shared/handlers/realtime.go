package handlers

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/httpapi"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// CreateConnectTicket: POST /connect-ticket → 201 {ticket, expiresAt}.
//
// Not idempotent by Idempotency-Key on purpose: replaying would need the response, and so
// the ticket, stored in plain text; a retry simply gets another ticket, and an unused one
// expires within seconds.
func CreateConnectTicket(d *setup.Deps) httpapi.Handler {
	svc := d.Realtime()
	return httpapi.Handle("create_connect_ticket", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		t, err := svc.CreateTicket(ctx, r.Principal)
		if err != nil {
			return httpapi.Response{}, err
		}
		r.ConversationID = r.Principal.ConversationID
		return httpapi.Created(t), nil
	}, httpapi.NoBody())
}

// WsAuthorizer is the WebSocket API's $connect authorizer: it redeems the ticket in the
// query string (?ticket=…) and allows the connection with the ticket's principal as context,
// which API Gateway hands to every route of the connection as requestContext.authorizer.
// An unknown, used or expired ticket gets a Deny policy (API Gateway answers 403); only a
// failure of ours is an error (500). The ticket itself is never logged.
func WsAuthorizer(d *setup.Deps) func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	svc := d.Realtime()
	return func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		p, err := svc.RedeemTicket(ctx, req.QueryStringParameters["ticket"])
		if err != nil {
			e := apperror.As(err)
			if e.Kind == apperror.KindInternal {
				wsLog(ctx, d.Log, slog.LevelError, "ws_authorize", req.RequestContext.RequestID, "", e.Code, "cause", errorCause(e))
				return events.APIGatewayCustomAuthorizerResponse{}, errors.New("authorizer failed")
			}
			wsLog(ctx, d.Log, slog.LevelInfo, "ws_authorize", req.RequestContext.RequestID, "", e.Code)
			return policy("anonymous", "Deny", req.MethodArn, nil), nil
		}
		wsLog(ctx, d.Log, slog.LevelInfo, "ws_authorize", req.RequestContext.RequestID, "", "ok", "caller", string(p.Kind))
		id := p.AgentID
		if id == "" {
			id = p.ParticipantID
		}
		// Every context value is a string, as API Gateway requires.
		return policy(id, "Allow", req.MethodArn, p.ToContext()), nil
	}
}

// policy is an authorizer answer for the $connect route's method ARN.
func policy(principalID, effect, methodArn string, context map[string]any) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principalID,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{methodArn},
			}},
		},
		Context: context,
	}
}

// WsHandler is the signature of the WebSocket route functions.
type WsHandler func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error)

// WsConnect ($connect) records the connection under the principal the authorizer put in the
// request context. Any answer but 2xx refuses the connection.
func WsConnect(d *setup.Deps) WsHandler {
	svc := d.Realtime()
	return func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		rc := req.RequestContext
		p := principalOf(rc.Authorizer)
		if err := svc.Connect(ctx, rc.ConnectionID, p); err != nil {
			return wsFailure(ctx, d.Log, "ws_connect", rc, err), nil
		}
		wsLog(ctx, d.Log, slog.LevelInfo, "ws_connect", rc.RequestID, rc.ConnectionID, "ok", "caller", string(p.Kind))
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
}

// WsDisconnect ($disconnect) forgets the connection. API Gateway delivers it on a best-effort
// basis, which is why connections also carry a TTL and pushes clean up on GoneException.
func WsDisconnect(d *setup.Deps) WsHandler {
	svc := d.Realtime()
	return func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		rc := req.RequestContext
		if err := svc.Disconnect(ctx, rc.ConnectionID); err != nil {
			return wsFailure(ctx, d.Log, "ws_disconnect", rc, err), nil
		}
		wsLog(ctx, d.Log, slog.LevelInfo, "ws_disconnect", rc.RequestID, rc.ConnectionID, "ok")
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
}

// principalOf reads the principal the authorizer put in the context. Decoded from a Lambda
// event it is a map[string]any; an in-process caller may hand over map[string]string.
func principalOf(authorizer any) auth.Principal {
	switch m := authorizer.(type) {
	case map[string]any:
		return auth.FromContext(m)
	case map[string]string:
		c := make(map[string]any, len(m))
		for k, v := range m {
			c[k] = v
		}
		return auth.FromContext(c)
	}
	return auth.Principal{Kind: auth.Anonymous}
}

func wsFailure(ctx context.Context, log *slog.Logger, action string, rc events.APIGatewayWebsocketProxyRequestContext, err error) events.APIGatewayProxyResponse {
	e := apperror.As(err)
	level := slog.LevelInfo
	var extra []any
	if e.Kind == apperror.KindInternal {
		level = slog.LevelError
		extra = []any{"cause", errorCause(e)}
	}
	wsLog(ctx, log, level, action, rc.RequestID, rc.ConnectionID, e.Code, extra...)
	return events.APIGatewayProxyResponse{StatusCode: httpapi.Status(e.Kind)}
}

// wsLog writes the one line per WebSocket request, like httpapi does for HTTP.
func wsLog(ctx context.Context, log *slog.Logger, level slog.Level, action, requestID, connectionID, outcome string, extra ...any) {
	args := append([]any{"action", action, "requestId", requestID, "outcome", outcome}, extra...)
	if connectionID != "" {
		args = append(args, "connectionId", connectionID)
	}
	log.Log(ctx, level, "request", args...)
}

func errorCause(e *apperror.Error) string {
	if e.Cause != nil {
		return e.Cause.Error()
	}
	return e.Message
}
