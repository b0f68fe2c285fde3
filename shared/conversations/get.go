package conversations

import (
	"context"
	"errors"
	"sync"
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
	PendingInvitations(ctx context.Context, conv conversation.Conversation) ([]any, error)
}

// Get returns the conversation to a current participant: the access check, then its
// participants and (for agents) its pending invitations at once — two sequential round trips.
func (s *Service) Get(ctx context.Context, p auth.Principal, conversationID string, pending PendingInvitations) (View, error) {
	acc, err := Authorize(ctx, s.Store, p, conversationID)
	if err != nil {
		return View{}, err
	}
	var (
		wg                sync.WaitGroup
		parts             []conversation.Participant
		invs              []any
		partsErr, invsErr error
		agent             = acc.Participant.IsAgent() && pending != nil
	)
	wg.Go(func() { parts, partsErr = s.Store.Participants(ctx, conversationID) })
	if agent {
		wg.Go(func() { invs, invsErr = pending.PendingInvitations(ctx, acc.Conversation) })
	}
	wg.Wait()
	if err := errors.Join(partsErr, invsErr); err != nil {
		return View{}, apperror.Internal(err)
	}
	v := View{Conversation: acc.Conversation, Participants: seenBy(acc.Participant, parts, s.Store.Now())}
	if agent {
		v.Invitations = invs
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
