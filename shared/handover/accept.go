package handover

import (
	"context"
	"errors"
	"sync"
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
	o, view, err := s.answerable(ctx, agentID, invitationID, func(o invitation.Offer, now time.Time) error { return o.CheckPending(now) }, nil)
	if err != nil {
		return Accepted{}, err
	}
	read, err := openState(o, view)
	if err != nil {
		return Accepted{}, err
	}
	now := s.now()
	a := store.Acceptance{Offer: o, Read: read, At: now, Accepter: accepter(view, agentID, o.ConversationID, now), AlreadyIn: view.AnswerIn}
	if a.AlreadyIn && !o.IsForward() {
		return Accepted{}, invitation.ErrAlreadyIn
	}
	a.Removes = s.leavingForwarder(o, view, agentID)
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

// answerable loads an offer the agent may answer, checked by check, with what the answer
// decides on (store.Answering, one read); an offer whose time ran out is expired on the spot
// (the sweep would within a minute) so that a forward comes back to its forwarder at once.
// ahead, if given, reads beside store.Answering what the answer goes on to need, for an offer
// that may be the agent's (addressed to them, or to a team they may be in).
func (s *Service) answerable(ctx context.Context, agentID, invitationID string, check func(invitation.Offer, time.Time) error,
	ahead func(context.Context, invitation.Offer)) (invitation.Offer, store.Answering, error) {
	o, err := s.loadOffer(ctx, invitationID)
	if err != nil {
		return invitation.Offer{}, store.Answering{}, err
	}
	if now := s.now(); o.HopDue(now) {
		// The chain moved on since it was stored: store the move, then answer on it.
		if err := s.hopOnce(ctx, o, now, agentID); err != nil && !errors.Is(err, errRetry) {
			return invitation.Offer{}, store.Answering{}, err
		}
		return invitation.Offer{}, store.Answering{}, errRetry
	}
	var wg sync.WaitGroup
	if ahead != nil && (o.TargetAgentID == "" || o.TargetAgentID == agentID) {
		wg.Go(func() { ahead(ctx, o) })
	}
	view, err := s.Store.Answering(ctx, o, agentID)
	wg.Wait()
	if err != nil {
		return invitation.Offer{}, store.Answering{}, apperror.Internal(err)
	}
	if err := o.CheckAnswerer(agentID, view.Member); errors.Is(err, invitation.ErrNotInvited) {
		return invitation.Offer{}, store.Answering{}, s.checkTurn(ctx, o, agentID)
	} else if err != nil {
		return invitation.Offer{}, store.Answering{}, err
	}
	if err := check(o, s.now()); err != nil {
		if errors.Is(err, invitation.ErrExpired) {
			s.expireNow(ctx, o.ID)
		}
		return invitation.Offer{}, store.Answering{}, err
	}
	return o, view, nil
}

// openState is the offer's conversation, which must be open and, for a forward, waiting on
// this very forward.
func openState(o invitation.Offer, view store.Answering) (store.HandoverState, error) {
	if !view.StateFound {
		return store.HandoverState{}, errConversationNotFound
	}
	if !view.State.Conversation.Open() {
		return store.HandoverState{}, errConversationEnded
	}
	if o.IsForward() && view.State.PendingForward != o.ID {
		return store.HandoverState{}, errRetry // answered meanwhile: read the offer again
	}
	return view.State, nil
}

// accepter is the agent's participant: the one they are already, or the one they become.
func accepter(view store.Answering, agentID, conversationID string, now time.Time) conversation.Participant {
	if view.AnswerIn {
		return view.Answerer
	}
	name := view.AgentName
	if name == "" {
		name = agentID
	}
	return conversation.Participant{
		ConversationID: conversationID, ID: conversation.AgentParticipantID(agentID), Kind: conversation.KindAgent,
		AgentID: agentID, DisplayName: name, JoinedAt: now,
	}
}

// leavingForwarder is the forwarder who leaves at the accept of their forward, in on-accept
// mode, if they are still in the conversation (they may have left meanwhile).
func (s *Service) leavingForwarder(o invitation.Offer, view store.Answering, accepterID string) *conversation.Participant {
	if s.Config.Mode != ModeOnAccept || !o.IsForward() || o.Purpose != invitation.PurposeForward || o.CreatedBy == accepterID || !view.ForwardIn {
		return nil
	}
	f := view.Forwarder
	return &f
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
