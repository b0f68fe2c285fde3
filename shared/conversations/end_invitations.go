package conversations

import (
	"context"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// reasonConversationEnded is why an end revokes an invitation.
const reasonConversationEnded = "conversation_ended"

// maxEndAttempts bounds how often an end re-reads invitations that changed under it.
const maxEndAttempts = 3

// endRevokingInvitations ends the conversation and, in the same transaction, revokes its
// pending invitations so their PINs and links stop working (§4 end). An invitation redeemed or
// renewed between the read and the write makes the transaction fail on "invitation"; the
// invitations are then read again. It returns every event written, for the push.
//
// The list comes from an eventually consistent index, so an invitation made a moment before
// may be missed; it still cannot be used, because every redemption checks in its transaction
// that the conversation is open.
func (s *Service) endRevokingInvitations(ctx context.Context, conv conversation.Conversation, visitors []conversation.Participant, events []conversation.Event, actorID string) ([]conversation.Event, error) {
	var err error
	for range maxEndAttempts {
		var pending []invitation.Invitation
		if pending, err = s.pendingInvitations(ctx, conv.ID, conv.EndedAt); err != nil {
			return nil, err
		}
		all := append([]conversation.Event(nil), events...)
		for _, inv := range pending {
			all = append(all, invitation.RevokedEvent(inv, actorID, reasonConversationEnded, conv.EndedAt))
		}
		err = s.Store.EndConversation(ctx, conv, visitors, all, pending...)
		if !store.FailedOn(err, "invitation") {
			return all, err
		}
	}
	return nil, err
}

// pendingInvitations finds the conversation's pending invitations in the index and reads each
// from the table, so that the revocation is conditioned on their current state.
func (s *Service) pendingInvitations(ctx context.Context, conversationID string, now time.Time) ([]invitation.Invitation, error) {
	listed, err := s.Store.ConversationInvitations(ctx, conversationID)
	if err != nil {
		return nil, err
	}
	var pending []invitation.Invitation
	for _, l := range listed {
		if !l.Pending(now) {
			continue
		}
		inv, err := s.Store.Invitation(ctx, l.ID)
		if store.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if inv.Pending(now) {
			pending = append(pending, inv)
		}
	}
	return pending, nil
}
