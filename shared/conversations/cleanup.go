package conversations

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/streambatch"
)

// EndCleanup is the end-cleanup function's handler: End commits only the flip of the status
// (and conversation.ended), so the end answers after one write; the table's stream brings
// each conversation.ended here, and the cleanup revokes the invitations the end left pending
// (their PINs and links deleted) and deletes the visitors' sessions (store.FinishEnd). Nothing
// waits for it to be safe — every change and every access check reads the conversation's
// status — it makes the stored invitations and sessions say what the status already decides.
//
// Whoever an agent offer it revokes was addressed to is told (invitation.taken, reason
// conversation_ended, pushed and not kept), so that it leaves their inbox: they were never in
// the conversation, and conversation.ended does not reach them.
type EndCleanup struct {
	Store interface {
		FinishEnd(ctx context.Context, conversationID string, at time.Time) error
	}
	Log *slog.Logger
}

// endsAtOnce bounds how many ends of one batch are cleaned up in parallel.
const endsAtOnce = 8

// HandleStream cleans up after each conversation.ended of the batch, in parallel. A cleanup
// that fails reports its record as a batch item failure, so Lambda retries from there (the
// cleanups of the records after it run again; each step is idempotent); when Lambda gives up,
// the retention sweep finishes it. A record that cannot be decoded is logged and skipped.
func (c EndCleanup) HandleStream(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var jobs []streambatch.Job
	for _, r := range ev.Records {
		e, ok := c.ended(ctx, r)
		if !ok {
			continue
		}
		jobs = append(jobs, streambatch.Job{SequenceNumber: r.Change.SequenceNumber, Run: func() error {
			err := c.Store.FinishEnd(ctx, e.ConversationID, e.At)
			if err != nil {
				c.Log.WarnContext(ctx, "end_cleanup", "outcome", "failed", "conversationId", e.ConversationID, "cause", err.Error())
			}
			return err
		}})
	}
	return streambatch.Run(jobs, endsAtOnce), nil
}

// ended is the record's conversation.ended, if it is one (the event source's filter passes
// only those, but a handler does not rely on its trigger's settings).
func (c EndCleanup) ended(ctx context.Context, r events.DynamoDBEventRecord) (conversation.Event, bool) {
	if r.EventName != string(events.DynamoDBOperationTypeInsert) {
		return conversation.Event{}, false
	}
	e, ok, err := store.StreamEvent(r.Change.NewImage)
	if err != nil {
		c.Log.ErrorContext(ctx, "end_cleanup", "outcome", "undecodable_record", "sequenceNumber", r.Change.SequenceNumber, "cause", err.Error())
		return conversation.Event{}, false
	}
	return e.Event, ok && e.Seq > 0 && e.Type == conversation.EventConversationEnded
}
