package invitation

import (
	"fmt"
	"slices"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
)

// This file holds the rules of the invitations agents answer — an agent, a team, a forward —
// which together hand a conversation from one agent to another without ever leaving the
// customer alone. The use cases live in shared/handover.

// Purpose says why a forward-kind invitation exists. Only an agent's own forward can be
// declined or time out; the other two are how a conversation nobody holds waits for someone.
type Purpose string

const (
	// PurposeForward: an agent forwarded the conversation.
	PurposeForward Purpose = ""
	// PurposeIncoming: nobody holds the conversation (a visitor started it, or its assignee
	// left), so it is offered to its team until a member takes it or it ends.
	PurposeIncoming Purpose = "incoming"
	// PurposeReturn: a forward of a conversation nobody holds was declined, timed out or could
	// not be answered, so it goes back to the forwarder to take back.
	PurposeReturn Purpose = "return"
)

// TargetKind says whether an offer is addressed to one agent or to a team.
type TargetKind string

const (
	TargetAgent TargetKind = "agent"
	TargetTeam  TargetKind = "team"
)

// Target is whom an agent, team or forward invitation is addressed to.
type Target struct {
	Kind TargetKind `json:"kind"`
	ID   string     `json:"id"`
}

// Offer is an agent, team or forward invitation: one that agents answer by accepting or
// declining, found in their inbox.
type Offer struct {
	Invitation
	Purpose Purpose `json:"purpose,omitempty"`
	// DeclinedBy are the team members who declined; it is hidden from them, and declined for
	// good once every member has.
	DeclinedBy []string `json:"declinedBy,omitempty"`
	// A returned conversation says why it came back ("declined" or "expired") and, for a
	// decline, the decliner's reason.
	ReturnedBecause string `json:"returnedBecause,omitempty"`
	ReturnedReason  string `json:"returnedReason,omitempty"`
	// Context is the conversation as the offer shows it (SPEC §9.4), and CreatedByName and
	// TargetName the names it shows: written with the offer, and the context refreshed while
	// it is pending, so the inbox reads nothing else (see context.go).
	Context       conversation.Context `json:"-"`
	CreatedByName string               `json:"-"`
	TargetName    string               `json:"-"`
}

// Why a forward came back to the forwarder.
const (
	ReturnedDeclined = "declined"
	ReturnedExpired  = "expired"
)

// Target is whom the offer is addressed to.
func (o Offer) Target() Target {
	if o.TargetTeamID != "" {
		return Target{Kind: TargetTeam, ID: o.TargetTeamID}
	}
	return Target{Kind: TargetAgent, ID: o.TargetAgentID}
}

// IsForward reports whether accepting the offer makes the accepter the assignee.
func (o Offer) IsForward() bool { return o.Kind == KindForward }

// Declinable reports whether the offer may be declined. An offer of a conversation nobody
// holds may not: declining it would leave the customer with nobody.
func (o Offer) Declinable() bool { return o.Purpose == PurposeForward }

// DeclinedByAgent reports whether the agent declined this offer (to a team).
func (o Offer) DeclinedByAgent(agentID string) bool { return slices.Contains(o.DeclinedBy, agentID) }

// Offer lifetimes: bounded so that a forward nobody answers comes back while the customer is
// still there.
const (
	DefaultInvitationTTL  = 60 * time.Minute
	DefaultForwardTimeout = 10 * time.Minute
	// DefaultUnansweredAfter is how long a conversation nobody holds waits for an agent of
	// its team before it ends as unanswered.
	DefaultUnansweredAfter = 30 * time.Minute
	MaxOfferTTL            = 24 * time.Hour
	MaxDeclineReasonLen    = 500
)

// NewAgentInvitation invites one agent into a conversation; it expires after ttl.
func NewAgentInvitation(conversationID, inviterID string, to Target, message string, now time.Time, ttl time.Duration) Offer {
	kind := KindAgent
	if to.Kind == TargetTeam {
		kind = KindTeam
	}
	return newOffer(kind, PurposeForward, conversationID, inviterID, to, message, now, ValidUntil(now, ttl))
}

// NewForward offers a conversation to an agent or team on behalf of the forwarder; it
// comes back to the forwarder if nobody answers within timeout.
func NewForward(conversationID, forwarderID string, to Target, message string, now time.Time, timeout time.Duration) Offer {
	return newOffer(KindForward, PurposeForward, conversationID, forwarderID, to, message, now, ValidUntil(now, timeout))
}

