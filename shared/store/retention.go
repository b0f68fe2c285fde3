package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
)

// Retention (RetentionDays): an ended conversation and everything under it — conversation,
// head, participants (waiting ones included), history events, invitations and offers — expires
// by DynamoDB TTL a fixed time after its end, all items at the same second (end + retention).
// An open conversation carries no expiry on any of them, however long it stays open.
//
// Why the expiry is stamped at the end, and not when items are written: TTL deletes item by
// item, so each item needs the expiry, and the expiry depends on the end, unknown while the
// conversation is open. An expiry written with each event and pushed forward while the
// conversation stays open would rewrite every event of a long conversation again and again, and
// one missed push would delete the history of an open conversation. Stamped after the end, each
// item is written exactly once more — what deleting it would cost, while TTL's own deletions
// are free — and nobody pays anything before the end:
//
//   - the end's transaction stamps the items it updates anyway, the conversation and its head
//     (no extra item, no extra call), and puts the head in the due index
//     (due.go: gsi3 DUE#<shard> / <ended ms>#<conversationId>): a durable to-do that a crash
//     cannot lose;
//   - the scheduled sweep (every minute) finds it there and, with Retain, first finishes the
//     end's cleanup (FinishEnd: pending invitations revoked — which deletes the slots of their
//     fallback chains — and sessions deleted), then stamps the participants and invitations
//     (UpdateItem each, parallel: a few items), and the events a page at a time (BatchWriteItem,
//     25 per call: events are put once and never changed, so writing back the item as read
//     is exact), recording on the head how far it got, so a sweep that runs out of time
//     resumes there; last it takes the head out of the index.
//
// Cost: per ended conversation 1 WCU per event, 1 per participant, 2 per invitation (its copy
// in gsi1), 1 to take the head out of the index, 1 per page of 500 events of progress, and the
// reads of one consistent Query per page; ending itself costs no extra call.
//
// Races: the end is final — every write of an event, a participant or an invitation requires
// the head open (history.go), and the sweep reads consistently after the end committed, so it
// meets every item, and no post that raced the end can land unstamped after it. What may still
// change after the end (an email's delivery, a waiting invitee refused by the lobby sweep, the
// end's own cleanup) updates or deletes, never replaces an item, so the stamp stays; the
// stamps are conditional on the item existing, so a stamp never recreates one deleted
// meanwhile. Every step is idempotent: two sweeps at once, or one crashing half-way, leave the
// same table.
//
// Reads: TTL deletes late (up to days). Every item of the conversation carries the same
// expiry and every read treats an item past its expiresAt as gone (getItem, liveItem), so from
// that second the conversation is 404 (conversation_not_found) for everyone at once, its
// history, participants and invitations read as empty, its offers and invitations unknown —
// whatever TTL has or has not deleted yet. Idempotency records live 24 h, less than the
// shortest retention (1 day), so no replay answers for a conversation that is gone; history
// cursors (after=<seq>) lead only to a 404.
//
// Not stamped, because they hold nothing of the conversation or already expire sooner: live
// PINs, join tokens and sessions (deleted by the end, TTL besides), outbox items (OutboxTTL),
// connections and tickets (TTL), and the SES message-id items (delivery.go: two ids, no
// content, 90 days) that lead to an invitation which by then reads as gone.

// DefaultRetention is how long an ended conversation is kept unless the deployment says
// otherwise (the RetentionDays parameter; the local stack and tests use this).
const DefaultRetention = 90 * 24 * time.Hour

// WithRetention returns a copy of the store that keeps ended conversations for d.
func (s *Store) WithRetention(d time.Duration) *Store {
	c := *s
	c.retention = d
	return &c
}

// retention is what an end writes on its conversation's head: the expiry of every item of
// the conversation, and the head's place in the due index until the sweep has stamped them.
type retention struct {
	expiresAt  int64
	due, dueAt string
}

func (s *Store) retentionOf(conv conversation.Conversation) retention {
	return retention{
		expiresAt: conv.EndedAt.Add(s.retention).Unix(),
		due:       dueShard(conv.ID),
		dueAt:     sortKeyTime(conv.EndedAt) + "#" + conv.ID,
	}
}

