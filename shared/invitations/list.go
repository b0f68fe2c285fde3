package invitations

import (
	"context"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Listed is the answer of GET /conversations/{id}/invitations.
type Listed struct {
	Invitations []invitation.Invitation `json:"invitations"`
}

// List returns every invitation of the conversation, oldest first, with its status as of now
// (expiry is enforced here, not by TTL). Agent participants only: invitations carry addresses,
// notes and messages between agents.
func (s *Service) List(ctx context.Context, p auth.Principal, conversationID string) (Listed, error) {
	acc, err := conversations.AuthorizeAgent(ctx, s.Store, p, conversationID)
	if err != nil {
		return Listed{}, err
	}
	all, err := s.Store.ConversationInvitations(ctx, conversationID)
	if err != nil {
		return Listed{}, apperror.Internal(err)
	}
	return Listed{Invitations: asSeen(all, s.now(), acc.Conversation.Open(), false)}, nil
}

// PendingInvitations implements conversations.PendingInvitations for GET /conversations/{id}:
// the invitations still pending now. Get has already established that the caller is an agent
// participant, and read the conversation (whether it is open decides what is still pending).
func (s *Service) PendingInvitations(ctx context.Context, conv conversation.Conversation) ([]any, error) {
	all, err := s.Store.ConversationInvitations(ctx, conv.ID)
	if err != nil {
		return nil, err
	}
	pending := asSeen(all, s.now(), conv.Open(), true)
	out := make([]any, len(pending))
	for i, inv := range pending {
		out[i] = inv
	}
	return out, nil
}

// asSeen applies read-time expiry (and the end of the conversation) to each invitation.
func asSeen(all []invitation.Invitation, now time.Time, open, pendingOnly bool) []invitation.Invitation {
	out := make([]invitation.Invitation, 0, len(all))
	for _, inv := range all {
		inv = inv.AsSeen(now, open)
		if pendingOnly && inv.Status != invitation.StatusPending {
			continue
		}
		out = append(out, inv)
	}
	return out
}
