package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Invitations are kept as long as their conversation, like history: their item has no
// expiresAt until the conversation has ended, when it gets the conversation's (retention.go).
// An invitation's own expiry is validUntil (epoch seconds), compared with the clock in every
// condition. The live PIN or join-token item beside it carries expiresAt, is deleted when the
// invitation stops being pending, and is the only way from a secret to its invitation.

func invitationPK(id string) string               { return "INV#" + id }
func pinPK(hash string) string                    { return "PIN#" + hash }
func joinPK(hash string) string                   { return "JOIN#" + hash }
func conversationInvitationsKey(id string) string { return "CONV#" + id + "#INV" }

const (
	invitationSK = "INV"
	pinSK        = "PIN"
	joinSK       = "JOIN"
	dueKey       = "DUE"
)

// ErrRedemptionRefused is every reason a PIN or join token did not open a conversation: the
// secret is unknown, used, expired or revoked, the invitation is no longer pending, the
// conversation ended, or a concurrent redemption won. Callers answer all of them alike.
var ErrRedemptionRefused = errors.New("store: redemption refused")

type invitationItem struct {
	PK             string `dynamodbav:"pk"`
	SK             string `dynamodbav:"sk"`
	Type           string `dynamodbav:"type"`
	ID             string `dynamodbav:"id"`
	ConversationID string `dynamodbav:"conversationId"`
	Kind           string `dynamodbav:"kind"`
	Status         string `dynamodbav:"status"`
	CreatedBy      string `dynamodbav:"createdBy"`
	CreatedAt      int64  `dynamodbav:"createdAt"`
	ValidUntil     int64  `dynamodbav:"validUntil,omitempty"`
	Email          string `dynamodbav:"email,omitempty"`
	Name           string `dynamodbav:"name,omitempty"`
	Note           string `dynamodbav:"note,omitempty"`
	Admit          string `dynamodbav:"admit,omitempty"`
	TargetAgentID  string `dynamodbav:"targetAgentId,omitempty"`
	TargetTeamID   string `dynamodbav:"targetTeamId,omitempty"`
	Message        string `dynamodbav:"message,omitempty"`
	ResolvedAt     int64  `dynamodbav:"resolvedAt,omitempty"`
	ResolvedBy     string `dynamodbav:"resolvedBy,omitempty"`
	Reason         string `dynamodbav:"reason,omitempty"`
	SendCount      int    `dynamodbav:"sendCount,omitempty"`
	LastSentAt     int64  `dynamodbav:"lastSentAt,omitempty"`
	SecretHash     string `dynamodbav:"secretHash,omitempty"`
	Delivery       string `dynamodbav:"delivery,omitempty"`
	DeliveryDetail string `dynamodbav:"deliveryDetail,omitempty"`
	DeliveryAt     int64  `dynamodbav:"deliveryAt,omitempty"`
	MessageID      string `dynamodbav:"messageId,omitempty"`
	// DeliveryRev counts the writes of delivery: the condition of each (delivery.go).
	DeliveryRev int64 `dynamodbav:"deliveryRev,omitempty"`
	// A fallback chain (chain.go): the targets, the stage written last (absent for the
	// first), and when the chain runs out if nobody answers (epoch seconds).
	Targets    []chainTargetItem `dynamodbav:"targets,omitempty"`
	Stage      int               `dynamodbav:"stage,omitempty"`
	ChainUntil int64             `dynamodbav:"chainUntil,omitempty"`
	GSI1PK     string            `dynamodbav:"gsi1pk"`
	GSI1SK     string            `dynamodbav:"gsi1sk"`
	GSI2PK     string            `dynamodbav:"gsi2pk,omitempty"`
	GSI2SK     string            `dynamodbav:"gsi2sk,omitempty"`
	GSI3PK     string            `dynamodbav:"gsi3pk,omitempty"`
	GSI3SK     string            `dynamodbav:"gsi3sk,omitempty"`
}

