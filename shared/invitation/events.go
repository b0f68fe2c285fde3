package invitation

import (
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
)

// EventResent is history's record of a new PIN or a new email for an invitation.
const EventResent = "invitation.resent"

// The history events of invitations. Everything about an invitation — its kind, who it is
// for, the address, the note — is for agents only; a visitor learns only that someone joined.
// A PIN or join token is never in any event: they are stored only as hashes, and history is
// kept as long as the conversation (RetentionDays after its end).

// CreatedEvent tells the agents that an invitation was made.
func CreatedEvent(inv Invitation, actorID string, at time.Time) conversation.Event {
	return agentsEvent(inv, conversation.EventInvitationCreated, actorID, at, nil)
}

// ResentEvent tells the agents that a new PIN or email went out for the invitation.
func ResentEvent(inv Invitation, actorID string, at time.Time) conversation.Event {
	return agentsEvent(inv, EventResent, actorID, at, nil)
}

// RevokedEvent tells the agents that the invitation was revoked, and why when the agent did
// not do it by hand ("conversation_ended").
func RevokedEvent(inv Invitation, actorID, reason string, at time.Time) conversation.Event {
	extra := map[string]any{}
	if reason != "" {
		extra["reason"] = reason
	}
	return agentsEvent(inv, conversation.EventInvitationRevoked, actorID, at, extra)
}

// FailedEvent tells the agents that the invitation email could not be sent.
func FailedEvent(inv Invitation, actorID, reason string, at time.Time) conversation.Event {
	return agentsEvent(inv, conversation.EventInvitationFailed, actorID, at, map[string]any{"reason": reason})
}

// RedeemedEvents are what a redemption writes: a neutral participant.joined for everyone (or,
// for an invitee who waits in the lobby, participant.waiting for those who let them in), and
// for the agents which invitation brought the customer in.
func RedeemedEvents(inv Invitation, p conversation.Participant, at time.Time) []conversation.Event {
	joined := conversation.Event{
		ConversationID: inv.ConversationID, Type: conversation.EventParticipantJoined,
		At: at, Audience: conversation.AudienceEveryone, ActorID: p.ID, Data: participantData(p),
	}
	if !p.Active() {
		joined = conversation.WaitingEvent(p, at)
	}
	redeemed := agentsEvent(inv, conversation.EventInvitationRedeemed, p.ID, at, map[string]any{"participantId": p.ID})
	return []conversation.Event{joined, redeemed}
}

func agentsEvent(inv Invitation, typ, actorID string, at time.Time, extra map[string]any) conversation.Event {
	data := invitationData(inv)
	for k, v := range extra {
		data[k] = v
	}
	return conversation.Event{
		ConversationID: inv.ConversationID, Type: typ, At: at,
		Audience: conversation.AudienceAgents, ActorID: actorID, Data: data,
	}
}

// invitationData describes an invitation for agents: never its secret.
func invitationData(inv Invitation) map[string]any {
	d := map[string]any{"invitationId": inv.ID, "kind": string(inv.Kind), "createdBy": inv.CreatedBy}
	if !inv.ExpiresAt.IsZero() {
		d["expiresAt"] = inv.ExpiresAt.UTC().Format(time.RFC3339)
	}
	set := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	set("email", inv.Email)
	set("name", inv.Name)
	set("note", inv.Note)
	set("admit", string(inv.Admit))
	set("targetAgentId", inv.TargetAgentID)
	set("targetTeamId", inv.TargetTeamID)
	set("message", inv.Message)
	if inv.Chained() {
		d["targets"] = targetsData(inv.Targets)
	}
	return d
}

func participantData(p conversation.Participant) map[string]any {
	d := map[string]any{"participantId": p.ID, "kind": string(p.Kind)}
	if p.DisplayName != "" {
		d["displayName"] = p.DisplayName
	}
	return d
}
