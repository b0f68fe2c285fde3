package handover

import (
	"context"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// reasonSuperseded is why a newer forward revokes an older pending one.
const reasonSuperseded = "superseded"

// Forward hands the conversation to an agent or a team with a message for agents only:
// POST /conversations/{id}/forward. It is offered like an invitation (inbox and push); the
// customer sees only that they are being transferred, and to whom. A newer forward replaces
// an older pending one. In on-accept mode the forwarder stays until someone accepts; in
// immediate mode they leave now.
func (s *Service) Forward(ctx context.Context, p auth.Principal, conversationID string, route invitation.Route, message string) (invitation.Offer, error) {
	var f invitation.Offer
	err := retrying(func() error {
		var err error
		f, err = s.forwardOnce(ctx, p, conversationID, route, message)
		return err
	})
	return f, err
}

func (s *Service) forwardOnce(ctx context.Context, p auth.Principal, conversationID string, route invitation.Route, message string) (invitation.Offer, error) {
	acc, targets, err := s.accessAndTargets(ctx, p, conversationID, route, invitation.CheckForwardTarget)
	if err != nil {
		return invitation.Offer{}, err
	}
	read := store.HandoverState{Conversation: acc.Conversation, PendingForward: acc.PendingForward}
	now := s.now()
	f := invitation.NewForward(conversationID, p.AgentID, route[0].Target(), message, now, s.Config.ForwardTimeout).
		Routed(route, now, s.Config.ForwardTimeout).Begun(now, s.available(ctx, ""))
	target := targets[f.Stage]
	fw := store.Forwarding{
		Forward: f, Read: read, Forwarder: acc.Participant, Leaves: s.Config.Mode == ModeImmediate, At: now,
	}
	fw.Forward.CreatedByName, fw.Forward.TargetName = nameOf(acc.Participant), target.Name
	replaced, replacedTo, err := s.replace(ctx, &fw, acc.Participant.ID, now)
	if err != nil {
		return invitation.Offer{}, err
	}
	events := forwardEvents(fw, target, acc.Participant.ID, now)
	addressTo(replacedTo, replaced)
	addressTo(target.Members, events)
	fw.Events = append(replaced, events...)
	err = s.Store.Forward(ctx, fw)
	switch {
	case store.FailedOn(err, "forwarder"):
		return invitation.Offer{}, conversations.ErrNotParticipant
	case store.IsTooManyPending(err):
		return invitation.Offer{}, invitation.ErrTooManyPending
	case lostRace(err):
		return invitation.Offer{}, errRetry
	case err != nil:
		return invitation.Offer{}, apperror.Internal(err)
	}
	return fw.Forward, nil
}

// forwardEvents tell the story: for agents, the forward with its message; for everyone, a
// neutral notice; and in immediate mode, that the forwarder left (and nobody holds it now).
func forwardEvents(fw store.Forwarding, target addressee, actorID string, now time.Time) []conversation.Event {
	convID := fw.Read.Conversation.ID
	events := []conversation.Event{
		invitation.OfferedEvent(fw.Forward, actorID, now),
		invitation.ForwardNotice(convID, actorID, target.Name, target.Kind, now),
	}
	if fw.Leaves {
		events = append(events, leftEvent(fw.Forwarder, actorID, now))
		if fw.Read.Conversation.Assignee == fw.Forwarder.AgentID {
			events = append(events, unassignedEvent(convID, fw.Forwarder.AgentID, actorID, now))
		}
	}
	return events
}

// replace makes the forward replace the pending forward the conversation waits on, if any:
// revoked as superseded in the same transaction, or expired if its time had already run out
// (the sweep had not got to it). It returns the events and the agents to tell.
func (s *Service) replace(ctx context.Context, fw *store.Forwarding, actorID string, now time.Time) ([]conversation.Event, []string, error) {
	if fw.Read.PendingForward == "" {
		return nil, nil, nil
	}
	old, err := s.Store.Offer(ctx, fw.Read.PendingForward)
	if store.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, apperror.Internal(err)
	}
	if old.Status != invitation.StatusPending {
		return nil, nil, nil // ended meanwhile; the conversation's condition decides
	}
	fw.Replaced = &old
	var e conversation.Event
	if old.Expired(now) {
		fw.ReplacedAs = invitation.StatusExpired
		e = invitation.ExpiredEvent(old.Invitation, now)
	} else {
		fw.ReplacedAs, fw.ReplacedReason = invitation.StatusRevoked, reasonSuperseded
		e = invitation.RevokedEvent(old.Invitation, actorID, reasonSuperseded, now)
	}
	return []conversation.Event{e}, s.recipients(ctx, old), nil
}
