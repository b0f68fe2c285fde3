package handover

import (
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
)

// The conversation events a hand-over writes besides the invitation's own, shaped like the
// ones shared/conversations writes for a start or a leave, so that clients read them alike.

func leftEvent(p conversation.Participant, actorID string, at time.Time) conversation.Event {
	return conversation.Event{
		ConversationID: p.ConversationID, Type: conversation.EventParticipantLeft,
		At: at, Audience: conversation.AudienceEveryone, ActorID: actorID, Data: agentData(p),
	}
}

func unassignedEvent(conversationID string, previous, actorID string, at time.Time) conversation.Event {
	return conversation.Event{
		ConversationID: conversationID, Type: conversation.EventConversationUnassigned,
		At: at, Audience: conversation.AudienceEveryone, ActorID: actorID,
		Data: map[string]any{"previousAssigneeId": previous},
	}
}

func assignedEvent(p conversation.Participant, previous string, at time.Time) conversation.Event {
	data := map[string]any{"agentId": p.AgentID, "displayName": p.DisplayName}
	if previous != "" {
		data["previousAssigneeId"] = previous
	}
	return conversation.Event{
		ConversationID: p.ConversationID, Type: conversation.EventConversationAssigned,
		At: at, Audience: conversation.AudienceEveryone, ActorID: p.ID, Data: data,
	}
}

func agentData(p conversation.Participant) map[string]any {
	d := map[string]any{"participantId": p.ID, "kind": string(p.Kind)}
	if p.AgentID != "" {
		d["agentId"] = p.AgentID
	}
	if p.DisplayName != "" {
		d["displayName"] = p.DisplayName
	}
	return d
}