// headClauses are the head update's SET clauses of an end.
func (r retention) headClauses(values map[string]types.AttributeValue) []string {
	values[":expiresAt"], values[":retain"], values[":retainAt"] = num(r.expiresAt), str(r.due), str(r.dueAt)
	return []string{"expiresAt = :expiresAt", "gsi3pk = :retain", "gsi3sk = :retainAt"}
}

// Retention steps: events stamped per page (progress is recorded on the head between pages),
// writes in flight at once, and the time a step leaves before the caller's deadline.
const (
	retainPage          = 500
	retainWriters       = 8
	defaultRetainMargin = 2 * time.Second
	batchMax            = 25 // DynamoDB's limit of a BatchWriteItem
)

// Retain finishes the end of an ended conversation and stamps every item under it with the
// expiry its end set (see above), then takes it out of the due index. It reports false when
// ctx's deadline came near first: what was stamped stays stamped, and the next sweep goes on
// from there. A conversation that is open, already done, or past its retention is left alone.
func (s *Store) Retain(ctx context.Context, conversationID string, at time.Time) (bool, error) {
	head, err := s.head(ctx, conversationID)
	switch {
	case IsNotFound(err):
		return true, nil
	case err != nil:
		return false, err
	case head.Status == string(conversation.StatusOpen) || head.GSI3PK == "":
		return true, nil
	case head.ExpiresAt == 0: // a hand-made entry of the index (a backfill) without its expiry
		return false, fmt.Errorf("retain %s: the head has no expiresAt", conversationID)
	}
	if err := s.finishEnd(ctx, head, at); err != nil {
		return false, err
	}
	exp := head.ExpiresAt
	if err := s.stampParticipants(ctx, conversationID, exp); err != nil {
		return false, err
	}
	stamped := map[string]bool{}
	invs, err := s.ConversationInvitations(ctx, conversationID)
	if err != nil {
		return false, err
	}
	ids := make([]string, 0, len(invs))
	for _, inv := range invs {
		ids = append(ids, inv.ID)
	}
	if err := s.stampInvitations(ctx, ids, exp, stamped); err != nil {
		return false, err
	}
	done, err := s.stampEvents(ctx, conversationID, head.RetainedThrough, head.Seq, exp, stamped)
	if !done || err != nil {
		return false, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(convPK(conversationID), headSK),
		UpdateExpression:    aws.String("REMOVE gsi3pk, gsi3sk, retainedThrough"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	if err = mapCondition(err); err != nil && !errors.Is(err, ErrConditionFailed) {
		return false, fmt.Errorf("retain %s: %w", conversationID, err)
	}
	return true, nil
}

// stampEvents stamps the events after from up to to, a page at a time, and the invitations
// they name that were not stamped yet (the index Retain listed them from lags; history names
// every invitation). Between pages it records its progress on the head.
func (s *Store) stampEvents(ctx context.Context, conversationID string, from, to, exp int64, stamped map[string]bool) (bool, error) {
	for from < to {
		if s.nearDeadline(ctx) {
			return false, nil
		}
		page, last, err := s.eventPage(ctx, conversationID, from, to)
		if err != nil || len(page) == 0 {
			return err == nil, err
		}
		if err := s.stampInvitations(ctx, invitationsNamed(page), exp, stamped); err != nil {
			return false, err
		}
		if err := s.putAll(ctx, withExpiry(page, exp)); err != nil {
			return false, err
		}
		if from = last; from < to {
			if err := s.recordRetained(ctx, conversationID, from); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

func (s *Store) nearDeadline(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ctx.Err() != nil || (ok && time.Until(deadline) < s.retainMargin)
}

// eventPage reads up to retainPage events after from up to to, as stored, and the last seq read.
func (s *Store) eventPage(ctx context.Context, conversationID string, from, to int64) ([]map[string]types.AttributeValue, int64, error) {
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(convPK(conversationID)), ":from": str(eventSK(from + 1)), ":to": str(eventSK(to)),
		},
		ConsistentRead: aws.Bool(true),
		Limit:          aws.Int32(retainPage),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("query events of %s: %w", conversationID, err)
	}
	if len(res.Items) == 0 {
		return nil, from, nil
	}
	var last struct {
		Seq int64 `dynamodbav:"seq"`
	}
	if err := attributevalue.UnmarshalMap(res.Items[len(res.Items)-1], &last); err != nil {
		return nil, 0, fmt.Errorf("decode event: %w", err)
	}
	return res.Items, last.Seq, nil
}

// invitationsNamed are the invitations events name (data.invitationId).
func invitationsNamed(events []map[string]types.AttributeValue) []string {
	var ids []string
	for _, m := range events {
		data, _ := m["data"].(*types.AttributeValueMemberM)
		if data == nil {
			continue
		}
		if id, ok := data.Value["invitationId"].(*types.AttributeValueMemberS); ok {
			ids = append(ids, id.Value)
		}
	}
	return ids
}

func withExpiry(items []map[string]types.AttributeValue, exp int64) []map[string]types.AttributeValue {
	out := make([]map[string]types.AttributeValue, len(items))
	for i, m := range items {
		out[i] = maps.Clone(m)
		out[i]["expiresAt"] = num(exp)
	}
	return out
}

// recordRetained notes on the head how far the events are stamped.
func (s *Store) recordRetained(ctx context.Context, conversationID string, through int64) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(convPK(conversationID), headSK),
		UpdateExpression:          aws.String("SET retainedThrough = :through"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":through": num(through)},
	})
	if err = mapCondition(err); err != nil && !errors.Is(err, ErrConditionFailed) {
		return fmt.Errorf("record retention of %s: %w", conversationID, err)
	}
	return nil
}