// sortKeyTime formats a time so that string order is time order.
func sortKeyTime(t time.Time) string { return fmt.Sprintf("%014d", t.UnixMilli()) }

func unixMilliOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func timeFromMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func toInvitationItem(inv invitation.Invitation) invitationItem {
	it := invitationItem{
		PK: invitationPK(inv.ID), SK: invitationSK, Type: "invitation", ID: inv.ID,
		ConversationID: inv.ConversationID, Kind: string(inv.Kind), Status: string(inv.Status),
		CreatedBy: inv.CreatedBy, CreatedAt: inv.CreatedAt.UnixMilli(),
		Email: inv.Email, Name: inv.Name, Note: inv.Note, Admit: string(inv.Admit),
		TargetAgentID: inv.TargetAgentID, TargetTeamID: inv.TargetTeamID, Message: inv.Message,
		ResolvedAt: unixMilliOrZero(inv.ResolvedAt), ResolvedBy: inv.ResolvedBy, Reason: inv.Reason,
		SendCount: inv.SendCount, LastSentAt: unixMilliOrZero(inv.LastSentAt), SecretHash: inv.SecretHash,
		Delivery: string(inv.Delivery), DeliveryDetail: inv.DeliveryDetail, DeliveryAt: unixMilliOrZero(inv.DeliveryAt),
		MessageID: inv.MessageID,
		GSI1PK:    conversationInvitationsKey(inv.ConversationID), GSI1SK: sortKeyTime(inv.CreatedAt) + "#" + inv.ID,
	}
	if !inv.ExpiresAt.IsZero() {
		it.ValidUntil = inv.ExpiresAt.Unix()
	}
	it.Targets, it.Stage, it.ChainUntil = toChainItems(inv)
	if inv.Status == invitation.StatusPending {
		it.GSI2PK, it.GSI2SK = inboxKey(inv), sortKeyTime(inv.CreatedAt)+"#"+inv.ID
		if it.GSI2PK == "" {
			it.GSI2SK = ""
		}
		if !inv.ExpiresAt.IsZero() {
			it.GSI3PK, it.GSI3SK = dueShard(inv.ID), sortKeyTime(inv.ExpiresAt)+"#"+inv.ID
		}
	}
	return it
}

// inboxKey places a pending agent, team or forward invitation in its target's inbox (gsi2).
func inboxKey(inv invitation.Invitation) string {
	if inv.Kind.ForCustomer() {
		return ""
	}
	switch {
	case inv.TargetAgentID != "":
		return "INBOX#AGENT#" + inv.TargetAgentID
	case inv.TargetTeamID != "":
		return "INBOX#TEAM#" + inv.TargetTeamID
	}
	return ""
}

func (it invitationItem) domain() invitation.Invitation {
	inv := invitation.Invitation{
		ID: it.ID, ConversationID: it.ConversationID, Kind: invitation.Kind(it.Kind),
		Status: invitation.Status(it.Status), CreatedBy: it.CreatedBy, CreatedAt: timeFromMilli(it.CreatedAt),
		Email: it.Email, Name: it.Name, Note: it.Note, Admit: conversation.Admit(it.Admit),
		TargetAgentID: it.TargetAgentID, TargetTeamID: it.TargetTeamID, Message: it.Message,
		ResolvedAt: timeFromMilli(it.ResolvedAt), ResolvedBy: it.ResolvedBy, Reason: it.Reason,
		SendCount: it.SendCount, LastSentAt: timeFromMilli(it.LastSentAt), SecretHash: it.SecretHash,
		Delivery: invitation.Delivery(it.Delivery), DeliveryDetail: it.DeliveryDetail, DeliveryAt: timeFromMilli(it.DeliveryAt),
		MessageID: it.MessageID,
	}
	if it.ValidUntil != 0 {
		inv.ExpiresAt = time.Unix(it.ValidUntil, 0).UTC()
	}
	inv.Targets, inv.Stage = chainFromItems(it.Targets), it.Stage
	return inv
}