// NewIncomingOffer offers a conversation nobody holds to its team. It has no inviter; if no
// member takes it within unansweredAfter, the conversation ends as unanswered — a customer
// is told, rather than wait for ever, and nobody can fill the inboxes with offers that never
// go away.
func NewIncomingOffer(conversationID, teamID string, now time.Time, unansweredAfter time.Duration) Offer {
	return newOffer(KindForward, PurposeIncoming, conversationID, "", Target{Kind: TargetTeam, ID: teamID}, "", now, ValidUntil(now, unansweredAfter))
}

// NewReturn offers a conversation back to the agent whose forward was declined or timed
// out while nobody held it. It carries the forward's message and why it came back (because:
// ReturnedDeclined or ReturnedExpired, with the decliner's reason), and waits without
// expiry: the forwarder is the last person who held the conversation.
func NewReturn(f Offer, because, reason string, now time.Time) Offer {
	r := newOffer(KindForward, PurposeReturn, f.ConversationID, "", Target{Kind: TargetAgent, ID: f.CreatedBy}, f.Message, now, time.Time{})
	r.ReturnedBecause, r.ReturnedReason = because, reason
	r.TargetName = f.CreatedByName
	return r
}

// Routed is a new invitation or forward offered along the route: to its first target, the
// others queued behind it (Begun skips the unavailable). lone is the window of a lone target
// whose request names none: the deployment's lifetime for invitations or forwards (§5).
func (o Offer) Routed(r Route, now time.Time, lone time.Duration) Offer {
	r = slices.Clone(r)
	if len(r) == 1 && r[0].AfterSeconds == 0 {
		r[0].AfterSeconds = int(lone / time.Second)
	}
	o.startChain(r, now, DefaultWindowSeconds*time.Second)
	return o
}

func newOffer(kind Kind, purpose Purpose, conversationID, createdBy string, to Target, message string, now, expires time.Time) Offer {
	o := Offer{Invitation: Invitation{
		ID: ids.New("inv"), ConversationID: conversationID, Kind: kind, Status: StatusPending,
		CreatedBy: createdBy, CreatedAt: now, ExpiresAt: expires, Message: message,
	}, Purpose: purpose}
	if to.Kind == TargetTeam {
		o.TargetTeamID = to.ID
	} else {
		o.TargetAgentID = to.ID
	}
	return o
}

// Answer errors: stable codes callers switch on.
var (
	ErrNotInvited      = apperror.Forbidden("not_invited", "this invitation is not addressed to you or your teams")
	ErrTaken           = apperror.Conflict("invitation_taken", "someone else accepted this invitation first")
	ErrExpired         = apperror.Gone("invitation_expired", "the invitation has expired")
	ErrOwnForward      = apperror.Conflict("own_forward", "you cannot answer your own forward")
	ErrAlreadyDeclined = apperror.Conflict("already_declined", "you have already declined this invitation")
	ErrNotDeclinable   = apperror.Conflict("offer_not_declinable", "a conversation nobody holds cannot be declined; accept it, then forward it if needed")
	ErrAlreadyIn       = apperror.Conflict("already_participant", "the agent is already in the conversation")
)

// CheckAnswerer allows only the invited agent, or a member of the invited team, to answer;
// a forwarder never answers their own forward.
func (o Offer) CheckAnswerer(agentID string, memberOfTeam bool) error {
	addressed := (o.TargetAgentID != "" && o.TargetAgentID == agentID) || (o.TargetTeamID != "" && memberOfTeam)
	if !addressed {
		return ErrNotInvited
	}
	if o.IsForward() && o.CreatedBy == agentID {
		return ErrOwnForward
	}
	return nil
}

// CheckPending allows an answer only while the offer is pending and unexpired. A team
// invitation someone else accepted is "taken"; one whose time ran out is gone.
func (o Offer) CheckPending(now time.Time) error {
	switch o.EffectiveStatus(now) {
	case StatusPending:
		return nil
	case StatusAccepted:
		return ErrTaken
	case StatusExpired:
		return ErrExpired
	}
	return ErrNotPending
}

// CheckDeclinable allows a decline of a pending, declinable offer the agent has not declined yet.
func (o Offer) CheckDeclinable(agentID string, now time.Time) error {
	if err := o.CheckPending(now); err != nil {
		return err
	}
	if !o.Declinable() {
		return ErrNotDeclinable
	}
	if o.DeclinedByAgent(agentID) {
		return ErrAlreadyDeclined
	}
	return nil
}

// DeclineIsFinal reports whether the agent's decline ends the offer: always for an agent,
// and for a team once every current member has declined.
func (o Offer) DeclineIsFinal(agentID string, members []string) bool {
	if o.TargetTeamID == "" {
		return true
	}
	for _, m := range members {
		if m != agentID && !o.DeclinedByAgent(m) {
			return false
		}
	}
	return true
}

