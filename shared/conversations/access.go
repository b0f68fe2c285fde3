package conversations

import (
	"context"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/requestscope"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Access is a caller's standing in a conversation, established on current data.
type Access struct {
	Conversation conversation.Conversation
	Participant  conversation.Participant
	Head         store.Head // the history head, read with the rest
	// PendingForward is the conversation's pending forward ("" for none), as read.
	PendingForward string
}

// ErrNotParticipant is the answer to anyone who is not (or no longer) in the conversation.
var ErrNotParticipant = apperror.Forbidden("not_participant", "you are not a participant of this conversation")

// Authorize establishes that the caller is a current, active participant of the
// conversation: for a visitor, the session must still exist (it is deleted on leave or end)
// and be bound to this conversation; for an agent, the agent must be a participant right now
// (a forwarder whose forward was accepted is not). An invitee still waiting in the lobby is
// 403 waiting_for_admission. Every conversation route calls this first.
func Authorize(ctx context.Context, st Store, p auth.Principal, conversationID string) (Access, error) {
	acc, err := AuthorizePresent(ctx, st, p, conversationID)
	if err != nil {
		return Access{}, err
	}
	if !acc.Participant.Active() {
		return Access{}, conversation.ErrWaitingForAdmission
	}
	return acc, nil
}

// AuthorizePresent is Authorize that also lets in an invitee waiting in the lobby, for what
// they may do while they wait: open a WebSocket to hear whether they are let in (SPEC §9.3).
// A wait that has run out is a refusal, whether or not the sweep has recorded it: the
// session has ended (401).
func AuthorizePresent(ctx context.Context, st Store, p auth.Principal, conversationID string) (Access, error) {
	if err := p.RequireAuthenticated(); err != nil {
		return Access{}, err
	}
	if conversationID == "" {
		return Access{}, apperror.Invalid("missing_conversation_id", "the conversation id is missing")
	}
	participantID, sessionHash, err := whoIn(p, conversationID)
	if err != nil {
		return Access{}, err
	}
	standing, err := standingOf(ctx, st, conversationID, participantID, sessionHash)
	if err != nil {
		return Access{}, apperror.Internal(err)
	}
	if err := judge(standing, p, st.Now()); err != nil {
		return Access{}, err
	}
	return Access{Conversation: standing.Conversation, Participant: standing.Participant, Head: standing.Head,
		PendingForward: standing.PendingForward}, nil
}

// Prefetch reads the caller's standing in the conversation ahead of the access check, for a
// request that has other work to wait on meanwhile (its idempotency claim): the check then
// takes it from the request's scope instead of reading it.
func Prefetch(ctx context.Context, st Store, p auth.Principal, conversationID string) {
	participantID, sessionHash, err := whoIn(p, conversationID)
	if err != nil || p.RequireAuthenticated() != nil || conversationID == "" {
		return // the access check answers these without reading
	}
	requestscope.ReadAhead(ctx, standingKey(conversationID, participantID, sessionHash), readStanding(st, conversationID, participantID, sessionHash))
}

func readStanding(st Store, conversationID, participantID, sessionHash string) func(context.Context) (store.Standing, error) {
	return func(ctx context.Context) (store.Standing, error) {
		return st.Standing(ctx, conversationID, participantID, sessionHash)
	}
}

func standingKey(conversationID, participantID, sessionHash string) string {
	return "standing#" + conversationID + "#" + participantID + "#" + sessionHash
}

// standingOf is the standing prefetched for this request, or read now.
func standingOf(ctx context.Context, st Store, conversationID, participantID, sessionHash string) (store.Standing, error) {
	return requestscope.ReadOnce(ctx, standingKey(conversationID, participantID, sessionHash), readStanding(st, conversationID, participantID, sessionHash))
}

// judge decides a caller's standing, in the order a caller learns most from: a visitor whose
// session has ended hears that first (401), then whether the conversation exists, then
// whether they are in it.
func judge(s store.Standing, p auth.Principal, now time.Time) error {
	switch {
	case !p.IsAgent() && !s.SessionFound:
		// The authorizer checked the session moments ago, but a leave or end may have
		// revoked it since (or a cached authorization may be replayed).
		return errSessionEnded
	case !s.ConversationFound:
		return apperror.NotFound("conversation_not_found", "there is no such conversation")
	case !p.IsAgent() && !s.Conversation.Open():
		// A visitor's session ends with the conversation, even before the end's cleanup
		// has deleted it.
		return errSessionEnded
	case !s.ParticipantFound:
		return ErrNotParticipant
	case s.Participant.TimedOut(now):
		return errSessionEnded
	}
	return nil
}

var errSessionEnded = apperror.Unauthenticated("session_revoked", "the visitor session has ended")

// AuthorizeAgent is Authorize for actions only an agent participant may take. An invitee
// waiting in the lobby hears that they are waiting (403 waiting_for_admission), as on every
// other conversation route, rather than that they are no agent.
func AuthorizeAgent(ctx context.Context, st Store, p auth.Principal, conversationID string) (Access, error) {
	if err := p.RequireAgent(); err != nil {
		if p.IsVisitor() && p.ConversationID == conversationID {
			if acc, perr := AuthorizePresent(ctx, st, p, conversationID); perr == nil && !acc.Participant.Active() {
				return Access{}, conversation.ErrWaitingForAdmission
			}
		}
		return Access{}, err
	}
	return Authorize(ctx, st, p, conversationID)
}

// whoIn names the participant item (and for a visitor the session item) that says whether
// the caller is in the conversation. A visitor's session is bound to one conversation.
func whoIn(p auth.Principal, conversationID string) (participantID, sessionHash string, err error) {
	if p.IsAgent() {
		return conversation.AgentParticipantID(p.AgentID), "", nil
	}
	if p.ConversationID != conversationID {
		return "", "", ErrNotParticipant
	}
	return p.ParticipantID, p.SessionHash, nil
}

// AuthorizeAgentInOpen is AuthorizeAgent for actions that change an open conversation
// (inviting, forwarding): an ended conversation is 409 conversation_ended.
func AuthorizeAgentInOpen(ctx context.Context, st Store, p auth.Principal, conversationID string) (Access, error) {
	acc, err := AuthorizeAgent(ctx, st, p, conversationID)
	if err != nil {
		return Access{}, err
	}
	if err := acc.Conversation.RequireOpen(); err != nil {
		return Access{}, err
	}
	return acc, nil
}
