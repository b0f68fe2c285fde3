package store

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Hand-over: agent, team and forward invitations ("offers"), and the conversation's
// pendingForward pointer.
//
// An offer is an invitation item (INV#<id>) with two more attributes: purpose (why a forward
// exists) and declinedBy (a string set of team members who declined). While pending it sits
// in its target's inbox (gsi2) and, when it can expire, in the due index (gsi3); both keys
// are removed in the same write that ends it.
//
// A conversation waits on at most one forward: the conversation item's pendingForward names
// it. Every write that creates, replaces or ends a forward changes the pointer in the same
// transaction, conditioned on the conversation as the caller read it (open, same pointer,
// same assignee). So two hand-overs of one conversation cannot both win: a forward racing
// with another forward, an accept, a decline, an expiry, a revocation or the assignee's
// leave fails on "conversation" (or on the invitation), and the caller reads again.

// HandoverState is a conversation with the forward it waits on, as read.
type HandoverState struct {
	Conversation   conversation.Conversation
	PendingForward string // id of the pending forward, "" for none
}

// offerItem is the invitation item of an offer.
type offerItem struct {
	invitationItem
	Purpose         string   `dynamodbav:"purpose,omitempty"`
	DeclinedBy      []string `dynamodbav:"declinedBy,stringset,omitempty"`
	ReturnedBecause string   `dynamodbav:"returnedBecause,omitempty"`
	ReturnedReason  string   `dynamodbav:"returnedReason,omitempty"`
	// Context and the names are what the inbox shows, kept on the offer (context.go).
	Context       *contextItem `dynamodbav:"context,omitempty"`
	CreatedByName string       `dynamodbav:"createdByName,omitempty"`
	TargetName    string       `dynamodbav:"targetName,omitempty"`
}

func toOfferItem(o invitation.Offer) offerItem {
	return offerItem{
		invitationItem: toInvitationItem(o.Invitation), Purpose: string(o.Purpose), DeclinedBy: o.DeclinedBy,
		ReturnedBecause: o.ReturnedBecause, ReturnedReason: o.ReturnedReason,
		Context: toContextItem(o.Context), CreatedByName: o.CreatedByName, TargetName: o.TargetName,
	}
}

func (it offerItem) domain() invitation.Offer {
	return invitation.Offer{
		Invitation: it.invitationItem.domain(), Purpose: invitation.Purpose(it.Purpose), DeclinedBy: it.DeclinedBy,
		ReturnedBecause: it.ReturnedBecause, ReturnedReason: it.ReturnedReason,
		Context: it.Context.domain(), CreatedByName: it.CreatedByName, TargetName: it.TargetName,
	}
}

// HandoverState reads a conversation with its pending forward; ErrNotFound if there is none.
func (s *Store) HandoverState(ctx context.Context, conversationID string) (HandoverState, error) {
	var it conversationItem
	if err := s.getItem(ctx, convPK(conversationID), metaSK, true, &it); err != nil {
		return HandoverState{}, err
	}
	return HandoverState{Conversation: it.domain(), PendingForward: it.PendingForward}, nil
}

// Offer reads an invitation with what only offers have; ErrNotFound if there is none.
func (s *Store) Offer(ctx context.Context, id string) (invitation.Offer, error) {
	var it offerItem
	if err := s.getItem(ctx, invitationPK(id), invitationSK, true, &it); err != nil {
		return invitation.Offer{}, err
	}
	return it.domain(), nil
}

