// Package invitation holds the rules of invitations: the five kinds (a customer by PIN or by
// email link, an agent, a team, a forward), their life from pending to an end state, expiry
// decided at read time, and the PINs and their keyed hashes. It knows nothing of AWS, HTTP or
// storage; the use cases in shared/invitations load, decide with these rules, and save.
package invitation

import (
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
)

// Kind says whom an invitation is for and how it is answered.
type Kind string

const (
	// KindPIN invites a customer, who types the PIN on the join page.
	KindPIN Kind = "pin"
	// KindEmail invites a customer by a link with a join token, sent by email.
	KindEmail Kind = "email"
	// KindAgent invites one agent, who accepts or declines.
	KindAgent Kind = "agent"
	// KindTeam invites a team; the first member to accept joins.
	KindTeam Kind = "team"
	// KindForward hands the conversation to an agent or a team.
	KindForward Kind = "forward"
)

// ForCustomer reports whether the invitation is redeemed by a customer with a secret (a PIN or
// a join token) rather than accepted by an agent.
func (k Kind) ForCustomer() bool { return k == KindPIN || k == KindEmail }

// Status is where an invitation is in its life. Pending is the only state that can change;
// every other one is final, except that a failed or expired customer invitation can be renewed.
type Status string

const (
	StatusPending  Status = "pending"
	StatusAccepted Status = "accepted" // an agent or team member accepted
	StatusDeclined Status = "declined" // the invited agent declined
	StatusRedeemed Status = "redeemed" // a customer used the PIN or link
	StatusRevoked  Status = "revoked"  // an agent revoked it, or the conversation ended
	StatusExpired  Status = "expired"  // nobody answered in time
	StatusFailed   Status = "failed"   // the email could not be sent
)

// Invitation is one invitation into a conversation. Customer invitations (PIN, email) carry
// the hash of their current secret; agent, team and forward invitations carry their target
// and message.
type Invitation struct {
	ID             string    `json:"invitationId"`
	ConversationID string    `json:"conversationId"`
	Kind           Kind      `json:"kind"`
	Status         Status    `json:"status"`
	CreatedBy      string    `json:"createdBy"` // agent id of the inviting agent
	CreatedAt      time.Time `json:"createdAt"`
	// ExpiresAt is when a pending invitation stops working; zero means it does not expire.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`

	// Email invitations: the address, and what the agent wrote about the customer.
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	Note  string `json:"note,omitempty"`
	// Admit, on a customer invitation, makes whoever redeems it wait to be let in: "agent" or
	// "customer" (SPEC §9.3); empty for "none".
	Admit conversation.Admit `json:"admit,omitempty"`

	// Agent, team and forward invitations.
	TargetAgentID string `json:"targetAgentId,omitempty"`
	TargetTeamID  string `json:"targetTeamId,omitempty"`
	Message       string `json:"message,omitempty"`
	// Targets is the fallback chain (chain.go): every target in order with its answer. The
	// target fields above name the current one, Stage its place, and ExpiresAt the end of its
	// window.
	Targets []ChainTarget `json:"targets,omitempty"`
	Stage   int           `json:"-"`

	// How it ended: when, by whom (an agent id, or the participant id of a redeeming customer)
	// and why (a decline's reason, why a send failed, "conversation_ended").
	ResolvedAt time.Time `json:"resolvedAt,omitzero"`
	ResolvedBy string    `json:"resolvedBy,omitempty"`
	Reason     string    `json:"reason,omitempty"`

	// Emails: how many were attempted and when the last one was.
	SendCount  int       `json:"sendCount,omitempty"`
	LastSentAt time.Time `json:"lastSentAt,omitzero"`
	// Emails: what became of the last one (delivery.go). DeliveryAt is when the recorded
	// report happened, which orders bounces, complaints and refusals; MessageID is SES's id of
	// the last email, which its notifications name.
	Delivery       Delivery  `json:"delivery,omitempty"`
	DeliveryDetail string    `json:"deliveryDetail,omitempty"`
	DeliveryAt     time.Time `json:"-"`
	MessageID      string    `json:"-"`

	// SecretHash keys the live PIN or join-token item of a pending customer invitation, so
	// revoking, renewing or ending can delete it. Never shown to anyone.
	SecretHash string `json:"-"`
}

