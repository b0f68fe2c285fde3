// Package handover holds the actions that hand a conversation from agent to agent: invite an
// agent or a team, forward to an agent or a team, the agent's inbox, accept and decline, the
// expiry sweep, and the offer of a conversation nobody holds to its team (a visitor's new
// conversation, or one whose assignee left). One file per action; each loads, decides with
// the rules of shared/invitation, and writes in one transaction with its events, each
// addressed to whom it concerns besides the participants; the push function pushes them.
//
// The promise it keeps is that a customer is never left with nobody: an open conversation
// always has an assignee or a pending forward or offer that a person will see. Every write
// that could break it is conditioned on the conversation as read (see store.HandoverState),
// so that concurrent forwards, accepts, declines, expiries, revocations and leaves serialise;
// a write that loses the race reads again and decides again.
//
// Hand-over modes (HANDOVER_MODE):
//   - on-accept (default): the forwarder stays participant and assignee until someone
//     accepts; at the accept the accepter becomes assignee and the forwarder leaves, in one
//     transaction. A decline or time-out is pushed back to the forwarder, who still holds it.
//   - immediate: the forwarder leaves when forwarding (unassigning the conversation if they
//     held it) and the conversation waits in the target's inbox. A decline or time-out
//     creates a "return" offer in the forwarder's inbox to take back (invitation.PurposeReturn).
//
// The same return happens in on-accept mode when the forwarder left while the forward was
// pending: leaving never cancels a forward, and whoever last forwarded a conversation nobody
// holds gets it back.
package handover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/requestscope"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Mode is the deployment's hand-over (SPEC §5 Forwarding).
type Mode string

const (
	// ModeOnAccept keeps the forwarder responsible until someone accepts.
	ModeOnAccept Mode = "on-accept"
	// ModeImmediate lets the forwarder leave at once; the conversation waits in the inbox.
	ModeImmediate Mode = "immediate"
)

// Config is the deployment's hand-over settings.
type Config struct {
	Mode Mode
	// ForwardTimeout is how long a forward waits for an answer before it comes back.
	ForwardTimeout time.Duration
	// InvitationTTL is how long an agent or team invitation can be accepted.
	InvitationTTL time.Duration
	// UnansweredAfter is how long a conversation nobody holds is offered to its team before
	// it ends as unanswered.
	UnansweredAfter time.Duration
	// DefaultTeamID receives a conversation nobody holds when it names no team of its own.
	DefaultTeamID string
}

// DefaultConfig is the on-accept hand-over with the default lifetimes.
func DefaultConfig() Config {
	return Config{Mode: ModeOnAccept, ForwardTimeout: invitation.DefaultForwardTimeout, InvitationTTL: invitation.DefaultInvitationTTL,
		UnansweredAfter: invitation.DefaultUnansweredAfter}
}

// Validate refuses settings the rules do not allow; the function does not start with them.
func (c Config) Validate() error {
	if c.Mode != ModeOnAccept && c.Mode != ModeImmediate {
		return fmt.Errorf("handover: mode %q is neither %s nor %s", c.Mode, ModeOnAccept, ModeImmediate)
	}
	return errors.Join(
		invitation.CheckOfferTTL("forward timeout", c.ForwardTimeout),
		invitation.CheckOfferTTL("invitation lifetime", c.InvitationTTL),
		invitation.CheckOfferTTL("wait for an agent", c.UnansweredAfter),
	)
}

// Store is what the hand-over actions need of storage; conversations.Store is there for the
// access check.
type Store interface {
	conversations.Store
	HandoverState(ctx context.Context, conversationID string) (store.HandoverState, error)
	Offer(ctx context.Context, id string) (invitation.Offer, error)
	// Answering is what an answer to an offer decides on, in one read.
	Answering(ctx context.Context, o invitation.Offer, agentID string) (store.Answering, error)
	Agent(ctx context.Context, id string) (directory.Agent, error)
	Team(ctx context.Context, id string) (directory.Team, error)
	TeamMembers(ctx context.Context, teamID string) ([]string, error)
	// Targets reads the agents and teams a route names in one round trip.
	Targets(ctx context.Context, q store.TargetsQuery) (store.Targets, error)
	Addressees(ctx context.Context, inv invitation.Invitation) []string
	TeamsOf(ctx context.Context, agentID string) ([]string, error)
	IsTeamMember(ctx context.Context, teamID, agentID string) (bool, error)
	AgentName(ctx context.Context, agentID string) (string, error)
	InboxPage(ctx context.Context, from map[string]string, limit int) ([]store.InboxOffer, error)

	Invite(ctx context.Context, o invitation.Offer, inviter conversation.Participant, events []conversation.Event) error
	Forward(ctx context.Context, f store.Forwarding) error
	Accept(ctx context.Context, a store.Acceptance) error
	Decline(ctx context.Context, d store.Declining) error
	Expire(ctx context.Context, e store.Expiry) error
	Advance(ctx context.Context, h store.Hop) error
	Connected(ctx context.Context, agentIDs []string) (map[string]bool, error)
	EndUnanswered(ctx context.Context, conv conversation.Conversation, offerID string, ended *conversation.Event) error
	// FinishEnd is the end's cleanup (conversations.EndCleanup), for an invitation the sweep
	// meets pending in an ended conversation.
	FinishEnd(ctx context.Context, conversationID string, at time.Time) error
	LeaveAsAssignee(ctx context.Context, p conversation.Participant, read store.HandoverState, offer *invitation.Offer, events []conversation.Event) error
}