// IsTeamMember reports whether the agent is a member of the team right now.
func (s *Store) IsTeamMember(ctx context.Context, teamID, agentID string) (bool, error) {
	var it memberItem
	err := s.getItem(ctx, teamPK(teamID), memberSK(agentID), true, &it)
	if IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// condAsRead holds while the conversation is as the caller read it: open, waiting on the
// same forward (or none), and held by the same assignee (or nobody).
func condAsRead(st HandoverState) cond {
	c := condOpen()
	c.names["#pf"] = "pendingForward"
	c.names["#as"] = "assignee"
	if st.PendingForward == "" {
		c.expr += " AND attribute_not_exists(#pf)"
	} else {
		c.expr += " AND #pf = :pf"
		c.values[":pf"] = str(st.PendingForward)
	}
	if st.Conversation.Assignee == "" {
		c.expr += " AND attribute_not_exists(#as)"
	} else {
		c.expr += " AND #as = :as"
		c.values[":as"] = str(st.Conversation.Assignee)
	}
	return c
}

// pointTo adds the conversation's update to the forward it now waits on ("" for none), with
// any further SET or REMOVE clauses, conditioned on the conversation as read.
func (t *tx) pointTo(read HandoverState, forwardID string, set, remove []string, values map[string]types.AttributeValue) *tx {
	c := condAsRead(read)
	for k, v := range values {
		c.values[k] = v
	}
	if forwardID != "" {
		set = append(set, "#pf = :newpf")
		c.values[":newpf"] = str(forwardID)
	} else {
		remove = append(remove, "#pf")
	}
	expr := ""
	if len(set) > 0 {
		expr = "SET " + strings.Join(set, ", ")
	}
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	return t.update("conversation", convPK(read.Conversation.ID), metaSK, strings.TrimSpace(expr), c)
}

// ending is how a pending offer ends: the named update, its new status, who and why, the
// extra condition (with its values) beyond "still pending", and an extra ADD clause.
type ending struct {
	name       string
	to         invitation.Status
	by, reason string
	at         time.Time
	cond       string
	values     map[string]types.AttributeValue
	add        string
	// targets is a chained offer's targets as it ends (see Invitation.Settled); nil keeps them.
	targets []invitation.ChainTarget
}

// endOffer adds the update that takes a pending offer to a final status, removing it from
// the inbox and due indexes in the same write.
func (t *tx) endOffer(o invitation.Offer, e ending) *tx {
	set := "SET #status = :to, resolvedAt = :at"
	c := cond{
		expr:  "#status = :pending" + e.cond,
		names: map[string]string{"#status": "status"},
		values: map[string]types.AttributeValue{
			":to": str(string(e.to)), ":at": num(e.at.UnixMilli()), ":pending": str(string(invitation.StatusPending)),
		},
	}
	for k, v := range e.values {
		c.values[k] = v
	}
	if e.by != "" {
		set += ", resolvedBy = :by"
		c.values[":by"] = str(e.by)
	}
	if e.reason != "" {
		set += ", reason = :reason"
		c.values[":reason"] = str(e.reason)
	}
	t.chainEnd(o.Invitation, e.targets, &set, &c)
	expr := set + " " + removeWhenResolved
	if e.add != "" {
		expr += " ADD " + e.add
	}
	name := e.name
	if name == "" {
		name = "invitation"
	}
	return t.update(name, invitationPK(o.ID), invitationSK, expr, c).settle(o.ConversationID, o.ID)
}

// unexpired is the extra condition that the offer's time has not run out (read-time expiry
// holds for writes too).
func (t *tx) unexpired(o invitation.Offer) (string, map[string]types.AttributeValue) {
	if o.ExpiresAt.IsZero() {
		return "", nil
	}
	return " AND validUntil > :now", map[string]types.AttributeValue{":now": num(t.s.nowUnix())}
}

// Invite writes a new agent or team invitation with its events, only while the conversation
// is open and the inviter still in it. It fails on "open", on "inviter", and on
// "already_participant" when the invited agent is in the conversation.
func (s *Store) Invite(ctx context.Context, o invitation.Offer, inviter conversation.Participant, events []conversation.Event) error {
	t := s.newTx().
		check("open", convPK(o.ConversationID), metaSK, condOpen()).
		check("inviter", convPK(o.ConversationID), partSK(inviter.ID), cond{expr: "attribute_exists(pk)"}).
		offer("invitation", o, true)
	if o.TargetAgentID != "" {
		t.check("already_participant", convPK(o.ConversationID), partSK(conversation.AgentParticipantID(o.TargetAgentID)),
			cond{expr: "attribute_not_exists(pk)"})
	}
	return t.events(events).commit(ctx)
}

// Forwarding is everything a forward writes: all or nothing.
type Forwarding struct {
	Forward   invitation.Offer
	Read      HandoverState // the conversation the forward was decided on
	Forwarder conversation.Participant
	// Leaves: the immediate hand-over, where the forwarder leaves at once (and the
	// conversation is unassigned if they held it).
	Leaves bool
	// Replaced is the older pending forward this one replaces, ended as ReplacedAs (revoked,
	// or expired if its time had already run out) with ReplacedReason.
	Replaced       *invitation.Offer
	ReplacedAs     invitation.Status
	ReplacedReason string
	Events         []conversation.Event
	At             time.Time
}

// Forward records a forward and points the conversation at it. It fails on "conversation"
// when the conversation changed since it was read (ended, another forward, an accept, the
// assignee left), on "forwarder" when the forwarder is no longer a participant, and on
// "replaced" when the older forward was answered meanwhile.
func (s *Store) Forward(ctx context.Context, f Forwarding) error {
	var remove []string
	if f.Leaves && f.Read.Conversation.Assignee == f.Forwarder.AgentID {
		remove = append(remove, "#as")
	}
	t := s.newTx().pointTo(f.Read, f.Forward.ID, nil, remove, nil)
	forwarderIn := cond{expr: "attribute_exists(pk)"}
	if f.Leaves {
		t.del("forwarder", convPK(f.Read.Conversation.ID), partSK(f.Forwarder.ID), forwarderIn)
	} else {
		t.check("forwarder", convPK(f.Read.Conversation.ID), partSK(f.Forwarder.ID), forwarderIn)
	}
	t.offer("invitation", f.Forward, true)
	if f.Replaced != nil {
		t.endOffer(*f.Replaced, ending{name: "replaced", to: f.ReplacedAs, reason: f.ReplacedReason, at: f.At})
	}
	return t.events(f.Events).commit(ctx)
}

// Acceptance is everything an accept writes: all or nothing.
type Acceptance struct {
	Offer    invitation.Offer
	Read     HandoverState // forwards: the conversation the accept was decided on
	Accepter conversation.Participant
	// AlreadyIn: the accepter of a forward is a participant already; only the assignment
	// changes.
	AlreadyIn bool
	// Removes is the forwarder leaving at the accept (the on-accept hand-over), if still in.
	Removes *conversation.Participant
	Events  []conversation.Event
	// Notices are pushed but not kept in history (invitation.taken): outbox items (outbox.go).
	Notices []conversation.Event
	At      time.Time
}

// Accept ends a pending offer as accepted by the accepter, who joins the conversation (and,
// for a forward, becomes its assignee while the forwarder leaves), in one transaction. It
// fails on "invitation" when the offer is no longer pending or has expired (another member
// was first), on "open" or "conversation" when the conversation changed, on "participant"
// when the accepter is already in (or, for AlreadyIn, no longer in), and on "forwarder" when
// the forwarder left meanwhile.
func (s *Store) Accept(ctx context.Context, a Acceptance) error {
	t := s.newTx()
	extra, values := t.unexpired(a.Offer)
	t.endOffer(a.Offer, ending{
		to: invitation.StatusAccepted, by: a.Accepter.AgentID, at: a.At, cond: extra, values: values,
		targets: a.Offer.Settled(invitation.StatusAccepted, "", a.At),
	})
	convID := a.Offer.ConversationID
	if a.Offer.IsForward() {
		t.pointTo(a.Read, "", []string{"#as = :accepter"}, nil, map[string]types.AttributeValue{":accepter": str(a.Accepter.AgentID)})
	} else {
		t.check("open", convPK(convID), metaSK, condOpen())
	}
	if a.AlreadyIn {
		t.check("participant", convPK(convID), partSK(a.Accepter.ID), cond{expr: "attribute_exists(pk)"})
	} else {
		t.put("participant", toParticipantItem(a.Accepter), notExists)
	}
	if a.Removes != nil {
		t.del("forwarder", convPK(convID), partSK(a.Removes.ID), cond{expr: "attribute_exists(pk)"})
	}
	return t.events(a.Events).pushOnly(a.Notices).commit(ctx)
}

// Declining is everything a decline writes: all or nothing.
type Declining struct {
	Offer  invitation.Offer // as read: its declinedBy is the condition
	By     string           // the declining agent
	Reason string
	// Final: the offer ends as declined (an agent's decline, or a team's last member's).
	// Otherwise the member is only added to declinedBy.
	Final bool
	// Read is the conversation as read, for a forward that ends.
	Read HandoverState
	// Return offers the conversation back to the forwarder when nobody holds it.
	Return *invitation.Offer
	Events []conversation.Event
	At     time.Time
}

// Decline records an agent's decline. It fails on "invitation" when the offer was answered,
// expired or declined by someone else since it was read (read again and retry), and on
// "open" or "conversation" when the conversation changed.
func (s *Store) Decline(ctx context.Context, d Declining) error {
	t := s.newTx()
	extra, values := t.unexpired(d.Offer)
	if values == nil {
		values = map[string]types.AttributeValue{}
	}
	if d.Offer.TargetTeamID != "" {
		extra += declinedByUnchanged(d.Offer, values)
		values[":me"] = &types.AttributeValueMemberSS{Value: []string{d.By}}
	}
	if d.Final {
		e := ending{
			to: invitation.StatusDeclined, by: d.By, reason: d.Reason, at: d.At, cond: extra, values: values,
			targets: d.Offer.Settled(invitation.StatusDeclined, d.Reason, d.At),
		}
		if d.Offer.TargetTeamID != "" {
			e.add = "declinedBy :me" // the team's record of who declined stays complete
		}
		t.endOffer(d.Offer, e)
	} else {
		values[":pending"] = str(string(invitation.StatusPending))
		c := cond{expr: "#status = :pending" + extra, names: map[string]string{"#status": "status"}, values: values}
		if d.Offer.Chained() {
			stageCond(&c, d.Offer.Stage) // a member's decline belongs to their team's turn
		}
		t.update("invitation", invitationPK(d.Offer.ID), invitationSK, "ADD declinedBy :me", c)
	}
	if d.Final && d.Offer.IsForward() {
		t.pointTo(d.Read, returnID(d.Return), nil, nil, nil)
	} else {
		t.check("open", convPK(d.Offer.ConversationID), metaSK, condOpen())
	}
	if d.Return != nil {
		t.offer("return", *d.Return, false)
	}
	return t.events(d.Events).commit(ctx)
}

// declinedByUnchanged is the condition that no other member declined since the offer was
// read. declinedBy only grows, so an unchanged size means an unchanged set: of two last
// members declining at once, one fails, reads again, and is the one who ends the offer.
func declinedByUnchanged(o invitation.Offer, values map[string]types.AttributeValue) string {
	if len(o.DeclinedBy) == 0 {
		return " AND attribute_not_exists(declinedBy)"
	}
	values[":declined"] = num(int64(len(o.DeclinedBy)))
	return " AND size(declinedBy) = :declined"
}

func returnID(r *invitation.Offer) string {
	if r == nil {
		return ""
	}
	return r.ID
}

// Expiry is everything the expiry of an invitation writes: all or nothing.
type Expiry struct {
	Invitation invitation.Offer
	// Read is the conversation as read, for the forward it waits on: it stops waiting.
	Read *HandoverState
	// Return offers the conversation back to the forwarder when nobody holds it.
	Return *invitation.Offer
	Events []conversation.Event
	At     time.Time
}

// Expire ends a pending invitation of any kind whose time has run out, deleting a customer
// invitation's live secret. It fails on "invitation" when the invitation was answered,
// renewed or already expired, and on "conversation" when the conversation changed.
func (s *Store) Expire(ctx context.Context, e Expiry) error {
	inv := e.Invitation
	values := map[string]types.AttributeValue{":now": num(s.nowUnix())}
	extra := " AND " + untilAttr(inv.Invitation) + " <= :now"
	if inv.SecretHash != "" {
		extra += " AND secretHash = :hash"
		values[":hash"] = str(inv.SecretHash)
	} else {
		extra += " AND attribute_not_exists(secretHash)"
	}
	owned, err := s.ownsSecret(ctx, inv.Invitation)
	if err != nil {
		return err
	}
	moved, _ := inv.Moved(e.At, nil)
	t := s.newTx().endOffer(inv, ending{
		to: invitation.StatusExpired, at: e.At, cond: extra, values: values,
		targets: moved.Settled(invitation.StatusExpired, "", e.At),
	}).
		deleteSecret("secret", inv.Invitation, owned)
	if e.Read != nil {
		t.pointTo(*e.Read, returnID(e.Return), nil, nil, nil)
	}
	if e.Return != nil {
		t.offer("return", *e.Return, false)
	}
	return t.events(e.Events).commit(ctx)
}

// LeaveAsAssignee is Leave for the agent who holds an open conversation: they leave, the
// conversation is unassigned, and, unless it waits on a forward already, it is offered to
// its team in the same transaction, so that it is never left with nobody. It fails on
// "participant" if they had already left, and on "conversation" if the conversation changed
// since it was read.
func (s *Store) LeaveAsAssignee(ctx context.Context, p conversation.Participant, read HandoverState, offer *invitation.Offer, events []conversation.Event) error {
	pointer := read.PendingForward
	if offer != nil {
		pointer = offer.ID
	}
	t := s.newTx().
		del("participant", convPK(p.ConversationID), partSK(p.ID), cond{expr: "attribute_exists(pk)"}).
		pointTo(read, pointer, nil, []string{"#as"}, nil)
	if offer != nil {
		t.offer("offer", *offer, false)
	}
	return t.events(events).commit(ctx)
}

// unlinkRevokedForward adds, to the revocation of a forward, the conversation's update that
// stops it waiting on the forward. A forward (or an offer) of a conversation nobody holds is
// the customer's only way to an agent, so it is not revocable: the update then fails, named
// like the invitation's own update, and the revocation is refused as a changed invitation.
func (t *tx) unlinkRevokedForward(inv invitation.Invitation) *tx {
	if inv.Kind != invitation.KindForward {
		return t
	}
	return t.update("invitation", convPK(inv.ConversationID), metaSK, "REMOVE pendingForward", cond{
		expr:   "pendingForward = :inv AND attribute_exists(assignee)",
		values: map[string]types.AttributeValue{":inv": str(inv.ID)},
	})
}
