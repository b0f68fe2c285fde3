package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Leave removes a participant, revokes a visitor's session and, if the participant was the
// assignee, leaves the conversation unassigned — all at once, with the events that tell it.
// It fails on "participant" if they had already left (a concurrent leave or forward).
func (s *Store) Leave(ctx context.Context, p conversation.Participant, wasAssignee bool, events []conversation.Event) error {
	t := s.newTx().del("participant", convPK(p.ConversationID), partSK(p.ID), cond{expr: "attribute_exists(pk)"})
	if p.SessionHash != "" {
		t.del("session", sessionPK(p.SessionHash), sessionSK, cond{})
	}
	if wasAssignee {
		t.update("assignee", convPK(p.ConversationID), metaSK, "REMOVE assignee", cond{
			expr:   "assignee = :agent",
			values: map[string]types.AttributeValue{":agent": str(p.AgentID)},
		})
	}
	for _, e := range events {
		t.put("event", toEventItem(e), notExists)
	}
	return t.commit(ctx)
}

// EndConversation marks the conversation ended and revokes every visitor session and the
// given pending invitations (deleting their PINs and join tokens), with the events. It fails on
// "open" if the conversation had already ended, and on "invitation" if one of the invitations
// changed since it was read (the caller reads them again).
func (s *Store) EndConversation(ctx context.Context, conv conversation.Conversation, visitors []conversation.Participant, events []conversation.Event, revoke ...invitation.Invitation) error {
	t := s.newTx().update("open", convPK(conv.ID), metaSK, "SET #status = :ended, endedAt = :at", cond{
		expr:   "attribute_exists(pk) AND #status = :open",
		names:  map[string]string{"#status": "status"},
		values: map[string]types.AttributeValue{":open": str(string(conversation.StatusOpen)), ":ended": str(string(conversation.StatusEnded)), ":at": num(conv.EndedAt.UnixMilli())},
	})
	for _, v := range visitors {
		if v.SessionHash != "" {
			t.del("session", sessionPK(v.SessionHash), sessionSK, cond{})
		}
	}
	t.revokeAll(revoke, "", reasonConversationEnded, conv.EndedAt)
	for _, e := range events {
		t.put("event", toEventItem(e), notExists)
	}
	return t.commit(ctx)
}

// AddParticipant puts a participant (and a visitor's session) into an open conversation with
// the events that announce it. It fails on "open" for an ended conversation and on
// "participant" if they are already in.
func (s *Store) AddParticipant(ctx context.Context, p conversation.Participant, session *Session, events []conversation.Event) error {
	t := s.newTx().
		check("open", convPK(p.ConversationID), metaSK, condOpen()).
		put("participant", toParticipantItem(p), notExists)
	if session != nil {
		t.put("session", toSessionItem(*session), notExists)
	}
	for _, e := range events {
		t.put("event", toEventItem(e), notExists)
	}
	return t.commit(ctx)
}
