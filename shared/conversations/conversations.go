// Package conversations holds the conversation actions (start, get, history, message, leave,
// end) and the one access check every conversation route uses: authorization is decided on
// the data for every request, never on the token alone.
package conversations

import (
	"context"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Service runs the conversation actions.
type Service struct {
	Store      Store
	Offers     Offerer // offers visitor-started conversations to a team; nil: none
	Directory  AgentNames
	Now        func() time.Time
	SessionTTL time.Duration
	// DefaultTeamID receives visitor-started conversations that name no team.
	DefaultTeamID string
	// StartLimit bounds anonymous starts per client; nil: unlimited.
	StartLimit StartLimiter
}

// StartLimiter says whether one more anonymous start from a client is allowed now; over the
// limit it answers 429 rate_limited with Retry-After.
type StartLimiter interface {
	AllowAnonymousStart(ctx context.Context, clientIP, teamID string) error
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Offerer offers a conversation nobody holds to a team exactly like a forward (SPEC §4): one
// a visitor starts, and one whose assignee leaves. shared/handover implements it.
type Offerer interface {
	// OfferToTeam prepares the offer of a new conversation to the team; it writes nothing, so
	// the offer is saved with the conversation. An unknown team is 404 team_not_found.
	OfferToTeam(ctx context.Context, conv conversation.Conversation, teamID string) (TeamOffer, error)
	// PrefetchTeam reads the team beside other work of the request (httpapi.Prefetch), for
	// the request's OfferToTeam to take.
	PrefetchTeam(ctx context.Context, teamID string)
	// LeaveAsAssignee lets the assignee of an open conversation leave with the given events;
	// unless the conversation waits on a forward, it is offered to its team in the same
	// transaction.
	LeaveAsAssignee(ctx context.Context, leaver conversation.Participant, events []conversation.Event) error
}

// TeamOffer is a prepared offer of a conversation to a team: the invitation and the events
// that tell it, addressed to the team's members (Event.PushTo).
type TeamOffer struct {
	Invitation invitation.Offer
	Events     []conversation.Event
	Members    []string
}

// AgentNames resolves an agent's display name from the directory.
type AgentNames interface {
	AgentName(ctx context.Context, agentID string) (string, error)
}
