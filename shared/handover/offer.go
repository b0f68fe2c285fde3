package handover

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/requestscope"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Service is the conversations.Offerer: a conversation nobody holds is offered to its team
// exactly like a forward to that team (SPEC §4).
var _ conversations.Offerer = (*Service)(nil)

// OfferToTeam prepares the offer of a visitor's new conversation to the team, written with
// the conversation in one transaction. It waits in every member's inbox (members who join
// the team later see it too) until one accepts and becomes the assignee, or the
// conversation ends: it neither expires nor can be declined, so it cannot come to nothing.
func (s *Service) OfferToTeam(ctx context.Context, conv conversation.Conversation, teamID string) (conversations.TeamOffer, error) {
	at := conv.CreatedAt
	if at.IsZero() {
		at = s.now()
	}
	return s.teamOffer(ctx, conv.ID, teamID, at)
}

// PrefetchTeam implements conversations.Offerer: a visitor's start reads the team it is
// offered to beside the request's idempotency key.
func (s *Service) PrefetchTeam(ctx context.Context, teamID string) {
	requestscope.ReadAhead(ctx, targetKey(invitation.Target{Kind: invitation.TargetTeam, ID: teamID}), s.readTeam(teamID))
}

func (s *Service) teamOffer(ctx context.Context, conversationID, teamID string, at time.Time) (conversations.TeamOffer, error) {
	team, err := requestscope.ReadOnce(ctx, targetKey(invitation.Target{Kind: invitation.TargetTeam, ID: teamID}), s.readTeam(teamID))
	if store.IsNotFound(err) {
		return conversations.TeamOffer{}, ErrTeamNotFound
	}
	if err != nil {
		return conversations.TeamOffer{}, apperror.Internal(err)
	}
	o := invitation.NewIncomingOffer(conversationID, teamID, at, s.Config.UnansweredAfter)
	o.TargetName = team.Name
	events := []conversation.Event{
		invitation.OfferedEvent(o, "", at),
		invitation.ForwardNotice(conversationID, "", team.Name, invitation.TargetTeam, at),
	}
	addressTo(team.Members, events)
	return conversations.TeamOffer{Invitation: o, Members: team.Members, Events: events}, nil
}

// LeaveAsAssignee lets the agent who holds an open conversation leave. Unless the
// conversation waits on a forward already (which then stays: the conversation waits
// unassigned in the target's inbox, and comes back to the forwarder if declined), it is
// offered to its team (or the default team) in the same transaction, so the customer is not
// left with nobody. A conversation with no team at all is left unassigned, as before.
func (s *Service) LeaveAsAssignee(ctx context.Context, leaver conversation.Participant, events []conversation.Event) error {
	return retrying(func() error { return s.leaveOnce(ctx, leaver, events) })
}

func (s *Service) leaveOnce(ctx context.Context, leaver conversation.Participant, events []conversation.Event) error {
	read, err := s.readState(ctx, leaver.ConversationID)
	if err != nil {
		return err
	}
	if !read.Conversation.Open() || read.Conversation.Assignee != leaver.AgentID {
		return s.plainLeave(ctx, leaver, events) // no longer theirs to hand over
	}
	var offer *conversations.TeamOffer
	if teamID := cmp.Or(read.Conversation.TeamID, s.Config.DefaultTeamID); read.PendingForward == "" && teamID != "" {
		o, err := s.teamOffer(ctx, read.Conversation.ID, teamID, s.now())
		if err != nil && !errors.Is(err, ErrTeamNotFound) {
			return err
		}
		if err == nil {
			offer = &o
		}
	}
	var o *invitation.Offer
	if offer != nil {
		o, events = &offer.Invitation, append(events, offer.Events...)
		addressTo(offer.Members, events)
	}
	err = s.Store.LeaveAsAssignee(ctx, leaver, read, o, events)
	switch {
	case store.FailedOn(err, "participant"):
		return conversations.ErrNotParticipant
	case lostRace(err):
		return errRetry
	case err != nil:
		return apperror.Internal(err)
	}
	return nil
}

// plainLeave is the leave of someone who does not hold the conversation (any more).
func (s *Service) plainLeave(ctx context.Context, leaver conversation.Participant, events []conversation.Event) error {
	var kept []conversation.Event
	for _, e := range events {
		if e.Type != conversation.EventConversationUnassigned {
			kept = append(kept, e)
		}
	}
	err := s.Store.Leave(ctx, leaver, false, kept)
	switch {
	case store.FailedOn(err, "participant"):
		return conversations.ErrNotParticipant
	case err != nil:
		return apperror.Internal(err)
	}
	return nil
}
