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
	EventMessageCreated      = "message.created"
	EventParticipantJoined   = "participant.joined"
	EventParticipantLeft     = "participant.left"
	EventConversationStarted = "conversation.started"
	EventConversationEnded   = "conversation.ended"
	// EndedUnanswered is the reason of a conversation.ended nobody ended: no agent took it
	// in time.
	EndedUnanswered             = "unanswered"
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

// Event is one entry of a conversation's history. Seq numbers the conversation's events 1, 2,
// 3… in the order they were committed, so history pages with ?after=<seq>. PrevSeq is the
// previous event the reader may see (agents see every event, visitors only those for
// everyone), so a client that got pushes n and then m with prevSeq ≠ n knows exactly what it
// missed.
type Event struct {
	Seq            int64          `json:"seq"`
	PrevSeq        int64          `json:"prevSeq"`
	ConversationID string         `json:"conversationId"`
	Type           string         `json:"type"`
	At             time.Time      `json:"at"`
	Audience       Audience       `json:"audience"`
	ActorID        string         `json:"actorId,omitempty"` // participant id, or agent id for agents not in the conversation
	Data           map[string]any `json:"data,omitempty"`
	// PrevVisitorSeq is the previous event visitors may see, fixed when the event is written.
	PrevVisitorSeq int64 `json:"-"`
}

// For returns the event as a reader of the given kind sees it: with the prevSeq of their
// stream.
// A push-only event (invitation.taken) has no seq and no prevSeq.
func (e Event) For(kind ParticipantKind) Event {
	switch {
	case e.Seq == 0:
		e.PrevSeq = 0
	case kind == KindAgent:
		e.PrevSeq = e.Seq - 1
	default:
		e.PrevSeq = e.PrevVisitorSeq
	}
	return e
}

// VisibleTo reports whether a participant of the given kind may see the event.
func (e Event) VisibleTo(kind ParticipantKind) bool {
	return e.Audience == AudienceEveryone || kind == KindAgent
}
