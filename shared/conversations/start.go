package conversations

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/idempotency"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/requestscope"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Started is the answer to a start: a visitor also gets the session token that is its only
// credential (shown once, stored only as a hash).
type Started struct {
	ConversationID string `json:"conversationId"`
	ParticipantID  string `json:"participantId"`
	SessionToken   string `json:"sessionToken,omitempty"`
	// ExpiresAt is when the session token stops working; named as in the redeem answers.
	SessionExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// Start opens a conversation. An agent who starts one is its assignee; a visitor gets a
// session and the conversation is offered to a team like a forward (SPEC §4). Anonymous
// starts are limited per client IP: each one writes items and pages a team.
func (s *Service) Start(ctx context.Context, p auth.Principal, clientIP string, req conversation.StartRequest) (Started, error) {
	if p.AuthError != "" {
		// Bad credentials are refused, never downgraded to an anonymous start.
		return Started{}, p.RequireAuthenticated()
	}
	if p.IsVisitor() {
		return Started{}, apperror.Forbidden("already_in_conversation", "a visitor session belongs to one conversation; start a new one without it")
	}
	if err := req.Normalize(); err != nil {
		return Started{}, err
	}
	now := s.now()
	conv := conversation.Conversation{
		ID: ids.New("conv"), Status: conversation.StatusOpen, Topic: req.Topic,
		PageURL: req.PageURL, CreatedAt: now,
	}
	if p.IsAgent() {
		return s.startAsAgent(ctx, p, conv, req)
	}
	conv.TeamID = req.TeamID
	if conv.TeamID == "" {
		conv.TeamID = s.DefaultTeamID
	}
	return s.startAsVisitor(ctx, conv, clientIP, req)
}

// PrefetchStart reads what a start needs beside the request's idempotency key
// (httpapi.Prefetch): an agent's name, shown to whoever joins; or the team a visitor's
// conversation is offered to. A request the start would refuse reads nothing.
func (s *Service) PrefetchStart(ctx context.Context, p auth.Principal, req conversation.StartRequest) {
	switch {
	case p.AuthError != "" || p.IsVisitor() || req.Normalize() != nil:
	case p.IsAgent():
		if s.Directory != nil {
			requestscope.ReadAhead(ctx, agentNameKey(p.AgentID), s.readAgentName(p.AgentID))
		}
	case s.Offers != nil:
		if team := cmp.Or(req.TeamID, s.DefaultTeamID); team != "" {
			s.Offers.PrefetchTeam(ctx, team)
		}
	}
}

func agentNameKey(agentID string) string { return "agent-name#" + agentID }

func (s *Service) readAgentName(agentID string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) { return s.Directory.AgentName(ctx, agentID) }
}

func (s *Service) startAsAgent(ctx context.Context, p auth.Principal, conv conversation.Conversation, req conversation.StartRequest) (Started, error) {
	conv.Assignee = p.AgentID
	name := req.DisplayName
	if name == "" && s.Directory != nil {
		// A failed lookup fails the start rather than write a participant without a name.
		var err error
		if name, err = requestscope.ReadOnce(ctx, agentNameKey(p.AgentID), s.readAgentName(p.AgentID)); err != nil {
			return Started{}, apperror.Internal(err)
		}
	}
	part := conversation.Participant{
		ConversationID: conv.ID, ID: conversation.AgentParticipantID(p.AgentID),
		Kind: conversation.KindAgent, AgentID: p.AgentID, DisplayName: name, JoinedAt: conv.CreatedAt,
	}
	events := openingEvents(conv, part)
	events = append(events, conversation.Event{
		ConversationID: conv.ID, Type: conversation.EventConversationAssigned,
		At: conv.CreatedAt, Audience: conversation.AudienceEveryone, ActorID: part.ID,
		Data: map[string]any{"agentId": p.AgentID, "displayName": name},
	})
	return s.create(ctx, store.NewConversation{Conversation: conv, Participant: part, Events: events},
		Started{ConversationID: conv.ID, ParticipantID: part.ID})
}

