package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Fallback chains (SPEC §9.2). The offer item holds the chain (targets, stage, chainUntil)
// and sits in the current target's inbox (gsi2) and, by the end of the current window, in the
// due index (gsi3), so the sweep moves the chain on. Readers derive later stages from time,
// so a later target must find the offer in their inbox before any write moves it there: each
// queued target has a slot item (INV#<id> / SLOT#<stage>) in their inbox that only points at
// the offer. A reader of a slot reads the offer itself and shows it only if the chain, as of
// now, stands at that slot's target. Slots are deleted as the chain passes them or ends, and
// carry a TTL for the ends that do not (a conversation's end): a stale slot shows nothing.

func slotSK(stage int) string { return fmt.Sprintf("SLOT#%d", stage) }

const slotType = "offer-slot"

type chainTargetItem struct {
	Kind         string `dynamodbav:"kind"`
	ID           string `dynamodbav:"id"`
	AfterSeconds int    `dynamodbav:"afterSeconds"`
	Answer       string `dynamodbav:"answer"`
	AnsweredAt   int64  `dynamodbav:"answeredAt,omitempty"`
	Reason       string `dynamodbav:"reason,omitempty"`
}

func toChainItems(inv invitation.Invitation) (targets []chainTargetItem, stage int, until int64) {
	if !inv.Chained() {
		return nil, 0, 0
	}
	targets = make([]chainTargetItem, len(inv.Targets))
	for k, t := range inv.Targets {
		targets[k] = chainTargetItem{
			Kind: string(t.Kind), ID: t.ID, AfterSeconds: t.AfterSeconds, Answer: string(t.Answer),
			AnsweredAt: unixMilliOrZero(t.AnsweredAt), Reason: t.Reason,
		}
	}
	if d := inv.Deadline(); !d.IsZero() {
		until = d.Unix()
	}
	return targets, inv.Stage, until
}

func chainFromItems(items []chainTargetItem) []invitation.ChainTarget {
	if len(items) == 0 {
		return nil
	}
	out := make([]invitation.ChainTarget, len(items))
	for k, t := range items {
		out[k] = invitation.ChainTarget{
			Kind: invitation.TargetKind(t.Kind), ID: t.ID, AfterSeconds: t.AfterSeconds, Answer: invitation.Answer(t.Answer),
			AnsweredAt: timeFromMilli(t.AnsweredAt), Reason: t.Reason,
		}
	}
	return out
}

// slotItem puts a queued target's inbox onto an offer.
type slotItem struct {
	PK             string `dynamodbav:"pk"`
	SK             string `dynamodbav:"sk"`
	Type           string `dynamodbav:"type"`
	InvitationID   string `dynamodbav:"invitationId"`
	ConversationID string `dynamodbav:"conversationId"`
	Stage          int    `dynamodbav:"stage"`
	GSI2PK         string `dynamodbav:"gsi2pk"`
	GSI2SK         string `dynamodbav:"gsi2sk"`
	ExpiresAt      int64  `dynamodbav:"expiresAt"`
}

// slotTTL keeps a slot a day past its chain's deadline; only an end that did not delete it
// leaves it there that long, and it shows nothing meanwhile.
const slotTTL = 24 * time.Hour

// putSlots adds a slot for each target after the current one.
func (t *tx) putSlots(o invitation.Offer) *tx {
	for k := o.Stage + 1; k < len(o.Targets); k++ {
		target := o.Targets[k]
		inv := invitation.Invitation{Kind: o.Kind}
		if target.Kind == invitation.TargetTeam {
			inv.TargetTeamID = target.ID
		} else {
			inv.TargetAgentID = target.ID
		}
		t.put("slot", slotItem{
			PK: invitationPK(o.ID), SK: slotSK(k), Type: slotType, InvitationID: o.ID, ConversationID: o.ConversationID, Stage: k,
			GSI2PK: inboxKey(inv), GSI2SK: sortKeyTime(o.CreatedAt) + "#" + o.ID,
			ExpiresAt: o.Deadline().Add(slotTTL).Unix(),
		}, cond{})
	}
	return t
}

// deleteSlots removes the slots of stages from … to (inclusive): passed, or of a chain that ended.
func (t *tx) deleteSlots(id string, from, to int) *tx {
	for k := max(from, 1); k <= to; k++ {
		t.del("slot", invitationPK(id), slotSK(k), cond{})
	}
	return t
}

// stageCond is the condition that the chain still stands at the stage it was read at.
func stageCond(c *cond, stage int) {
	if c.names == nil {
		c.names = map[string]string{}
	}
	c.names["#stage"] = "stage"
	if stage == 0 {
		c.expr += " AND attribute_not_exists(#stage)"
		return
	}
	c.expr += " AND #stage = :stage"
	c.values[":stage"] = num(int64(stage))
}

