package invitations

import (
	"context"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// reasonRevoked is why a revoked offer left its target's inbox (invitation.taken).
const reasonRevoked = "revoked"

// maxWriteAttempts bounds how often an action re-reads an invitation that changed under it.
const maxWriteAttempts = 3

// Revoke withdraws a pending invitation: DELETE /conversations/{id}/invitations/{invitationId}.
// Its PIN or link stops working at once; an invitation that is no longer pending gets 409.
func (s *Service) Revoke(ctx context.Context, p auth.Principal, conversationID, invitationID string) (invitation.Invitation, error) {
	acc, err := conversations.AuthorizeAgent(ctx, s.Store, p, conversationID)
	if err != nil {
		return invitation.Invitation{}, err
	}
	for range maxWriteAttempts {
		inv, err := s.load(ctx, conversationID, invitationID)
		if err != nil {
			return invitation.Invitation{}, err
		}
		revoked, err := s.revoke(ctx, acc, inv)
		if store.FailedOn(err, "invitation") {
			continue // redeemed, renewed or expired meanwhile: look again
		}
		return revoked, err
	}
	return invitation.Invitation{}, errChanged
}

func (s *Service) revoke(ctx context.Context, acc conversations.Access, inv invitation.Invitation) (invitation.Invitation, error) {
	now := s.now()
	seen := inv.AsSeen(now, acc.Conversation.Open())
	if err := seen.CheckRevocable(now); err != nil {
		return invitation.Invitation{}, err
	}
	// A fallback chain is revoked where it stands now: its current target loses the offer
	// (invitation.taken, pushed only: an outbox item), and every target still pending or
	// queued is canceled.
	seen.Targets = seen.Settled(invitation.StatusRevoked, "", now)
	revoked := invitation.RevokedEvent(seen, acc.Participant.ID, "", now)
	revoked.PushTo = s.addressees(ctx, seen)
	events := []conversation.Event{revoked}
	var notices []conversation.Event
	if !inv.Kind.ForCustomer() && len(revoked.PushTo) > 0 {
		withdrawn := invitation.WithdrawnEvent(invitation.Offer{Invitation: seen}, reasonRevoked, now)
		withdrawn.PushTo = revoked.PushTo
		notices = append(notices, withdrawn)
	}
	err := s.Store.RevokeInvitation(ctx, inv, acc.Participant.AgentID, now, events, notices)
	if store.FailedOn(err, "invitation") {
		return invitation.Invitation{}, err
	}
	if err != nil {
		return invitation.Invitation{}, apperror.Internal(err)
	}
	seen.Status, seen.ResolvedAt, seen.ResolvedBy, seen.SecretHash = invitation.StatusRevoked, now, acc.Participant.AgentID, ""
	return seen, nil
}