// create writes the new conversation; on a keyed request that write also records the answer,
// started (idempotency.Answering): a visitor's start takes its rate-limit slots first, so it
// runs with a claim, and that spares it the write of its answer after the commit.
func (s *Service) create(ctx context.Context, n store.NewConversation, started Started) (Started, error) {
	if err := s.Store.CreateConversation(idempotency.Answering(ctx, started), n); err != nil {
		return Started{}, apperror.Internal(err)
	}
	return started, nil
}

func (s *Service) startAsVisitor(ctx context.Context, conv conversation.Conversation, clientIP string, req conversation.StartRequest) (Started, error) {
	token := ids.Token()
	part := conversation.Participant{
		ConversationID: conv.ID, ID: ids.New("vis"), Kind: conversation.KindVisitor,
		DisplayName: req.DisplayName, JoinedAt: conv.CreatedAt, SessionHash: ids.Hash(token),
	}
	expires := conv.CreatedAt.Add(s.SessionTTL)
	session := store.Session{Hash: part.SessionHash, ConversationID: conv.ID, ParticipantID: part.ID, ExpiresAt: expires}
	events := openingEvents(conv, part)
	offer, err := s.teamOffer(ctx, conv, req.TeamID != "")
	if err != nil {
		return Started{}, err
	}
	// Counted once the request is known to be valid, so refusals write nothing at all.
	if s.StartLimit != nil {
		if err := s.StartLimit.AllowAnonymousStart(ctx, clientIP, conv.TeamID); err != nil {
			return Started{}, err
		}
	}
	n := store.NewConversation{Conversation: conv, Participant: part, Session: &session, Events: events}
	if offer != nil {
		n.Offer, n.Events = &offer.Invitation, append(events, offer.Events...)
	}
	return s.create(ctx, n, Started{ConversationID: conv.ID, ParticipantID: part.ID, SessionToken: token, SessionExpiresAt: &expires})
}

func openingEvents(conv conversation.Conversation, first conversation.Participant) []conversation.Event {
	started := conversation.Event{
		ConversationID: conv.ID, Type: conversation.EventConversationStarted,
		At: conv.CreatedAt, Audience: conversation.AudienceEveryone, ActorID: first.ID,
		Data: map[string]any{"topic": conv.Topic},
	}
	joined := conversation.Event{
		ConversationID: conv.ID, Type: conversation.EventParticipantJoined,
		At: conv.CreatedAt, Audience: conversation.AudienceEveryone, ActorID: first.ID,
		Data: participantData(first),
	}
	return []conversation.Event{started, joined}
}

func participantData(p conversation.Participant) map[string]any {
	d := map[string]any{"participantId": p.ID, "kind": string(p.Kind)}
	if p.AgentID != "" {
		d["agentId"] = p.AgentID
	}
	if p.DisplayName != "" {
		d["displayName"] = p.DisplayName
	}
	return d
}

// teamOffer prepares the offer of a visitor's new conversation to its team, saved with the
// conversation so it never exists unoffered. A team the visitor named must exist (404
// before anything is written); a default team that does not is our misconfiguration.
func (s *Service) teamOffer(ctx context.Context, conv conversation.Conversation, namedByVisitor bool) (*TeamOffer, error) {
	if s.Offers == nil || conv.TeamID == "" {
		return nil, nil
	}
	o, err := s.Offers.OfferToTeam(ctx, conv, conv.TeamID)
	if err != nil && !namedByVisitor && apperror.Is(err, "team_not_found") {
		return nil, apperror.Internal(fmt.Errorf("the default team %q does not exist", conv.TeamID))
	}
	if err != nil {
		return nil, err
	}
	if namedByVisitor && len(o.Members) == 0 {
		// Nobody could ever answer: refuse rather than leave the visitor waiting. (The default
		// team is ours to staff; members who join later see its offers.)
		return nil, apperror.New(apperror.KindUnprocessable, "team_empty", "that team has no members to answer")
	}
	return &o, nil
}
