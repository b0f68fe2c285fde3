package handover

import (
	"context"
	"slices"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/requestscope"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Invite invites an agent or a team into the conversation with a message, whether they are
// online or not: POST /conversations/{id}/invitations/agent and …/team. The invitation waits
// in the agent's (or every member's) inbox and is pushed to them; the inviter stays.
//
// With a fallback chain (SPEC §9.2) it is offered to one target at a time: the first one
// available, the others queued behind it.
func (s *Service) Invite(ctx context.Context, p auth.Principal, conversationID string, route invitation.Route, message string) (invitation.Offer, error) {
	asked := slices.Clone(route) // routeTargets names route's targets meanwhile
	acc, targets, err := s.accessAndTargets(ctx, p, conversationID, route, invitation.CheckInviteTarget,
		func() error { return s.checkNotIn(ctx, conversationID, asked) })
	if err != nil {
		return invitation.Offer{}, err
	}
	now := s.now()
	if err := s.checkNotPending(ctx, acc, asked, now); err != nil {
		return invitation.Offer{}, err
	}
	to := route[0].Target()
	o := invitation.NewAgentInvitation(conversationID, p.AgentID, to, message, now, s.Config.InvitationTTL).
		Routed(route, now, s.Config.InvitationTTL).Begun(now, s.available(ctx, ""))
	target := targets[o.Stage]
	o.CreatedByName, o.TargetName = nameOf(acc.Participant), target.Name
	events := []conversation.Event{invitation.OfferedEvent(o, acc.Participant.ID, now)}
	addressTo(target.Members, events)
	err = s.Store.Invite(ctx, o, acc.Participant, events)
	switch {
	case store.FailedOn(err, "open"):
		return invitation.Offer{}, errConversationEnded
	case store.FailedOn(err, "inviter"):
		return invitation.Offer{}, conversations.ErrNotParticipant
	case store.FailedOn(err, "already_participant"):
		return invitation.Offer{}, invitation.ErrAlreadyIn
	case store.IsTooManyPending(err):
		return invitation.Offer{}, invitation.ErrTooManyPending
	case err != nil:
		return invitation.Offer{}, apperror.Internal(err)
	}
	return o, nil
}

var errConversationEnded = apperror.Conflict("conversation_ended", "the conversation has ended")

// accessAndTargets reads the caller's access to the open conversation, the route's targets and
// whatever else is independent of both (more) at once: one round trip. Errors come in that
// order, so the caller's access is decided first.
func (s *Service) accessAndTargets(ctx context.Context, p auth.Principal, conversationID string, route invitation.Route,
	self func(string, invitation.Target) error, more ...func() error) (conversations.Access, []addressee, error) {
	var acc conversations.Access
	var targets []addressee
	err := concurrently(append([]func() error{func() (err error) {
		acc, err = s.authorizeOpen(ctx, p, conversationID)
		return err
	}, func() (err error) {
		targets, err = s.routeTargets(ctx, p.AgentID, route, self)
		return err
	}}, more...)...)
	return acc, targets, err
}

// authorizeOpen establishes that the caller is an agent participant of an open conversation.
func (s *Service) authorizeOpen(ctx context.Context, p auth.Principal, conversationID string) (conversations.Access, error) {
	return conversations.AuthorizeAgentInOpen(ctx, s.Store, p, conversationID)
}

// checkNotIn refuses inviting an agent who is in the conversation already.
func (s *Service) checkNotIn(ctx context.Context, conversationID string, route invitation.Route) error {
	var reads []func() error
	for _, t := range route {
		if t.Kind != invitation.TargetAgent {
			continue
		}
		reads = append(reads, func() error {
			_, err := requestscope.ReadOnce(ctx, inKey(conversationID, t.ID), s.readAgentIn(conversationID, t.ID))
			switch {
			case err == nil:
				return invitation.ErrAlreadyIn
			case store.IsNotFound(err):
				return nil
			default:
				return apperror.Internal(err)
			}
		})
	}
	return concurrently(reads...)
}

// checkNotPending refuses inviting the same agent or team twice while the first invitation is
// pending, and more invitations than a conversation may have pending.
func (s *Service) checkNotPending(ctx context.Context, acc conversations.Access, route invitation.Route, now time.Time) error {
	to := route[0].Target()
	// The pending invitations come from the conversation's head, read consistently with
	// the access check, never from the index (which lags).
	head := acc.Head
	if len(head.Pending) >= invitation.MaxPendingPerConversation {
		return invitation.ErrTooManyPending
	}
	duplicates := make([]func() error, len(head.Pending)) // at most the cap, read at once
	for i, id := range head.Pending {
		duplicates[i] = func() error {
			o, err := s.Store.Offer(ctx, id)
			if err != nil {
				return apperror.Internal(err)
			}
			invited := o.Kind == invitation.KindAgent || o.Kind == invitation.KindTeam
			if invited && o.Pending(now) && o.Target() == to {
				return apperror.Conflict("already_invited", "an invitation to them is pending already")
			}
			return nil
		}
	}
	return concurrently(duplicates...)
}