// Service runs the hand-over actions.
type Service struct {
	Store  Store
	Config Config
	Now    func() time.Time
}

// maxAttempts bounds how often an action reads again after losing a race: each attempt is
// decided afresh on current data, so a retry never breaks a rule.
const maxAttempts = 4

// errRetry marks a write that lost a race: the action reads again.
var errRetry = errors.New("handover: changed meanwhile")

// errBusy answers when every attempt lost a race.
var errBusy = apperror.Conflict("conversation_changed", "the conversation changed meanwhile; try again")

// retrying runs attempt until it stops asking for a retry.
func retrying(attempt func() error) error {
	for range maxAttempts {
		if err := attempt(); !errors.Is(err, errRetry) {
			return err
		}
	}
	return errBusy
}

// lostRace reports whether a failed transaction is worth deciding again: a condition on
// current data failed, or another transaction kept winning.
func lostRace(err error) bool {
	var tc *store.TxCanceledError
	return errors.As(err, &tc)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// addressTo addresses events to the agents besides the participants (Event.PushTo): the push
// function, reading the committed events, pushes to both.
func addressTo(agentIDs []string, events []conversation.Event) {
	if len(agentIDs) == 0 {
		return
	}
	keys := store.AgentPrincipals(agentIDs)
	for i := range events {
		events[i].PushTo = keys
	}
}

// Errors of the directory lookups.
var (
	ErrAgentNotFound = apperror.NotFound("agent_not_found", "there is no such agent")
	ErrTeamNotFound  = apperror.NotFound("team_not_found", "there is no such team")
	ErrTeamEmpty     = apperror.New(apperror.KindUnprocessable, "team_empty", "the team has no members")
)

// addressee is an offer's target as found in the directory.
type addressee struct {
	invitation.Target
	Name    string
	Members []string // the agent, or the team's members
}

// lookUp finds the target in the directory: an unknown agent or team is 404, a team without
// members 422 (nobody would ever see the offer).
func (s *Service) lookUp(ctx context.Context, to invitation.Target) (addressee, error) {
	if to.Kind == invitation.TargetAgent {
		// Kept again for available, which a chain asks next of the same entry (and which
		// keeps it for lookUp in turn).
		a, err := requestscope.ReadAndKeep(ctx, targetKey(to), s.readAgent(to.ID))
		if store.IsNotFound(err) {
			return addressee{}, ErrAgentNotFound
		}
		if err != nil {
			return addressee{}, apperror.Internal(err)
		}
		return addressee{Target: to, Name: a.Name, Members: []string{a.ID}}, nil
	}
	t, err := requestscope.ReadOnce(ctx, targetKey(to), s.readTeam(to.ID))
	if store.IsNotFound(err) {
		return addressee{}, ErrTeamNotFound
	}
	if err != nil {
		return addressee{}, apperror.Internal(err)
	}
	if len(t.Members) == 0 {
		return addressee{}, ErrTeamEmpty
	}
	return addressee{Target: to, Name: t.Name, Members: t.Members}, nil
}

// recipients are the agents an offer is addressed to: the agent, or the team's members now.
func (s *Service) recipients(ctx context.Context, o invitation.Offer) []string {
	return s.Store.Addressees(ctx, o.Invitation)
}

// displayName is an agent's directory name, or their id when the directory has none.
func (s *Service) displayName(ctx context.Context, agentID string) string {
	if agentID == "" {
		return ""
	}
	if name, err := s.Store.AgentName(ctx, agentID); err == nil && name != "" {
		return name
	}
	return agentID
}

// nameOf is how an offer names the agent participant who made it: their display name, or
// their id when they have none.
func nameOf(p conversation.Participant) string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	return p.AgentID
}

// without returns ids minus the excluded ones.
func without(ids []string, excluded ...string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(excluded, id) {
			out = append(out, id)
		}
	}
	return out
}

// loadOffer reads an offer by id for an agent answering it; customer invitations are not
// answered by agents, so they are as unknown as a missing id.
func (s *Service) loadOffer(ctx context.Context, id string) (invitation.Offer, error) {
	if id == "" {
		return invitation.Offer{}, errOfferNotFound
	}
	o, err := requestscope.ReadOnce(ctx, offerScopeKey(id), s.readOffer(id))
	if store.IsNotFound(err) || (err == nil && o.Kind.ForCustomer()) {
		return invitation.Offer{}, errOfferNotFound
	}
	if err != nil {
		return invitation.Offer{}, apperror.Internal(err)
	}
	return o, nil
}

