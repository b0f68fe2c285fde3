package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Answering is what an agent's answer to an offer needs besides the offer, read in one round
// trip: the conversation as the hand-over rules see it, whether the agent is in the offer's
// team, the agent's participant item and name, and the forwarder's participant item.
type Answering struct {
	State      HandoverState
	StateFound bool
	Member     bool // in the offer's team (team offers only)
	Answerer   conversation.Participant
	AnswerIn   bool   // the answerer is a participant already
	AgentName  string // from the directory; "" when it has none
	Forwarder  conversation.Participant
	ForwardIn  bool // the offer's maker is still a participant
}

// Answering reads, with one consistent BatchGetItem, everything an accept or a decline of the
// offer decides on (#13: one round trip after the offer, instead of five GetItems one after
// another). The conversation's head comes with it for the write (requestscope).
func (s *Store) Answering(ctx context.Context, o invitation.Offer, agentID string) (Answering, error) {
	conv := convPK(o.ConversationID)
	keys := []map[string]types.AttributeValue{
		key(conv, metaSK), key(conv, headSK),
		key(conv, partSK(conversation.AgentParticipantID(agentID))),
		key(agentPK(agentID), profileSK),
	}
	if o.CreatedBy != "" && o.CreatedBy != agentID {
		keys = append(keys, key(conv, partSK(conversation.AgentParticipantID(o.CreatedBy))))
	}
	if o.TargetTeamID != "" {
		keys = append(keys, key(teamPK(o.TargetTeamID), memberSK(agentID)))
	}
	items, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return Answering{}, err
	}
	out := Answering{}
	for _, it := range items {
		if err := out.add(ctx, it, agentID); err != nil {
			return Answering{}, err
		}
	}
	return out, nil
}

// add files one item of the batch by its keys.
func (a *Answering) add(ctx context.Context, item map[string]types.AttributeValue, agentID string) error {
	var keyed struct {
		PK string `dynamodbav:"pk"`
		SK string `dynamodbav:"sk"`
	}
	if err := attributevalue.UnmarshalMap(item, &keyed); err != nil {
		return fmt.Errorf("decode answering: %w", err)
	}
	switch {
	case keyed.SK == metaSK:
		var it conversationItem
		a.StateFound = true
		return decodeInto(item, &it, func() { a.State = HandoverState{Conversation: it.domain(), PendingForward: it.PendingForward} })
	case keyed.SK == headSK:
		var h headItem
		return decodeInto(item, &h, func() { rememberHead(ctx, h) })
	case keyed.SK == profileSK:
		var it agentItem
		return decodeInto(item, &it, func() { a.AgentName = it.Name })
	case strings.HasPrefix(keyed.SK, memberSK("")):
		a.Member = true
		return nil
	case keyed.SK == partSK(conversation.AgentParticipantID(agentID)):
		var it participantItem
		a.AnswerIn = true
		return decodeInto(item, &it, func() { a.Answerer = it.domain(conversationIDOf(it.PK)) })
	default: // the forwarder: the only other key asked for
		var it participantItem
		a.ForwardIn = true
		return decodeInto(item, &it, func() { a.Forwarder = it.domain(conversationIDOf(it.PK)) })
	}
}
