// Package conversations holds the conversation actions (start, get, history, message, leave,
// end) and the one access check every conversation route uses: authorization is decided on
// the data for every request, never on the token alone.
package conversations

import (
	"context"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
)

// Publisher delivers events to the people who may see them (WebSocket push). Publishing is
// best effort: history is the truth, so a failed push never fails an action.
type Publisher interface {
	Publish(ctx context.Context, events ...conversation.Event)
}

// NopPublisher drops events; for functions and tests that push nothing.
type NopPublisher struct{}

// Publish does nothing.
func (NopPublisher) Publish(context.Context, ...conversation.Event) {}

// Service runs the conversation actions.
type Service struct {
	Store      Store
	Publisher  Publisher
	Offers     Offerer // offers visitor-started conversations to a team; nil: none
	Directory  AgentNames
	Now        func() time.Time
	SessionTTL time.Duration
	// DefaultTeamID receives visitor-started conversations that name no team.
	DefaultTeamID string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) publish(ctx context.Context, events ...conversation.Event) {
	if s.Publisher != nil && len(events) > 0 {
		s.Publisher.Publish(context.WithoutCancel(ctx), events...)
	}
}

// Offerer offers a visitor-started conversation to a team exactly like a forward (SPEC §4).
type Offerer interface {
	OfferToTeam(ctx context.Context, conv conversation.Conversation, teamID string) error
}

// AgentNames resolves an agent's display name from the directory.
type AgentNames interface {
	AgentName(ctx context.Context, agentID string) (string, error)
}