// secretItem is a live PIN or join token: its key is the secret's hash, its content the
// invitation it opens.
type secretItem struct {
	PK             string `dynamodbav:"pk"`
	SK             string `dynamodbav:"sk"`
	Type           string `dynamodbav:"type"`
	InvitationID   string `dynamodbav:"invitationId"`
	ConversationID string `dynamodbav:"conversationId"`
	ExpiresAt      int64  `dynamodbav:"expiresAt"`
}

// secretKey is where a customer invitation's secret lives: PIN#<hmac> or JOIN#<sha256>.
func secretKey(kind invitation.Kind, hash string) (pk, sk string) {
	if kind == invitation.KindPIN {
		return pinPK(hash), pinSK
	}
	return joinPK(hash), joinSK
}

func toSecretItem(inv invitation.Invitation) secretItem {
	pk, sk := secretKey(inv.Kind, inv.SecretHash)
	typ := "join"
	if inv.Kind == invitation.KindPIN {
		typ = "pin"
	}
	return secretItem{
		PK: pk, SK: sk, Type: typ, InvitationID: inv.ID, ConversationID: inv.ConversationID,
		ExpiresAt: inv.ExpiresAt.Unix(),
	}
}

// condSecretFree lets a new secret take a key only if no live secret holds it: among live
// PINs each is unique, and an expired one still waiting for TTL is simply replaced.
func (s *Store) condSecretFree() cond {
	return cond{
		expr:   "attribute_not_exists(pk) OR expiresAt <= :now",
		values: map[string]types.AttributeValue{":now": num(s.nowUnix())},
	}
}

// CreateInvitation writes a new invitation, its live secret (a customer invitation's PIN or
// join token) and the events that tell it, only while the conversation is open. It fails on
// "secret" when the PIN is already live for another invitation (the caller draws another),
// on "open" when the conversation has ended, and on "pending_cap" when it already has
// MaxPending pending invitations (IsTooManyPending), and on "rate slot" when a slot of take
// finds its window full (IsRateFull). The events are numbered in place.
func (s *Store) CreateInvitation(ctx context.Context, inv invitation.Invitation, events []conversation.Event, take ...RateSlot) error {
	t := s.newTx().
		put("invitation", toInvitationItem(inv), notExists).
		pend(inv.ConversationID, inv.ID, true)
	if inv.SecretHash != "" {
		t.put("secret", toSecretItem(inv), s.condSecretFree())
	}
	return t.events(events).takeRateSlots(take).commit(ctx)
}

// Invitation reads one invitation; ErrNotFound if there is none.
func (s *Store) Invitation(ctx context.Context, id string) (invitation.Invitation, error) {
	var it invitationItem
	if err := s.getItem(ctx, invitationPK(id), invitationSK, true, &it); err != nil {
		return invitation.Invitation{}, err
	}
	return it.domain(), nil
}

// ConversationInvitations lists a conversation's invitations, oldest first, from gsi1. The
// index is eventually consistent: an invitation made a moment ago may be missing, and one that
// just changed may show its previous state; read it by id when that matters.
func (s *Store) ConversationInvitations(ctx context.Context, conversationID string) ([]invitation.Invitation, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		IndexName:              aws.String(IndexGSI1),
		KeyConditionExpression: aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(conversationInvitationsKey(conversationID)),
		},
	})
	var out []invitation.Invitation
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query invitations of %s: %w", conversationID, err)
		}
		for _, m := range page.Items {
			if !liveItem(m, s.now()) {
				continue // past its conversation's retention (retention.go)
			}
			var it invitationItem
			if err := attributevalue.UnmarshalMap(m, &it); err != nil {
				return nil, fmt.Errorf("decode invitation: %w", err)
			}
			out = append(out, it.domain())
		}
	}
	return out, nil
}

// LiveSecret is what a live PIN or join token opens.
type LiveSecret struct {
	InvitationID   string
	ConversationID string
	ExpiresAt      time.Time
}

