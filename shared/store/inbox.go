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

	"github.com/invite-forward/invite-forward/shared/invitation"
)

// AgentInbox and TeamInbox name the inboxes an agent reads: their own and each team's.
func AgentInbox(agentID string) string {
	return inboxKey(invitation.Invitation{TargetAgentID: agentID})
}

// TeamInbox is a team's inbox (see AgentInbox).
func TeamInbox(teamID string) string { return inboxKey(invitation.Invitation{TargetTeamID: teamID}) }

// InboxOffer is an offer as read from an inbox, with its position there: the inbox's sort
// key (creation time, then id), so a reader can go on after it. For a target queued in a
// fallback chain it is read from the chain's slot in their inbox, a copy of the offer
// (chain.go): the reader shows it only when the chain, as of now, stands at that inbox.
type InboxOffer struct {
	invitation.Offer
	Inbox    string
	Position string
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
		out = append(out, InboxOffer{Offer: it.domain(), Inbox: inbox, Position: it.GSI2SK})
	}
	return out, nil
}
