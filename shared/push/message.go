package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
)

// Management is what push needs of API Gateway's @connections API. The SDK's
// *apigatewaymanagementapi.Client satisfies it, pointed at a deployed stage or at the local
// gateway.
type Management interface {
	PostToConnection(ctx context.Context, in *apigatewaymanagementapi.PostToConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error)
	DeleteConnection(ctx context.Context, in *apigatewaymanagementapi.DeleteConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error)
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

// EventMessage is the push of one history event, as a recipient of the given kind sees it.
// Data travels as the event has it, and is never nil, so clients can always read message.data.
func EventMessage(e conversation.Event, kind conversation.ParticipantKind) Message {
	e = e.For(kind)
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	return Message{
		Type: e.Type, ConversationID: e.ConversationID, Seq: e.Seq, PrevSeq: e.PrevSeq, At: e.At,
		ActorID: e.ActorID, Data: data,
	}
}

// ErrorMessage tells a client that something it sent was refused, with a stable code.
func ErrorMessage(code string) Message {
	return Message{Type: TypeError, Data: map[string]any{"code": code}}
}

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
	return post(ctx, mgmt, connectionID, payload, timeout)
}

func post(ctx context.Context, mgmt Management, connectionID string, payload []byte, timeout time.Duration) error {
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
