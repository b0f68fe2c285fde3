package handover

import (
	"context"
	"sync"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/requestscope"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Fallback chains (SPEC §9.2): an invitation or forward offered to its targets one at a
// time. Reads derive the chain's stage from time (invitation.Invitation.Moved); the writes
// here store a move — the sweep's when a window ran out, an answer's when it finds the stored
// stage behind, a decline's when a later target exists — with the events the push function
// pushes: invitation.updated to the conversation's agents, invitation.created to the newly
// offered target (Event.PushTo), and invitation.taken (an outbox item) to the target whose
// window ran out.

// routeTargets checks every target of the route as the first one is checked — not the
// caller (self), and known in the directory — and returns them as found, giving each target
// of route its directory name (what the inbox shows when its turn comes).
func (s *Service) routeTargets(ctx context.Context, callerID string, route invitation.Route, self func(string, invitation.Target) error) ([]addressee, error) {
	for _, t := range route {
		if err := self(callerID, t.Target()); err != nil {
			return nil, err
		}
	}
	out := make([]addressee, len(route))
	lookups := make([]func() error, len(route))
	for k, t := range route {
		lookups[k] = func() (err error) {
			out[k], err = s.lookUp(ctx, t.Target())
			return err
		}
	}
	if err := concurrently(lookups...); err != nil {
		return nil, err
	}
	for k := range route {
		route[k].Name = out[k].Name
	}
	return out, nil
}

// concurrently runs independent reads at once (one round trip for all of them) and returns
// the first error in argument order: the one a caller would have met reading them one after
// another.
func concurrently(reads ...func() error) error {
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, read := range reads {
		wg.Go(func() { errs[i] = read() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// available says whether an agent can be offered the chain's turn now: online and not away,
// as the directory shows it (SPEC §4); present (an agent answering right now) counts as
// available whatever their connection. It is asked only when a later target exists, so a
// lone target never costs a lookup; the agent's status and presence are read in parallel, one
// round trip. An agent who cannot be looked up counts as available: a transient fault must
// not skip anyone.
func (s *Service) available(ctx context.Context, present string) invitation.Available {
	return func(agentID string) bool {
		if agentID == present {
			return true
		}
		var (
			a                 directory.Agent
			connected         map[string]bool
			agentErr, connErr error
			wg                sync.WaitGroup
		)
		key := targetKey(invitation.Target{Kind: invitation.TargetAgent, ID: agentID})
		wg.Go(func() {
			a, agentErr = requestscope.ReadAndKeep(ctx, key, s.readAgent(agentID)) // for lookUp, should the turn be theirs
		})
		wg.Go(func() {
			connected, connErr = requestscope.ReadOnce(ctx, connectedKey(agentID), s.readConnected(agentID))
		})
		wg.Wait()
		if agentErr != nil || connErr != nil {
			return true
		}
		return directory.IsOnline(a, connected[agentID])
	}
}

// readAheadDecline reads, beside the answer's own read (store.Answering), what a decline
// goes on to decide with: a team's members (is this the last member to decline?), and for a
// chain with later targets each one's availability and directory entry (its name, a team's
// members) — a chain is a few targets, and reading them all at once is one round trip where
// reading them as the move needs them was two.
func (s *Service) readAheadDecline(ctx context.Context, o invitation.Offer) {
	var wg sync.WaitGroup
	if o.TargetTeamID != "" {
		wg.Go(func() { requestscope.ReadAhead(ctx, membersKey(o.TargetTeamID), s.readMembers(o.TargetTeamID)) })
	}
	if o.HasNextTarget() {
		for _, t := range o.Targets[o.Stage+1:] {
			to := t.Target()
			if to.Kind != invitation.TargetAgent {
				wg.Go(func() { requestscope.ReadAhead(ctx, targetKey(to), s.readTeam(to.ID)) })
				continue
			}
			wg.Go(func() { requestscope.ReadAhead(ctx, targetKey(to), s.readAgent(to.ID)) })
			wg.Go(func() { requestscope.ReadAhead(ctx, connectedKey(to.ID), s.readConnected(to.ID)) })
		}
	}
	wg.Wait()
}

// offerAsOf is the offer as of now: the chain moved on by time, a team's declines kept only
// while it is still that team's turn, and the current target's name.
func offerAsOf(o invitation.Offer, now time.Time) invitation.Offer {
	o, _ = o.MovedOn(now, nil)
	return o
}

// hopOnce stores the move of a chain whose current window ran out by now, as the sweep and
// an answerer who finds the stored stage behind do; present counts as available. A lost race
// is errRetry: someone answered or moved it first.
func (s *Service) hopOnce(ctx context.Context, o invitation.Offer, now time.Time, present string) error {
	next, _ := o.MovedOn(now, s.available(ctx, present))
	next.DeclinedBy = nil
	return s.storeHop(ctx, o, next, true, "", now)
}

// declineHop stores the move of a chain whose current target declined while a later target
// exists: the next one's turn begins now.
func (s *Service) declineHop(ctx context.Context, o invitation.Offer, decliner, reason string, now time.Time) error {
	next := o.DeclinedHop(reason, now, s.available(ctx, ""))
	return s.storeHop(ctx, o, next, false, decliner, now)
}

// storeHop writes a move from read to next, with its events.
func (s *Service) storeHop(ctx context.Context, read, next invitation.Offer, timed bool, actorID string, now time.Time) error {
	target, err := s.lookUp(ctx, next.Target())
	if err != nil {
		return err
	}
	next.TargetName = target.Name
	events := []conversation.Event{invitation.UpdatedEvent(next, actorID, now), invitation.OfferedEvent(next, actorID, now)}
	if next.IsForward() {
		events = append(events, invitation.ForwardNotice(next.ConversationID, actorID, target.Name, target.Kind, now))
	}
	addressTo(target.Members, events)
	var notices []conversation.Event
	if timed {
		notices = s.withdrawn(ctx, read, now)
	}
	err = s.Store.Advance(ctx, store.Hop{Read: read, Next: next, Timed: timed, Events: events, Notices: notices})
	switch {
	case store.FailedOn(err, "open"):
		return errConversationEnded
	case lostRace(err):
		return errRetry
	case err != nil:
		return apperror.Internal(err)
	}
	return nil
}

// withdrawn is invitation.taken for the target whose offer was withdrawn (its window ran
// out): it leaves their inbox. Pushed only, written with the move as an outbox item.
func (s *Service) withdrawn(ctx context.Context, o invitation.Offer, now time.Time) []conversation.Event {
	to := s.recipients(ctx, o)
	if len(to) == 0 {
		return nil
	}
	events := []conversation.Event{invitation.WithdrawnEvent(o, invitation.ReasonTimeout, now)}
	addressTo(to, events)
	return events
}

// checkTurn refuses an agent who is a target of the chain but not the current one, with
// what happened to their turn; anyone else is refused as not invited.
func (s *Service) checkTurn(ctx context.Context, o invitation.Offer, agentID string) error {
	if !o.Chained() {
		return invitation.ErrNotInvited
	}
	stage := o.TargetOf(agentID, func(teamID string) bool {
		member, err := s.Store.IsTeamMember(ctx, teamID, agentID)
		return err == nil && member
	})
	if stage < 0 || stage == o.Stage {
		return invitation.ErrNotInvited
	}
	return o.CheckTurn(stage)
}

// settled is the offer as it ends: its chain's targets answered as the end says.
func settled(o invitation.Offer, status invitation.Status, reason string, at time.Time) invitation.Offer {
	o.Targets = o.Settled(status, reason, at)
	return o
}

// chainUpdated is invitation.updated for an end that answers more than one target (the
// others are canceled), so that the agents see every target's answer; none for a lone one.
func chainUpdated(o invitation.Offer, actorID string, at time.Time) []conversation.Event {
	if len(o.Targets) < 2 {
		return nil
	}
	return []conversation.Event{invitation.UpdatedEvent(o, actorID, at)}
}

// inboxOf is the inbox an offer belongs in: its current target's.
func inboxOf(o invitation.Offer) string {
	if o.TargetTeamID != "" {
		return store.TeamInbox(o.TargetTeamID)
	}
	return store.AgentInbox(o.TargetAgentID)
}