// PrefetchTargets reads, beside the caller's access check and the request's idempotency key
// (httpapi.Prefetch), the agents and teams a forward names, for lookUp to take. It has the
// shape of PrefetchInvitees, whose conversation id it does not need.
func (s *Service) PrefetchTargets(ctx context.Context, _ string, route invitation.Route) {
	s.prefetchRoute(ctx, "", route)
}

// PrefetchInvitees is PrefetchTargets for an invitation, which also needs to know whether an
// invited agent is in the conversation already (checkNotIn).
func (s *Service) PrefetchInvitees(ctx context.Context, conversationID string, route invitation.Route) {
	s.prefetchRoute(ctx, conversationID, route)
}

// prefetchRoute reads every target of route in one Store.Targets (with each named agent's
// place in conversationID when it is set) and keeps each under the key its lookUp reads;
// for a chain, whether its agents are connected, which available asks, in the same read.
func (s *Service) prefetchRoute(ctx context.Context, conversationID string, route invitation.Route) {
	var agents, teams []string
	for _, t := range route {
		if to := t.Target(); to.Kind == invitation.TargetAgent {
			agents = append(agents, to.ID)
		} else {
			teams = append(teams, to.ID)
		}
	}
	// A chain whose first target is an agent asks whether its agents are available (Begun).
	chain := len(route) > 1 && route[0].Kind == invitation.TargetAgent
	read, err := s.Store.Targets(ctx, store.TargetsQuery{Agents: agents, Teams: teams, ConversationID: conversationID, Presence: chain})
	for _, id := range agents {
		keep(ctx, targetKey(invitation.Target{Kind: invitation.TargetAgent, ID: id}), read.Agent, id, err)
		if conversationID != "" {
			keep(ctx, inKey(conversationID, id), read.In, id, err)
		}
		if chain {
			requestscope.Keep(ctx, connectedKey(id), read.Connected(), err)
		}
	}
	for _, id := range teams {
		keep(ctx, targetKey(invitation.Target{Kind: invitation.TargetTeam, ID: id}), read.Team, id, err)
	}
}

// keep keeps under key what the read of id found, or the read's error when it failed.
func keep[T any](ctx context.Context, key string, found func(string) (T, error), id string, readErr error) {
	if readErr != nil {
		var zero T
		requestscope.Keep(ctx, key, zero, readErr)
		return
	}
	v, err := found(id)
	requestscope.Keep(ctx, key, v, err)
}

func targetKey(to invitation.Target) string { return "target#" + string(to.Kind) + "#" + to.ID }

func inKey(conversationID, agentID string) string {
	return "agent-in#" + conversationID + "#" + agentID
}

func (s *Service) readAgent(id string) func(context.Context) (directory.Agent, error) {
	return func(ctx context.Context) (directory.Agent, error) { return s.Store.Agent(ctx, id) }
}

func (s *Service) readTeam(id string) func(context.Context) (directory.Team, error) {
	return func(ctx context.Context) (directory.Team, error) { return s.Store.Team(ctx, id) }
}

func membersKey(teamID string) string { return "members#" + teamID }

func (s *Service) readMembers(teamID string) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) { return s.Store.TeamMembers(ctx, teamID) }
}

func connectedKey(agentID string) string { return "connected#" + agentID }

func (s *Service) readConnected(agentID string) func(context.Context) (map[string]bool, error) {
	return func(ctx context.Context) (map[string]bool, error) { return s.Store.Connected(ctx, []string{agentID}) }
}

func (s *Service) readAgentIn(conversationID, agentID string) func(context.Context) (conversation.Participant, error) {
	return func(ctx context.Context) (conversation.Participant, error) {
		return s.Store.Participant(ctx, conversationID, conversation.AgentParticipantID(agentID))
	}
}

// PrefetchOffer reads the offer an agent answers (accept, decline) beside the request's
// idempotency key (httpapi.Prefetch), for the answer's first loadOffer to take.
func (s *Service) PrefetchOffer(ctx context.Context, p auth.Principal, id string) {
	if id == "" || p.RequireAgent() != nil {
		return // answered without reading
	}
	requestscope.ReadAhead(ctx, offerScopeKey(id), s.readOffer(id))
}

func offerScopeKey(id string) string { return "offer#" + id }

func (s *Service) readOffer(id string) func(context.Context) (invitation.Offer, error) {
	return func(ctx context.Context) (invitation.Offer, error) { return s.Store.Offer(ctx, id) }
}

var errConversationNotFound = apperror.NotFound("conversation_not_found", "there is no such conversation")

var errOfferNotFound = apperror.NotFound("invitation_not_found", "there is no such invitation")

// readState reads the conversation an offer belongs to, as the hand-over rules see it.
func (s *Service) readState(ctx context.Context, conversationID string) (store.HandoverState, error) {
	st, err := s.Store.HandoverState(ctx, conversationID)
	if store.IsNotFound(err) {
		return store.HandoverState{}, errConversationNotFound
	}
	if err != nil {
		return store.HandoverState{}, apperror.Internal(err)
	}
	return st, nil
}