// ReasonConversationEnded is why the invitations an end revokes ended: recorded on each, and
// given with the invitation.taken that tells an agent offer's addressees it left their inbox.
const ReasonConversationEnded = "conversation_ended"

// Limits on what agents type into an invitation.
const (
	MaxNameLen    = 80
	MaxNoteLen    = 1000
	MaxMessageLen = 1000
)

// MaxPendingPerConversation bounds the pending invitations of one conversation. It keeps the
// transaction that ends a conversation (which revokes them all) within DynamoDB's limits and
// keeps one agent from filling the PIN space.
const MaxPendingPerConversation = 20

// Expired reports whether a pending invitation's time ran out. Expiry is decided here, at read
// time, because DynamoDB's TTL deletes items late (up to days).
func (i Invitation) Expired(now time.Time) bool {
	return i.Status == StatusPending && !i.ExpiresAt.IsZero() && !now.Before(i.Deadline())
}

// EffectiveStatus is the status as of now: a pending invitation past its expiry is expired,
// whatever the stored item says.
func (i Invitation) EffectiveStatus(now time.Time) Status {
	if i.Expired(now) {
		return StatusExpired
	}
	return i.Status
}

// Pending reports whether the invitation can still be answered.
func (i Invitation) Pending(now time.Time) bool { return i.EffectiveStatus(now) == StatusPending }

// AsOf returns the invitation as callers see it now: with its effective status, and its
// fallback chain where time has moved it.
func (i Invitation) AsOf(now time.Time) Invitation {
	status := i.EffectiveStatus(now)
	i = i.chainAsSeen(now)
	i.Status = status
	return i
}

// AsSeen is the invitation as callers see it: with its effective status, and revoked if it
// is still pending in a conversation that has ended. An invitation cannot outlive its
// conversation; ending revokes the pending ones, and this covers one the end did not see.
func (i Invitation) AsSeen(now time.Time, conversationOpen bool) Invitation {
	i = i.AsOf(now)
	if !conversationOpen && i.Status == StatusPending {
		i.Status = StatusRevoked
	}
	return i
}

// ErrNotPending answers an attempt to change an invitation that is no longer pending.
var ErrNotPending = apperror.Conflict("invitation_not_pending", "the invitation is no longer pending")

// CheckRevocable allows revoking only while the invitation is pending.
func (i Invitation) CheckRevocable(now time.Time) error {
	if !i.Pending(now) {
		return ErrNotPending
	}
	return nil
}

// CheckRenewable allows a new PIN or a new email for a customer invitation that is pending,
// expired or failed: the agent asks again for the same invitation. One that was redeemed or
// revoked stays so.
func (i Invitation) CheckRenewable(now time.Time) error {
	if !i.Kind.ForCustomer() {
		return apperror.Conflict("invitation_not_resendable", "only PIN and email invitations can be sent again")
	}
	switch i.EffectiveStatus(now) {
	case StatusPending, StatusExpired, StatusFailed:
		return nil
	}
	return ErrNotPending
}

// Renewed is the invitation after a renewal: pending again under a new secret until a new
// expiry, with the end of its previous life forgotten.
func (i Invitation) Renewed(secretHash string, now, expiresAt time.Time) Invitation {
	i.Status = StatusPending
	i.SecretHash = secretHash
	i.ExpiresAt = expiresAt
	i.ResolvedAt, i.ResolvedBy, i.Reason = time.Time{}, "", ""
	if i.Kind == KindEmail {
		i.SendCount++
		i.LastSentAt = now
		i.Delivery, i.DeliveryDetail, i.DeliveryAt, i.MessageID = DeliverySending, "", now, ""
	}
	return i
}

// ErrTooManyPending refuses an invitation over MaxPendingPerConversation. The count is kept
// by the store, in the same transactions that create and settle invitations, so parallel
// creates cannot pass it. An invitation whose time ran out counts until the sweeper expires it
// (within about a minute).
var ErrTooManyPending = apperror.Conflict("too_many_pending_invitations",
	"the conversation has too many pending invitations; revoke some first")

// ValidUntil is the expiry of a new secret, cut to whole seconds: the store compares expiry in
// epoch seconds, so what the caller is told is exactly what is enforced.
func ValidUntil(now time.Time, ttl time.Duration) time.Time {
	return now.Add(ttl).Truncate(time.Second).UTC()
}
