package conversations

import (
	"context"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
)

// View is a conversation as its participants see it.
type View struct {
	conversation.Conversation
	Participants []conversation.Participant `json:"participants"`
	// Invitations pending in the conversation; only agents see them (they may carry PIN
	// metadata, addresses and messages between agents).
	Invitations []any `json:"invitations,omitzero"`
}

// PendingInvitations lists a conversation's pending invitations for agents.
type PendingInvitations interface {
	PendingInvitations(ctx context.Context, conversationID string) ([]any, error)
}

// Get returns the conversation to a current participant.
func (s *Service) Get(ctx context.Context, p auth.Principal, conversationID string, pending PendingInvitations) (View, error) {
	acc, err := Authorize(ctx, s.Store, p, conversationID)
	if err != nil {
		return View{}, err
	}
	parts, err := s.Store.Participants(ctx, conversationID)
	if err != nil {
		return View{}, apperror.Internal(err)
	}
	v := View{Conversation: acc.Conversation, Participants: seenBy(acc.Participant, parts, s.Store.Now())}
	if acc.Participant.IsAgent() && pending != nil {
		if v.Invitations, err = pending.PendingInvitations(ctx, conversationID); err != nil {
			return View{}, apperror.Internal(err)
		}
		if v.Invitations == nil {
			v.Invitations = []any{} // agents see "none"; visitors see no field at all
		}
	}
	return v, nil
}

// seenBy lists the participants the reader may see: everyone active, and those waiting in the
// lobby for whoever heard them wait (agents; customers too when customers let them in). A
// wait that has run out is a refusal, listed by nobody.
func seenBy(reader conversation.Participant, parts []conversation.Participant, now time.Time) []conversation.Participant {
	out := []conversation.Participant{}
	for _, p := range parts {
		switch {
		case p.Active():
			out = append(out, p)
		case p.TimedOut(now):
		case reader.IsAgent() || conversation.LobbyAudience(p.Admit) == conversation.AudienceEveryone:
			out = append(out, p)
		}
	}
	return out
}
