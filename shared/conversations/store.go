package conversations

import (
	"context"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Store is what the conversation actions need of storage.
type Store interface {
	CreateConversation(ctx context.Context, n store.NewConversation) error
	Conversation(ctx context.Context, id string) (conversation.Conversation, error)
	Participant(ctx context.Context, conversationID, participantID string) (conversation.Participant, error)
	Participants(ctx context.Context, conversationID string) ([]conversation.Participant, error)
	// Standing is what an access check needs, in one round trip.
	Standing(ctx context.Context, conversationID, participantID, sessionHash string) (store.Standing, error)
	Events(ctx context.Context, conversationID string, after int64, limit int, viewer conversation.ParticipantKind) (store.EventPage, error)
	PostMessage(ctx context.Context, e conversation.Event, participantID string) (conversation.Event, error)
	Leave(ctx context.Context, p conversation.Participant, wasAssignee bool, events []conversation.Event) error
	EndConversation(ctx context.Context, conv conversation.Conversation, ended *conversation.Event) error
	// The lobby (SPEC §9.3).
	AdmitParticipant(ctx context.Context, p conversation.Participant, events []conversation.Event) error
	RefuseParticipant(ctx context.Context, p conversation.Participant, timedOut bool, events []conversation.Event) error
	// Retention (store/retention.go): an ended conversation's items stamped with their expiry.
	Retain(ctx context.Context, conversationID string, at time.Time) (bool, error)
	// Now is the store's clock, which its conditions compare with: a wait that has run out
	// is decided by the same clock at read and at write.
	Now() time.Time
}
