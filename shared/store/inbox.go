package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// AgentInbox and TeamInbox name the inboxes an agent reads: their own and each team's.
func AgentInbox(agentID string) string {
	return inboxKey(invitation.Invitation{TargetAgentID: agentID})
}

// TeamInbox is a team's inbox (see AgentInbox).
func TeamInbox(teamID string) string { return inboxKey(invitation.Invitation{TargetTeamID: teamID}) }

// InboxOffer is an offer as read from an inbox, with its position there: the inbox's sort
// key (creation time, then id), so a reader can go on after it.
type InboxOffer struct {
	invitation.Offer
	Inbox    string
	Position string
	// Slot: the inbox holds only a pointer to the offer, for a target queued in its chain
	// (chain.go); Offer has only its id and conversation, and the reader reads it with Offers.
	Slot bool
}

// InboxPage reads, from each inbox, up to limit offers newest first, after the inbox's
// position in from ("" for the newest). One Query per inbox, all at once: a page costs the
// same whatever the inboxes hold.
func (s *Store) InboxPage(ctx context.Context, from map[string]string, limit int) ([]InboxOffer, error) {
	var (
		mu   sync.Mutex
		out  []InboxOffer
		errs []error
		wg   sync.WaitGroup
	)
	for inbox, after := range from {
		wg.Go(func() {
			got, err := s.inboxQuery(ctx, inbox, after, limit)
			mu.Lock()
			defer mu.Unlock()
			out, errs = append(out, got...), append(errs, err)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func (s *Store) inboxQuery(ctx context.Context, inbox, after string, limit int) ([]InboxOffer, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(IndexGSI2),
		KeyConditionExpression:    aws.String("gsi2pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(inbox)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	}
	if after != "" {
		in.KeyConditionExpression = aws.String("gsi2pk = :pk AND gsi2sk < :after")
		in.ExpressionAttributeValues[":after"] = str(after)
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("query inbox %s: %w", inbox, err)
	}
	out := make([]InboxOffer, 0, len(res.Items))
	for _, m := range res.Items {
		var it offerItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return nil, fmt.Errorf("decode offer: %w", err)
		}
		if it.Type == slotType {
			out = append(out, slotOffer(m, inbox, it.GSI2SK))
			continue
		}
		out = append(out, InboxOffer{Offer: it.domain(), Inbox: inbox, Position: it.GSI2SK})
	}
	return out, nil
}

// Conversations reads the conversations of ids in one BatchGetItem (strongly consistent);
// ids with no conversation are left out. At most 100 ids, BatchGetItem's limit.
func (s *Store) Conversations(ctx context.Context, ids []string) (map[string]conversation.Conversation, error) {
	out := map[string]conversation.Conversation{}
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(convPK(id), metaSK)
	}
	err := s.batchGet(ctx, keys, func(m map[string]types.AttributeValue) error {
		var it conversationItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return fmt.Errorf("decode conversation: %w", err)
		}
		c := it.domain()
		out[c.ID] = c
		return nil
	})
	return out, err
}

// batchGet reads up to 100 keys in one BatchGetItem (strongly consistent), handing each item
// found to each.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, each func(map[string]types.AttributeValue) error) error {
	if len(keys) == 0 {
		return nil
	}
	if len(keys) > 100 {
		return fmt.Errorf("store: %d keys in one batch, at most 100", len(keys))
	}
	request := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	// Keys the table could not serve at once come back as unprocessed; a few rounds serve them.
	for round := 0; len(request) > 0; round++ {
		if round == 5 {
			return errors.New("store: batch read: keys still unprocessed after 5 rounds")
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
		if err != nil {
			return fmt.Errorf("batch read: %w", err)
		}
		for _, m := range res.Responses[s.table] {
			if err := each(m); err != nil {
				return err
			}
		}
		request = res.UnprocessedKeys
	}
	return nil
}
