package handover

import (
	"context"
	"errors"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Accepted is the answer to an accept: where the accepter now is.
type Accepted struct {
	InvitationID   string `json:"invitationId"`
	ConversationID string `json:"conversationId"`
	ParticipantID  string `json:"participantId"`
	// Assigned: the accepter now holds the conversation (a forward or an offer).
	Assigned bool `json:"assigned"`
}

// Accept lets the invited agent, or a member of the invited team, join the conversation:
// POST /invitations/{invitationId}/accept. History is per conversation, so the whole of it is
// theirs to read at once. For a team the first accept wins; later ones get 409
// invitation_taken and the other members are pushed invitation.taken. The forwarder who
// leaves is no participant once it commits, so nothing more is pushed to them. Accepting a forward
// makes the accepter the assignee and, in on-accept mode, the forwarder leaves — one
// transaction, so there is never a moment with nobody or two people holding it.
func (s *Service) Accept(ctx context.Context, p auth.Principal, invitationID string) (Accepted, error) {
	if err := p.RequireAgent(); err != nil {
		return Accepted{}, err
	}
	var out Accepted
	err := retrying(func() error {
		var err error
		out, err = s.acceptOnce(ctx, p.AgentID, invitationID)
		return err
	})
	return out, err
}

func (s *Service) acceptOnce(ctx context.Context, agentID, invitationID string) (Accepted, error) {
	o, err := s.answerable(ctx, agentID, invitationID, func(o invitation.Offer, now time.Time) error { return o.CheckPending(now) })
	if err != nil {
		return Accepted{}, err
	}
	read, err := s.openState(ctx, o)
	if err != nil {
		return Accepted{}, err
	}
	now := s.now()
	a := store.Acceptance{Offer: o, Read: read, At: now}
	if a.Accepter, a.AlreadyIn, err = s.accepter(ctx, agentID, o.ConversationID, now); err != nil {
		return Accepted{}, err
	}
	if a.AlreadyIn && !o.IsForward() {
		return Accepted{}, invitation.ErrAlreadyIn
	}
	if a.Removes, err = s.leavingForwarder(ctx, o, agentID); err != nil {
		return Accepted{}, err
	}
	a.Events = acceptEvents(a, now)
	a.Notices = s.takenNotice(ctx, o, agentID, now)
	err = s.Store.Accept(ctx, a)
	switch {
	case store.FailedOn(err, "participant") && !o.IsForward():
		return Accepted{}, invitation.ErrAlreadyIn
	case lostRace(err):
		return Accepted{}, errRetry // the next attempt sees who was first
	case err != nil:
		return Accepted{}, apperror.Internal(err)
	}
	return Accepted{InvitationID: o.ID, ConversationID: o.ConversationID, ParticipantID: a.Accepter.ID, Assigned: o.IsForward()}, nil
}

// answerable loads an offer the agent may answer, checked by check; an offer whose time ran
// out is expired on the spot (the sweep would within a minute) so that a forward comes back
// to its forwarder at once.
func (s *Service) answerable(ctx context.Context, agentID, invitationID string, check func(invitation.Offer, time.Time) error) (invitation.Offer, error) {
	o, err := s.loadOffer(ctx, invitationID)
	if err != nil {
		return invitation.Offer{}, err
	}
	if now := s.now(); o.HopDue(now) {
		// The chain moved on since it was stored: store the move, then answer on it.
		if err := s.hopOnce(ctx, o, now, agentID); err != nil && !errors.Is(err, errRetry) {
			return invitation.Offer{}, err
		}
		return invitation.Offer{}, errRetry
	}
	member := false
	if o.TargetTeamID != "" {
		if member, err = s.Store.IsTeamMember(ctx, o.TargetTeamID, agentID); err != nil {
			return invitation.Offer{}, apperror.Internal(err)
		}
	}
	if err := o.CheckAnswerer(agentID, member); errors.Is(err, invitation.ErrNotInvited) {
		return invitation.Offer{}, s.checkTurn(ctx, o, agentID)
	} else if err != nil {
		return invitation.Offer{}, err
	}
	if err := check(o, s.now()); err != nil {
		if errors.Is(err, invitation.ErrExpired) {
			s.expireNow(ctx, o.ID)
		}
		return invitation.Offer{}, err
	}
	return o, nil
}

// openState reads the offer's conversation, which must be open and, for a forward, waiting on
// this very forward.
func (s *Service) openState(ctx context.Context, o invitation.Offer) (store.HandoverState, error) {
	read, err := s.readState(ctx, o.ConversationID)
	if err != nil {
		return store.HandoverState{}, err
	}
	if !read.Conversation.Open() {
		return store.HandoverState{}, errConversationEnded
	}
	if o.IsForward() && read.PendingForward != o.ID {
		return store.HandoverState{}, errRetry // answered meanwhile: read the offer again
	}
	return read, nil
}

// accepter is the agent's participant, and whether they are in the conversation already.
func (s *Service) accepter(ctx context.Context, agentID, conversationID string, now time.Time) (conversation.Participant, bool, error) {
	p, err := s.Store.Participant(ctx, conversationID, conversation.AgentParticipantID(agentID))
	if err == nil {
		return p, true, nil
	}
	if !store.IsNotFound(err) {
		return conversation.Participant{}, false, apperror.Internal(err)
	}
	return conversation.Participant{
		ConversationID: conversationID, ID: conversation.AgentParticipantID(agentID), Kind: conversation.KindAgent,
		AgentID: agentID, DisplayName: s.displayName(ctx, agentID), JoinedAt: now,
	}, false, nil
}

// leavingForwarder is the forwarder who leaves at the accept of their forward, in on-accept
// mode, if they are still in the conversation (they may have left meanwhile).
func (s *Service) leavingForwarder(ctx context.Context, o invitation.Offer, accepterID string) (*conversation.Participant, error) {
	if s.Config.Mode != ModeOnAccept || !o.IsForward() || o.Purpose != invitation.PurposeForward || o.CreatedBy == accepterID {
		return nil, nil
	}
	f, err := s.Store.Participant(ctx, o.ConversationID, conversation.AgentParticipantID(o.CreatedBy))
	if store.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, apperror.Internal(err)
	}
	return &f, nil
}

// acceptEvents tell everyone who joined (and who holds the conversation now, and who left),
// and the agents which invitation brought them.
func acceptEvents(a store.Acceptance, now time.Time) []conversation.Event {
	var events []conversation.Event
	o := settled(a.Offer, invitation.StatusAccepted, "", now)
	if !a.AlreadyIn {
		events = append(events, invitation.JoinedEvent(a.Accepter, now))
	}
	if a.Offer.IsForward() {
		events = append(events, assignedEvent(a.Accepter, a.Read.Conversation.Assignee, now))
	}
	events = append(events, invitation.AcceptedEvent(o, a.Accepter.AgentID, a.Accepter.ID, now))
	events = append(events, chainUpdated(o, a.Accepter.ID, now)...)
	if a.Removes != nil {
		events = append(events, leftEvent(*a.Removes, a.Removes.ID, now))
	}
	return events
}

// takenNotice tells a team's other members that a colleague accepted first: pushed with the
// accept (written in its transaction), kept in no history.
func (s *Service) takenNotice(ctx context.Context, o invitation.Offer, accepterID string, now time.Time) []conversation.Event {
	if o.TargetTeamID == "" {
		return nil
	}
	others := without(s.recipients(ctx, o), accepterID)
	if len(others) == 0 {
		return nil
	}
	taken := []conversation.Event{invitation.TakenEvent(o, accepterID, now)}
	addressTo(others, taken)
	return taken
}
