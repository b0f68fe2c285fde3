// Package wsdefault answers what a client sends on its WebSocket (the $default route):
// {"action":"ping"} gets {"type":"pong"}, anything else {"type":"error","data":{"code":
// "unknown_action"}}. Answers go back through the @connections API, like pushes. It needs no
// storage, and imports none: its function links no DynamoDB, whose package initialisation
// alone would make its cold start a fifth slower.
package wsdefault

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/wsapi"
)

// Client → server actions on the WebSocket.
const (
	actionPing        = "ping"
	errUnknownAction  = "unknown_action"
	maxInboundMessage = 4 << 10
)

// Handler answers each client message on its connection. Without an @connections client
// there is no way to answer: it refuses to start.
func Handler(mgmt wsapi.Management, log *slog.Logger) func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	if mgmt == nil {
		panic("config: environment variable " + wsapi.EndpointVar + " is required")
	}
	return func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		rc := req.RequestContext
		reply, outcome := answer(req.Body)
		level, args := slog.LevelInfo, []any{"action", "ws_default", "requestId", rc.RequestID, "connectionId", rc.ConnectionID}
		// A client gone meanwhile needs no answer; any other failure is worth a warning, but
		// the message was handled either way (API Gateway would not resend it).
		if err := wsapi.Send(ctx, mgmt, rc.ConnectionID, reply, wsapi.SendTimeout); err != nil && !wsapi.IsGone(err) {
			level, outcome, args = slog.LevelWarn, "reply_failed", append(args, "cause", err.Error())
		}
		log.Log(ctx, level, "request", append(args, "outcome", outcome)...)
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
}

// answer decides the reply to a client message, and the outcome to log (never the body).
func answer(body string) (wsapi.Message, string) {
	var msg struct {
		Action string `json:"action"`
	}
	if len(body) <= maxInboundMessage && json.Unmarshal([]byte(body), &msg) == nil && msg.Action == actionPing {
		return wsapi.Message{Type: wsapi.TypePong}, "pong"
	}
	return wsapi.ErrorMessage(errUnknownAction), errUnknownAction
}
