package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
)

// Leave removes a participant, revokes a visitor's session and, if the participant was the
// assignee, leaves the conversation unassigned — all at once, with the events that tell it.
// It fails on "participant" if they had already left (a concurrent leave or forward), and on
// "open" once the conversation has ended (nothing follows conversation.ended).
func (s *Store) Leave(ctx context.Context, p conversation.Participant, wasAssignee bool, events []conversation.Event) error {
	t := s.newTx().del("participant", convPK(p.ConversationID), partSK(p.ID), cond{expr: "attribute_exists(pk)"})
	if p.SessionHash != "" {
		t.del("session", sessionPK(p.SessionHash), sessionSK, condSessionOf(p.ConversationID))
	}
	if wasAssignee {
		t.update("assignee", convPK(p.ConversationID), metaSK, "REMOVE assignee", cond{
			expr:   "assignee = :agent",
			values: map[string]types.AttributeValue{":agent": str(p.AgentID)},
		})
	}
	return t.events(events).commit(ctx)
}

// condSessionOf deletes a visitor session only while it belongs to the conversation (and is
// a no-op for one already gone), so a cleanup run twice never fails.
func condSessionOf(conversationID string) cond {
	return cond{
		expr:   "attribute_not_exists(pk) OR conversationId = :conv",
		values: map[string]types.AttributeValue{":conv": str(conversationID)},
	}
}

// EndConversation flips the conversation to ended, with the conversation.ended event (filled
// in place with its seq) as the last of its history: from this write on, every change of the
// conversation fails on its head's status, however many participants and invitations it has.
// The event lists the invitations the end revokes, read from the head in the same attempt as
// the seq the write is conditioned on, so the list is exact. Cleaning up (revoking them,
// ending visitors' sessions) follows in FinishEnd. The conversation item and the head get the
// conversation's expiry (end + retention), and the head waits in the due index for the sweep
// to stamp the rest (retention.go). It fails on "open" if the conversation had already
// ended.
func (s *Store) EndConversation(ctx context.Context, conv conversation.Conversation, ended *conversation.Event) error {
	return s.endConversation(ctx, conv, ended, cond{expr: "attribute_exists(pk) AND #status = :open"})
}

// EndUnanswered ends an open conversation that nobody holds and that still waits on the
// given offer to its team: the offer ran out (SPEC §5, bounded abuse). It fails on "open"
// if an agent took the conversation meanwhile, or it ended, or it waits on another offer.
func (s *Store) EndUnanswered(ctx context.Context, conv conversation.Conversation, offerID string, ended *conversation.Event) error {
	return s.endConversation(ctx, conv, ended, cond{
		expr:   "attribute_exists(pk) AND #status = :open AND attribute_not_exists(assignee) AND pendingForward = :offer",
		values: map[string]types.AttributeValue{":offer": str(offerID)},
	})
}

func (s *Store) endConversation(ctx context.Context, conv conversation.Conversation, ended *conversation.Event, open cond) error {
	events := []conversation.Event{*ended}
	open.names = map[string]string{"#status": "status"}
	if open.values == nil {
		open.values = map[string]types.AttributeValue{}
	}
	open.values[":open"] = str(string(conversation.StatusOpen))
	open.values[":ended"] = str(string(conversation.StatusEnded))
	open.values[":at"] = num(conv.EndedAt.UnixMilli())
	retain := s.retentionOf(conv)
	open.values[":expiresAt"] = num(retain.expiresAt)
	t := s.newTx().update("open", convPK(conv.ID), metaSK, "SET #status = :ended, endedAt = :at, expiresAt = :expiresAt", open).events(events)
	t.history.ends, t.history.retain = true, retain
	t.history.prepare = func(head headItem) {
		data := map[string]any{}
		for k, v := range ended.Data {
			data[k] = v
		}
		data["revokedInvitationIds"] = append([]string{}, head.Pending...)
		events[0].Data = data
	}
	err := t.commit(ctx)
	*ended = events[0]
	return err
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
	t.change(p.ConversationID) // through the head even without events: it stamps the join
	return t.events(events).commit(ctx)
}