// LiveSecret finds the live PIN (kind pin) or join token (kind email) stored under hash;
// ErrNotFound if it is unknown, used, revoked or expired.
func (s *Store) LiveSecret(ctx context.Context, kind invitation.Kind, hash string) (LiveSecret, error) {
	pk, sk := secretKey(kind, hash)
	var it secretItem
	if err := s.getItem(ctx, pk, sk, true, &it); err != nil {
		return LiveSecret{}, err
	}
	return LiveSecret{InvitationID: it.InvitationID, ConversationID: it.ConversationID,
		ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC()}, nil
}

// Redemption is everything a customer's redemption writes: all or nothing.
type Redemption struct {
	Invitation  invitation.Invitation // as read; its kind and SecretHash name the live secret
	Participant conversation.Participant
	Session     Session
	Events      []conversation.Event
	At          time.Time
	// ReturnSlot is the client's rate-limit counter, given a slot back in the same write:
	// only failed guesses count. Not a deployment-wide share: every guess writes those, and
	// one in a redemption would make it conflict with them.
	ReturnSlot string
}

// RedeemInvitation uses up a PIN or join token in one transaction: the live secret is
// deleted (it must exist and be unexpired), the invitation goes from pending to redeemed (it
// must be pending, unexpired and still under this secret), the conversation must be open, and
// the customer's participant, session and events are written. Of concurrent redemptions of
// one secret exactly one can succeed: the others find the secret gone. Every refusal is
// ErrRedemptionRefused, so the caller cannot tell one reason from another.
func (s *Store) RedeemInvitation(ctx context.Context, r Redemption) error {
	inv := r.Invitation
	if inv.SecretHash == "" || !inv.Kind.ForCustomer() {
		return ErrRedemptionRefused
	}
	now := num(s.nowUnix())
	secretPK, secretSK := secretKey(inv.Kind, inv.SecretHash)
	t := s.newTx().
		del("secret", secretPK, secretSK, cond{
			expr:   "attribute_exists(pk) AND expiresAt > :now AND invitationId = :inv",
			values: map[string]types.AttributeValue{":now": now, ":inv": str(inv.ID)},
		}).
		update("invitation", invitationPK(inv.ID), invitationSK,
			"SET #status = :redeemed, resolvedAt = :at, resolvedBy = :by "+removeWhenResolved, cond{
				expr:  "#status = :pending AND validUntil > :now AND secretHash = :hash",
				names: map[string]string{"#status": "status"},
				values: map[string]types.AttributeValue{
					":redeemed": str(string(invitation.StatusRedeemed)), ":at": num(r.At.UnixMilli()),
					":by": str(r.Participant.ID), ":pending": str(string(invitation.StatusPending)),
					":now": now, ":hash": str(inv.SecretHash),
				},
			}).
		put("participant", toParticipantItem(r.Participant), notExists).
		put("session", toSessionItem(r.Session), notExists).
		settle(inv.ConversationID, inv.ID).
		events(r.Events)
	if r.ReturnSlot != "" {
		t.returnRateSlot(r.ReturnSlot, r.At)
	}
	err := t.commit(ctx)
	var canceled *TxCanceledError
	if errors.As(err, &canceled) {
		return fmt.Errorf("%w (%v)", ErrRedemptionRefused, canceled)
	}
	return err
}

// removeWhenResolved drops what only a pending invitation has: its secret and its places in
// the inbox and due indexes.
const removeWhenResolved = "REMOVE secretHash, gsi2pk, gsi2sk, gsi3pk, gsi3sk"

// resolve adds to t the update that ends a pending invitation (revoked, failed), with the
// deletion of its live secret. The update holds only if the invitation is still pending under
// the secret the caller read, so a concurrent renewal or redemption makes it fail on
// "invitation" rather than leave a live secret behind.
//
// Only a revocation by an agent asks for the invitation to be unexpired too: read-time expiry
// holds for writes, and an invitation whose time ran out is expired, not revocable. The secret
// is deleted only if it still belongs to the invitation (owned, see ownsSecret).
func (t *tx) resolve(inv invitation.Invitation, to invitation.Status, by, reason string, at time.Time, unexpired, owned bool) *tx {
	return t.resolveAnd(inv, to, by, reason, at, unexpired, owned, "", nil)
}

