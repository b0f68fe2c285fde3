package handlers

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// PushEvents is the push function: the table's stream (DynamoDB event source, only new events
// and outbox items) in, pushes to WebSocket connections out (shared/push). Failed lookups
// come back as batch item failures, so Lambda retries from them; after its retries, the
// batch's description goes to the dead-letter queue (README "Operating it").
func PushEvents(d *setup.Deps) func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return d.Push().HandleStream
}

// EndCleanup is the end-cleanup function: the table's stream (only conversation.ended) in,
// the end's bookkeeping done (conversations.EndCleanup). A cleanup that fails comes back as a
// batch item failure, so Lambda retries from it; after its retries the retention sweep, which
// meets every ended conversation within a minute, finishes it.
func EndCleanup(d *setup.Deps) func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return conversations.EndCleanup{Store: d.Store(), Log: d.Log}.HandleStream
}
