package store

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// After the end: EndConversation has flipped the status, so nothing can change the
// conversation any more; what is left is bookkeeping. FinishEnd does it in small steps, each
// idempotent, so a crash half-way is finished by the next call (a retried end, or the
// sweeper meeting one of its invitations).

// sessionBatch is how many visitor sessions one cleanup transaction deletes: far below
// DynamoDB's 100 items, so an end never depends on the number of visitors.
const sessionBatch = 50

// FinishEnd revokes every invitation the end left pending (deleting the PINs and join tokens
// that still belong to them), tells whoever an agent offer among them was addressed to, and
// deletes every visitor session of an ended conversation. It does nothing to an open one.
// Whoever finishes an end — its cleanup, a sweep meeting one of its invitations, the
// retention sweep — tells the same.
func (s *Store) FinishEnd(ctx context.Context, conversationID string, at time.Time) error {
	head, err := s.head(ctx, conversationID)
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.finishEnd(ctx, head, at)
}

// finishEnd is FinishEnd on the head as read.
func (s *Store) finishEnd(ctx context.Context, head headItem, at time.Time) error {
	if head.Status == string(conversation.StatusOpen) {
		return nil
	}
	conversationID := strings.TrimPrefix(head.PK, convPK(""))
	for _, id := range head.Pending {
		if err := s.revokeForEnd(ctx, conversationID, id, at); err != nil {
			return err
		}
	}
	parts, err := s.Participants(ctx, conversationID)
	if err != nil {
		return err
	}
	var visitors []conversation.Participant
	for _, p := range parts {
		if !p.IsAgent() {
			visitors = append(visitors, p)
		}
	}
	return s.endSessions(ctx, conversationID, visitors)
}

// revokeForEnd revokes one invitation the end left pending and takes it off the head. The
// notices are outbox items: the head is ended, but what is pushed and not kept may follow it
// (history.go refuses only events and new invitations).
func (s *Store) revokeForEnd(ctx context.Context, conversationID, invitationID string, at time.Time) error {
	for range maxAttempts {
		o, err := s.Offer(ctx, invitationID)
		if err != nil && !IsNotFound(err) {
			return err
		}
		t := s.newTx()
		if err == nil && o.Status == invitation.StatusPending {
			owned, err := s.ownsSecret(ctx, o.Invitation)
			if err != nil {
				return err
			}
			t.resolve(o.Invitation, invitation.StatusRevoked, "", invitation.ReasonConversationEnded, at, false, owned)
			t.pushOnly(s.withdrawn(ctx, o, at))
		} else {
			t.settle(conversationID, invitationID)
		}
		err = t.commit(ctx)
		if !FailedOn(err, "invitation") && !FailedOn(err, "secret") {
			return err
		}
	}
	return nil // another cleanup got there first
}

// withdrawn is invitation.taken (reason conversation_ended) for the agents an offer the end
// revokes was addressed to, its agent or its team's members now, so that it leaves their
// inbox: they were never in the conversation, and conversation.ended does not reach them. A
// customer's invitation has nobody to tell.
func (s *Store) withdrawn(ctx context.Context, o invitation.Offer, at time.Time) []conversation.Event {
	to := s.Addressees(ctx, o.Invitation)
	if len(to) == 0 {
		return nil
	}
	taken := invitation.WithdrawnEvent(o, invitation.ReasonConversationEnded, at)
	taken.PushTo = AgentPrincipals(to)
	return []conversation.Event{taken}
}

// maxAttempts bounds the re-reads of a cleanup step that lost a race with another cleanup.
const maxAttempts = 3

func (s *Store) endSessions(ctx context.Context, conversationID string, visitors []conversation.Participant) error {
	for start := 0; start < len(visitors); start += sessionBatch {
		t := s.newTx()
		for _, v := range visitors[start:min(start+sessionBatch, len(visitors))] {
			if v.SessionHash != "" {
				t.del("session", sessionPK(v.SessionHash), sessionSK, condSessionOf(conversationID))
			}
		}
		if err := t.commit(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ownsSecret reports whether an invitation's PIN or join token is still its own (or gone).
// A PIN whose time ran out may be drawn again for another invitation; that one's PIN must
// survive the first one's expiry or revocation.
func (s *Store) ownsSecret(ctx context.Context, inv invitation.Invitation) (bool, error) {
	if inv.SecretHash == "" {
		return true, nil
	}
	pk, sk := secretKey(inv.Kind, inv.SecretHash)
	var it secretItem
	err := s.getItem(ctx, pk, sk, true, &it)
	if IsNotFound(err) {
		return true, nil
	}
	return err == nil && it.InvitationID == inv.ID, err
}

// deleteSecret deletes an invitation's PIN or join token on the condition that it still
// belongs to the invitation; owned says it did when read (if not, it is left alone).
func (t *tx) deleteSecret(name string, inv invitation.Invitation, owned bool) *tx {
	if inv.SecretHash == "" || !owned {
		return t
	}
	pk, sk := secretKey(inv.Kind, inv.SecretHash)
	return t.del(name, pk, sk, cond{
		expr:   "attribute_not_exists(pk) OR invitationId = :owner",
		values: map[string]types.AttributeValue{":owner": str(inv.ID)},
	})
}