// resolveAnd is resolve whose update also SETs also (with its values): what else changes on
// the invitation in the same write.
func (t *tx) resolveAnd(inv invitation.Invitation, to invitation.Status, by, reason string, at time.Time, unexpired, owned bool,
	also string, alsoValues map[string]types.AttributeValue) *tx {
	set := "SET #status = :to, resolvedAt = :at"
	values := map[string]types.AttributeValue{
		":to": str(string(to)), ":at": num(at.UnixMilli()), ":pending": str(string(invitation.StatusPending)),
	}
	if also != "" {
		set += ", " + also
		maps.Copy(values, alsoValues)
	}
	if by != "" {
		set += ", resolvedBy = :by"
		values[":by"] = str(by)
	}
	if reason != "" {
		set += ", reason = :reason"
		values[":reason"] = str(reason)
	}
	c := cond{expr: "#status = :pending AND attribute_not_exists(secretHash)", names: map[string]string{"#status": "status"}, values: values}
	if inv.SecretHash != "" {
		c.expr = "#status = :pending AND secretHash = :hash"
		values[":hash"] = str(inv.SecretHash)
	}
	if unexpired && !inv.ExpiresAt.IsZero() {
		c.expr += " AND " + untilAttr(inv) + " > :now"
		values[":now"] = num(t.s.nowUnix())
	}
	if inv.Chained() {
		moved, _ := inv.Moved(at, nil)
		t.chainEnd(inv, moved.Settled(to, reason, at), &set, &c)
	}
	t.update("invitation", invitationPK(inv.ID), invitationSK, set+" "+removeWhenResolved, c)
	return t.deleteSecret("secret", inv, owned).settle(inv.ConversationID, inv.ID)
}

// RevokeInvitation ends a pending invitation as revoked and deletes its live secret, with the
// events, and the notices that are pushed but not kept (outbox items, outbox.go). It fails on
// "invitation" if the invitation is no longer pending, has expired, or was renewed since it
// was read.
func (s *Store) RevokeInvitation(ctx context.Context, inv invitation.Invitation, by string, at time.Time, events, notices []conversation.Event) error {
	return s.commitOwningSecret(ctx, "secret", func(owned bool) *tx {
		return s.newTx().resolve(inv, invitation.StatusRevoked, by, "", at, true, owned).unlinkRevokedForward(inv).
			events(events).pushOnly(notices)
	})
}

// FailInvitation records that an invitation's email could not be sent: the invitation is
// failed with the reason, its join token deleted, and its delivery `failed` with SES's
// detail (failed.Delivery…). It fails on "invitation" if the invitation changed since it was
// read (revoked meanwhile, say).
func (s *Store) FailInvitation(ctx context.Context, inv, failed invitation.Invitation, reason string, at time.Time, events []conversation.Event) error {
	also, values := deliverySet(failed)
	return s.commitOwningSecret(ctx, "secret", func(owned bool) *tx {
		return s.newTx().resolveAnd(inv, invitation.StatusFailed, "", reason, at, false, owned, also, values).events(events)
	})
}