// putAll writes items back (BatchWriteItem, batchMax a call, retainWriters calls at once),
// sending again what DynamoDB left unprocessed.
func (s *Store) putAll(ctx context.Context, items []map[string]types.AttributeValue) error {
	batches := (len(items) + batchMax - 1) / batchMax
	return forEachBounded(ctx, batches, retainWriters, func(ctx context.Context, b int) error {
		var reqs []types.WriteRequest
		for _, m := range items[b*batchMax : min((b+1)*batchMax, len(items))] {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: m}})
		}
		for attempt := 0; len(reqs) > 0; attempt++ {
			if attempt == maxBatchAttempts {
				return fmt.Errorf("store: %d writes left unprocessed", len(reqs))
			}
			if attempt > 0 {
				time.Sleep(time.Duration(attempt*attempt) * 20 * time.Millisecond)
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: reqs}})
			if err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
			reqs = out.UnprocessedItems[s.table]
		}
		return nil
	})
}

// maxBatchAttempts bounds the calls that retry what a BatchWriteItem left unprocessed
// (throttling): the sweep fails the step, and the next one starts it again.
const maxBatchAttempts = 6

// stampParticipants stamps the conversation's participants, waiting ones included.
func (s *Store) stampParticipants(ctx context.Context, conversationID string, exp int64) error {
	var sks []string
	err := s.queryPrefix(ctx, convPK(conversationID), "PART#", func(m map[string]types.AttributeValue) error {
		if sk := stringAttr(m, "sk"); sk != "" {
			sks = append(sks, sk)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return forEachBounded(ctx, len(sks), retainWriters, func(ctx context.Context, i int) error {
		return s.stamp(ctx, convPK(conversationID), sks[i], exp)
	})
}

// stampInvitations stamps the invitations not stamped yet, and notes them in stamped. The
// end's cleanup ran first, so none is pending and none has a fallback slot left (chain.go).
func (s *Store) stampInvitations(ctx context.Context, ids []string, exp int64, stamped map[string]bool) error {
	var todo []string
	for _, id := range ids {
		if !stamped[id] {
			stamped[id] = true
			todo = append(todo, id)
		}
	}
	return forEachBounded(ctx, len(todo), retainWriters, func(ctx context.Context, i int) error {
		return s.stamp(ctx, invitationPK(todo[i]), invitationSK, exp)
	})
}

// stamp sets an item's expiry, if the item is still there.
func (s *Store) stamp(ctx context.Context, pk, sk string, exp int64) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(pk, sk),
		UpdateExpression:          aws.String("SET expiresAt = :exp"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":exp": num(exp)},
	})
	if err = mapCondition(err); err != nil && !errors.Is(err, ErrConditionFailed) {
		return fmt.Errorf("stamp %s/%s: %w", pk, sk, err)
	}
	return nil
}
