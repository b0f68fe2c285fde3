package conversations

import (
	"context"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Store is what the conversation actions need of storage.
type Store interface {
	CreateConversation(ctx context.Context, n store.NewConversation) error
	Conversation(ctx context.Context, id string) (conversation.Conversation, error)
	Participant(ctx context.Context, conversationID, participantID string) (conversation.Participant, error)
	Participants(ctx context.Context, conversationID string) ([]conversation.Participant, error)
	Session(ctx context.Context, hash string) (store.Session, error)
	Events(ctx context.Context, conversationID, after string, limit int, viewer conversation.ParticipantKind) (store.EventPage, error)
	PostMessage(ctx context.Context, e conversation.Event, participantID string) error
	Leave(ctx context.Context, p conversation.Participant, wasAssignee bool, events []conversation.Event) error
	EndConversation(ctx context.Context, conv conversation.Conversation, visitors []conversation.Participant, events []conversation.Event, revoke ...invitation.Invitation) error
	// Invitations, which ending a conversation revokes.
	ConversationInvitations(ctx context.Context, conversationID string) ([]invitation.Invitation, error)
	Invitation(ctx context.Context, id string) (invitation.Invitation, error)
}
