package handover

import (
	"context"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/requestscope"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Decline answers no: POST /invitations/{invitationId}/decline {reason?}. The inviter (or
// forwarder) is told, with the reason, by an agents-only event and a push.
//
// For a team, one member's decline only takes the offer out of that member's inbox; the
// offer is declined once every current member has declined. A declined forward comes back
// to the forwarder: in on-accept mode they still hold the conversation and are told; when
// nobody holds it (immediate mode, or the forwarder left), it returns to their inbox.
func (s *Service) Decline(ctx context.Context, p auth.Principal, invitationID, reason string) error {
	if err := p.RequireAgent(); err != nil {
		return err
	}
	return retrying(func() error { return s.declineOnce(ctx, p.AgentID, invitationID, reason) })
}

func (s *Service) declineOnce(ctx context.Context, agentID, invitationID, reason string) error {
	o, view, err := s.answerable(ctx, agentID, invitationID, func(o invitation.Offer, now time.Time) error {
		return o.CheckDeclinable(agentID, now)
	}, s.readAheadDecline)
	if err != nil {
		return err
	}
	read, err := openState(o, view)
	if err != nil {
		return err
	}
	now := s.now()
	d := store.Declining{Offer: o, By: agentID, Reason: reason, Final: true, Read: read, At: now}
	if o.TargetTeamID != "" {
		members, err := requestscope.ReadOnce(ctx, membersKey(o.TargetTeamID), s.readMembers(o.TargetTeamID))
		if err != nil {
			return apperror.Internal(err)
		}
		d.Final = o.DeclineIsFinal(agentID, members)
	}
	if d.Final && o.HasNextTarget() {
		return s.declineHop(ctx, o, agentID, reason, now)
	}
	d.Events = []conversation.Event{invitation.DeclinedEvent(o, agentID, reason, d.Final, now)}
	if d.Final {
		shown := settled(o, invitation.StatusDeclined, reason, now)
		d.Events = append([]conversation.Event{invitation.DeclinedEvent(shown, agentID, reason, true, now)}, chainUpdated(shown, agentID, now)...)
	}
	if d.Final && o.IsForward() && read.Conversation.Assignee == "" {
		ret := invitation.NewReturn(o, invitation.ReturnedDeclined, reason, now)
		d.Return = &ret
		d.Events = append(d.Events, s.returnEvents(ctx, ret, now)...)
	}
	// Who made the offer hears of the decline as a participant, if they still are one when it
	// is pushed: a forwarder whose forward another target accepted has lost access. A forward
	// coming back is addressed to the forwarder as its new target.
	addressTo(returnTarget(d.Return), d.Events)
	err = s.Store.Decline(ctx, d)
	if lostRace(err) {
		return errRetry // another member declined, someone accepted, or the conversation changed
	}
	if err != nil {
		return apperror.Internal(err)
	}
	return nil
}

// returnTarget is whom a forward coming back is addressed to, if it comes back.
func returnTarget(ret *invitation.Offer) []string {
	if ret == nil {
		return nil
	}
	return []string{ret.TargetAgentID}
}

// returnEvents tell the agents that the conversation is back with the forwarder, and the
// customer that they are being transferred to them.
func (s *Service) returnEvents(ctx context.Context, ret invitation.Offer, now time.Time) []conversation.Event {
	return []conversation.Event{
		invitation.OfferedEvent(ret, "", now),
		invitation.ForwardNotice(ret.ConversationID, "", s.displayName(ctx, ret.TargetAgentID), invitation.TargetAgent, now),
	}
}
