package handlers

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/setup"
)

// PushEvents is the push function: the table's stream (DynamoDB event source, only new events
// and outbox items) in, pushes to WebSocket connections out (shared/push). Failed lookups
// come back as batch item failures, so Lambda retries from them; after its retries, the
// batch's description goes to the dead-letter queue (README "Operating it").
func PushEvents(d *setup.Deps) func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return d.Push().HandleStream
}
