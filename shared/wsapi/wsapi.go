// Package wsapi is the adapter to API Gateway's @connections management API: a message to
// one WebSocket, a socket closed by the server, and whether a socket is gone. It imports no
// storage, so a function that only answers on a socket ($default) links no DynamoDB.
package wsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/invite-forward/invite-forward/shared/faults"
	"github.com/invite-forward/invite-forward/shared/idempotency"
)

// EndpointVar names the environment variable with the @connections endpoint:
// https://{api-id}.execute-api.{region}.amazonaws.com/{stage}, or the local gateway's.
const EndpointVar = "WEBSOCKET_MANAGEMENT_URL"

// Management is what this package needs of the @connections API. The SDK's
// *apigatewaymanagementapi.Client satisfies it, pointed at a deployed stage or at the local
// gateway.
type Management interface {
	PostToConnection(ctx context.Context, in *apigatewaymanagementapi.PostToConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error)
	DeleteConnection(ctx context.Context, in *apigatewaymanagementapi.DeleteConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error)
}

// NewClient returns a client for a WebSocket API's @connections endpoint. In tests and the
// local stack a request's context can fail chosen calls (shared/faults); a keyed action's
// speculation refuses what it cannot hold (idempotency.Middleware).
func NewClient(cfg aws.Config, endpoint string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.APIOptions = append(o.APIOptions, faults.Middleware, idempotency.Middleware)
	})
}

// Message is what a client receives on its WebSocket (SPEC §6). Seq is the event's place in
// the history and PrevSeq the previous event this recipient may see: a client whose last seen
// seq is not PrevSeq missed something and asks GET …/events?after=<the last seq it saw>.
type Message struct {
	Type           string         `json:"type"`
	ConversationID string         `json:"conversationId,omitempty"`
	Seq            int64          `json:"seq,omitempty"`
	PrevSeq        int64          `json:"prevSeq,omitempty"`
	At             time.Time      `json:"at,omitzero"`
	ActorID        string         `json:"actorId,omitempty"`
	Data           map[string]any `json:"data,omitzero"`
}

// Message types that are not conversation events.
const (
	TypePong  = "pong"
	TypeError = "error"
)

// ErrorMessage tells a client that something it sent was refused, with a stable code.
func ErrorMessage(code string) Message {
	return Message{Type: TypeError, Data: map[string]any{"code": code}}
}

// SendTimeout is the default bound of one message to one connection: a hanging connection
// holds its sender for at most this long.
const SendTimeout = 2 * time.Second

// singleAttempt turns off the SDK's retries for one call. A push is a convenience (history is
// the truth), and a retry's backoff would hold a fan-out worker for up to seconds; one
// attempt within its own timeout keeps every send bounded.
func singleAttempt(o *apigatewaymanagementapi.Options) { o.RetryMaxAttempts = 1 }

// Send posts one message to one connection within timeout.
func Send(ctx context.Context, mgmt Management, connectionID string, m Message, timeout time.Duration) error {
	payload, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode push: %w", err)
	}
	return Post(ctx, mgmt, connectionID, payload, timeout)
}

// Post posts an encoded message to one connection within timeout, in one attempt.
func Post(ctx context.Context, mgmt Management, connectionID string, payload []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := mgmt.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(connectionID), Data: payload,
	}, singleAttempt)
	return err
}

// IsGone reports whether API Gateway says the connection no longer exists (410
// GoneException): the client went away without a $disconnect reaching us.
func IsGone(err error) bool {
	var gone *types.GoneException
	return errors.As(err, &gone)
}

// Close closes one connection from the server's side within timeout, in one attempt. A
// connection already gone counts as closed.
func Close(ctx context.Context, mgmt Management, connectionID string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := mgmt.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{
		ConnectionId: aws.String(connectionID),
	}, singleAttempt)
	if IsGone(err) {
		return nil
	}
	return err
}
