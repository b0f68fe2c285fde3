package conversation

import "time"

// Audience says who may see an event, in history and in pushes.
type Audience string

const (
	// AudienceEveryone is seen by every participant, visitors included.
	AudienceEveryone Audience = "everyone"
	// AudienceAgents is seen only by agents: forward and invitation messages, PINs, addresses.
	AudienceAgents Audience = "agents"
)

// Event types; the same names are used in history and in WebSocket pushes (SPEC §6).
const (
	EventMessageCreated         = "message.created"
	EventParticipantJoined      = "participant.joined"
	EventParticipantLeft        = "participant.left"
	EventConversationStarted    = "conversation.started"
	EventConversationEnded      = "conversation.ended"
	EventConversationAssigned   = "conversation.assigned"
	EventConversationForwarded  = "conversation.forwarded"
	EventConversationUnassigned = "conversation.unassigned"
	EventInvitationCreated      = "invitation.created"
	EventInvitationAccepted     = "invitation.accepted"
	EventInvitationDeclined     = "invitation.declined"
	EventInvitationRedeemed     = "invitation.redeemed"
	EventInvitationRevoked      = "invitation.revoked"
	EventInvitationExpired      = "invitation.expired"
	EventInvitationTaken        = "invitation.taken"
	EventInvitationFailed       = "invitation.failed"
)

// Event is one entry of a conversation's history. ID sorts by time, so history pages with
// ?after=<id>.
type Event struct {
	ID             string         `json:"eventId"`
	ConversationID string         `json:"conversationId"`
	Type           string         `json:"type"`
	At             time.Time      `json:"at"`
	Audience       Audience       `json:"audience"`
	ActorID        string         `json:"actorId,omitempty"` // participant id, or agent id for agents not in the conversation
	Data           map[string]any `json:"data,omitempty"`
}

// VisibleTo reports whether a participant of the given kind may see the event.
func (e Event) VisibleTo(kind ParticipantKind) bool {
	return e.Audience == AudienceEveryone || kind == KindAgent
}