// chainEnd adds, to an update that ends an offer read at its stage, the chain as it ends
// (targets, when given) and the condition that it still stands there, and deletes the slots
// of the targets it never reached.
func (t *tx) chainEnd(inv invitation.Invitation, targets []invitation.ChainTarget, set *string, c *cond) {
	if !inv.Chained() {
		return
	}
	stageCond(c, inv.Stage)
	if targets != nil {
		items, _, _ := toChainItems(invitation.Invitation{Targets: targets})
		v, err := attributevalue.Marshal(items)
		if err != nil {
			t.err = err
			return
		}
		*set += ", targets = :targets"
		c.values[":targets"] = v
	}
	t.deleteSlots(inv.ID, inv.Stage+1, len(inv.Targets)-1)
}

// Hop is a chain moving on while its offer stays pending: from the stage it was read at
// to the stage of Next, because the current window ran out (Timed) or its target declined.
type Hop struct {
	Read invitation.Offer
	Next invitation.Offer
	// Timed: the window ran out, which the store's clock must agree with; otherwise a decline
	// moved it, within its window.
	Timed  bool
	Events []conversation.Event
}

// Advance moves a pending offer's chain from the stage it was read at to the next target:
// the offer goes to the new target's inbox and due time, with the chain's answers, and the
// slots it passed are deleted. It fails on "invitation" when the offer was answered, moved or
// declined by another member since it was read, or its window is not over (Timed) or is
// (a decline), and on "open" when the conversation ended.
func (s *Store) Advance(ctx context.Context, h Hop) error {
	next := toOfferItem(h.Next)
	items, _, until := toChainItems(h.Next.Invitation)
	targets, err := attributevalue.Marshal(items)
	if err != nil {
		return err
	}
	set := []string{"targets = :targets", "#stage = :next", "validUntil = :until", "chainUntil = :chainUntil", "gsi2pk = :inbox", "gsi3sk = :dueAt"}
	values := map[string]types.AttributeValue{
		":targets": targets, ":next": num(int64(h.Next.Stage)), ":until": num(next.ValidUntil), ":chainUntil": num(until),
		":inbox": str(next.GSI2PK), ":dueAt": str(next.GSI3SK), ":pending": str(string(invitation.StatusPending)),
		":now": num(s.nowUnix()),
	}
	remove := []string{"declinedBy"}
	if next.TargetAgentID != "" {
		set, remove = append(set, "targetAgentId = :target"), append(remove, "targetTeamId")
		values[":target"] = str(next.TargetAgentID)
	} else {
		set, remove = append(set, "targetTeamId = :target"), append(remove, "targetAgentId")
		values[":target"] = str(next.TargetTeamID)
	}
	c := cond{expr: "#status = :pending", names: map[string]string{"#status": "status"}, values: values}
	if h.Timed {
		c.expr += " AND validUntil <= :now"
	} else {
		c.expr += " AND validUntil > :now"
		if h.Read.TargetTeamID != "" {
			c.expr += declinedByUnchanged(h.Read, values)
		}
	}
	stageCond(&c, h.Read.Stage)
	expr := "SET " + strings.Join(set, ", ") + " REMOVE " + strings.Join(remove, ", ")
	// The events require the conversation open (its history head), so a move never outlives an end.
	t := s.newTx().update("invitation", invitationPK(h.Read.ID), invitationSK, expr, c).
		deleteSlots(h.Read.ID, h.Read.Stage+1, h.Next.Stage)
	return t.events(h.Events).commit(ctx)
}

// untilAttr is the attribute that says when an invitation stops being pending: a chain's
// deadline, or its own expiry.
func untilAttr(inv invitation.Invitation) string {
	if inv.Chained() {
		return "chainUntil"
	}
	return "validUntil"
}

func slotOffer(m map[string]types.AttributeValue, inbox, position string) InboxOffer {
	var it slotItem
	_ = attributevalue.UnmarshalMap(m, &it) // its shape was read as an offer already
	o := invitation.Offer{Invitation: invitation.Invitation{ID: it.InvitationID, ConversationID: it.ConversationID}}
	return InboxOffer{Offer: o, Inbox: inbox, Position: position, Slot: true}
}

// Offers reads the offers of ids in one BatchGetItem (strongly consistent); ids with no
// offer are left out. At most 100 ids.
func (s *Store) Offers(ctx context.Context, ids []string) (map[string]invitation.Offer, error) {
	out := map[string]invitation.Offer{}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(invitationPK(id), invitationSK)
	}
	err := s.batchGet(ctx, keys, func(m map[string]types.AttributeValue) error {
		var it offerItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return fmt.Errorf("decode offer: %w", err)
		}
		out[it.ID] = it.domain()
		return nil
	})
	return out, err
}