// InInboxOf reports whether the offer belongs in the agent's inbox now: pending, unexpired,
// not declined by them, and not their own forward or invitation.
func (o Offer) InInboxOf(agentID string, now time.Time) bool {
	return o.Pending(now) && !o.DeclinedByAgent(agentID) && o.CreatedBy != agentID
}

// CheckForwardTarget refuses forwarding to oneself.
func CheckForwardTarget(forwarderID string, to Target) error {
	if to.Kind == TargetAgent && to.ID == forwarderID {
		return apperror.New(apperror.KindUnprocessable, "cannot_forward_to_self", "you cannot forward a conversation to yourself")
	}
	return nil
}

// CheckInviteTarget refuses inviting oneself.
func CheckInviteTarget(inviterID string, to Target) error {
	if to.Kind == TargetAgent && to.ID == inviterID {
		return apperror.New(apperror.KindUnprocessable, "cannot_invite_self", "you cannot invite yourself")
	}
	return nil
}

// CheckOfferTTL refuses offer lifetimes outside 1 minute … 24 hours.
func CheckOfferTTL(name string, ttl time.Duration) error {
	if ttl < time.Minute || ttl > MaxOfferTTL {
		return fmt.Errorf("invitation: %s %s is outside 1m…%s", name, ttl, MaxOfferTTL)
	}
	return nil
}

// The history events of offers. What an invitation or forward says, and to whom, is for
// agents only; a visitor sees only that the conversation is being transferred, and who joined.

// OfferedEvent tells the agents about a new offer, with its message.
func OfferedEvent(o Offer, actorID string, at time.Time) conversation.Event {
	return agentsEvent(o.Invitation, conversation.EventInvitationCreated, actorID, at, offerExtra(o))
}

// ForwardNotice is what everyone, visitors included, sees of a forward or an offer: that
// the conversation is being transferred, and to whom by name — never the message.
func ForwardNotice(conversationID, actorID, toName string, toKind TargetKind, at time.Time) conversation.Event {
	return conversation.Event{
		ConversationID: conversationID, Type: conversation.EventConversationForwarded,
		At: at, Audience: conversation.AudienceEveryone, ActorID: actorID,
		Data: map[string]any{"to": toName, "toKind": string(toKind)},
	}
}

// AcceptedEvent tells the agents who accepted the offer.
func AcceptedEvent(o Offer, accepterID, actorID string, at time.Time) conversation.Event {
	extra := offerExtra(o)
	extra["acceptedBy"] = accepterID
	return agentsEvent(o.Invitation, conversation.EventInvitationAccepted, actorID, at, extra)
}

// DeclinedEvent tells the agents, the inviter above all, who declined and why. For a team
// it says whether the offer is still open to the other members.
func DeclinedEvent(o Offer, declinerID, reason string, final bool, at time.Time) conversation.Event {
	extra := offerExtra(o)
	extra["declinedBy"] = declinerID
	extra["final"] = final
	if reason != "" {
		extra["reason"] = reason
	}
	return agentsEvent(o.Invitation, conversation.EventInvitationDeclined, declinerID, at, extra)
}

// ExpiredEvent tells the agents that nobody answered in time.
func ExpiredEvent(inv Invitation, at time.Time) conversation.Event {
	return agentsEvent(inv, conversation.EventInvitationExpired, "", at, nil)
}

// TakenEvent tells a team's other members that a colleague accepted first. It is pushed,
// not kept: history already has invitation.accepted.
func TakenEvent(o Offer, accepterID string, at time.Time) conversation.Event {
	extra := offerExtra(o)
	extra["acceptedBy"] = accepterID
	return agentsEvent(o.Invitation, conversation.EventInvitationTaken, accepterID, at, extra)
}

func offerExtra(o Offer) map[string]any {
	extra := map[string]any{}
	if o.Purpose != PurposeForward {
		extra["purpose"] = string(o.Purpose)
	}
	if o.ReturnedBecause != "" {
		extra["returnedBecause"] = o.ReturnedBecause
	}
	if o.ReturnedReason != "" {
		extra["returnedReason"] = o.ReturnedReason
	}
	return extra
}

// JoinedEvent is the neutral participant.joined everyone sees when an agent accepts.
func JoinedEvent(p conversation.Participant, at time.Time) conversation.Event {
	data := participantData(p)
	if p.AgentID != "" {
		data["agentId"] = p.AgentID
	}
	return conversation.Event{
		ConversationID: p.ConversationID, Type: conversation.EventParticipantJoined,
		At: at, Audience: conversation.AudienceEveryone, ActorID: p.ID, Data: data,
	}
}