// RenewInvitation gives a customer invitation a new secret: the new PIN or join token is
// written (unique among live ones), the old one deleted, and the invitation made pending
// until the new expiry, all at once and only while the conversation is open. It fails on
// "secret" when the new PIN is taken (draw another), on "invitation" when the invitation was
// redeemed, revoked or renewed since it was read, on "open" when the conversation ended, and
// on "rate slot" when a slot of take finds its window full (IsRateFull).
func (s *Store) RenewInvitation(ctx context.Context, old, renewed invitation.Invitation, events []conversation.Event, take ...RateSlot) error {
	it := toInvitationItem(renewed)
	set := "SET #status = :pending, validUntil = :until, secretHash = :new, gsi3pk = :due, gsi3sk = :dueAt"
	values := map[string]types.AttributeValue{
		":pending": str(string(invitation.StatusPending)), ":until": num(it.ValidUntil), ":new": str(renewed.SecretHash),
		":due": str(it.GSI3PK), ":dueAt": str(it.GSI3SK),
	}
	remove := " REMOVE resolvedAt, resolvedBy, reason"
	if renewed.Kind == invitation.KindEmail {
		set += ", sendCount = :sendCount, lastSentAt = :lastSentAt"
		values[":sendCount"] = num(int64(renewed.SendCount))
		values[":lastSentAt"] = num(renewed.LastSentAt.UnixMilli())
		also, deliveryValues := deliverySet(renewed)
		set += ", " + also
		maps.Copy(values, deliveryValues)
		remove += ", messageId"
	}
	// The stored status as read: a pending invitation stays counted, an expired or failed one
	// becomes pending again and counts towards the cap.
	values[":was"] = str(string(old.Status))
	c := cond{
		expr:   "#status = :was AND attribute_not_exists(secretHash)",
		names:  map[string]string{"#status": "status"},
		values: values,
	}
	if old.SecretHash != "" {
		c.expr = "#status = :was AND secretHash = :old"
		values[":old"] = str(old.SecretHash)
	}
	if renewed.Kind == invitation.KindEmail {
		// A bounce or complaint recorded since the invitation was read still refuses the resend.
		c.expr += " AND NOT (delivery IN (:bounced, :complained))"
		values[":bounced"] = str(string(invitation.DeliveryBounced))
		values[":complained"] = str(string(invitation.DeliveryComplained))
	}
	return s.commitOwningSecret(ctx, "old-secret", func(owned bool) *tx {
		t := s.newTx().
			put("secret", toSecretItem(renewed), s.condSecretFree()).
			update("invitation", invitationPK(renewed.ID), invitationSK, set+remove, c)
		if old.SecretHash != renewed.SecretHash {
			t.deleteSecret("old-secret", old, owned)
		}
		if old.Status != invitation.StatusPending {
			t.pend(renewed.ConversationID, renewed.ID, true)
		}
		return t.events(events).takeRateSlots(take)
	})
}

// commitOwningSecret commits the transaction build makes on the assumption that the
// invitation's PIN or join token is still its own, which it almost always is: only a PIN drawn
// again, after this invitation's ran out, for another invitation is not (ownsSecret). If the
// delete of the secret (the operation named secret) finds it another's, the transaction is
// built again to leave it alone. Reading the secret before every write would cost each
// revocation and renewal a round trip for that rare case.
func (s *Store) commitOwningSecret(ctx context.Context, secret string, build func(owned bool) *tx) error {
	err := build(true).commit(ctx)
	if FailedOn(err, secret) {
		err = build(false).commit(ctx)
	}
	return err
}

// InvitationToRedeem reads the invitation a live secret opens together with its
// conversation's head, in one BatchGetItem: the redemption's write builds on that head
// (requestscope) instead of reading it again. ErrNotFound if the invitation is gone.
func (s *Store) InvitationToRedeem(ctx context.Context, secret LiveSecret) (invitation.Invitation, error) {
	items, err := s.batchGet(ctx, []map[string]types.AttributeValue{
		key(invitationPK(secret.InvitationID), invitationSK), key(convPK(secret.ConversationID), headSK),
	}, true)
	if err != nil {
		return invitation.Invitation{}, err
	}
	var inv *invitation.Invitation
	for _, item := range items {
		if stringAttr(item, "sk") == headSK {
			var h headItem
			if err := attributevalue.UnmarshalMap(item, &h); err != nil {
				return invitation.Invitation{}, fmt.Errorf("decode head: %w", err)
			}
			rememberHead(ctx, h)
			continue
		}
		var it invitationItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return invitation.Invitation{}, fmt.Errorf("decode invitation: %w", err)
		}
		d := it.domain()
		inv = &d
	}
	if inv == nil {
		return invitation.Invitation{}, ErrNotFound
	}
	return *inv, nil
}
