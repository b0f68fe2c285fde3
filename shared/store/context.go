package store

import (
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Offer context (SPEC §9.4): every agent, team and forward offer carries what its addressees
// need to judge it — topic, page, customer, since when the customer waits, the message, the
// last few customer-visible messages — so that the inbox is one Query over offer items, with
// nothing else to read.
//
// The conversation's head keeps the context (head.context): every transaction that writes
// events reads and rewrites the head already, so it brings the context up to date from its
// own events (conversation.Context.Observe) at no extra round trip. It also keeps the ids of
// the pending offers (head.offers, a subset of head.pending). Then, in the same transaction:
//   - a new offer's item is written with the context as of that transaction's events, and its
//     invitation.created event (history and push) carries the same context;
//   - when the events changed the context (a message, a customer joining, an assignment),
//     each pending offer's context is rewritten. The head's revision condition makes this
//     exact: an offer answered by a transaction that committed first is no longer in
//     head.offers when the message's transaction reads the head again, so no offer is
//     refreshed after its answer, and none misses a message posted while it was pending.
//
// The cost: one more item per pending offer in the transactions that change the context
// (a conversation has at most MaxPending invitations, and in practice one or two offers),
// and one per slot of a fallback chain's queued targets (at most three an offer, chain.go),
// no more round trips.

// contextItem is a conversation.Context as stored, on the head and on each offer.
type contextItem struct {
	Topic        string       `dynamodbav:"topic,omitempty"`
	PageURL      string       `dynamodbav:"pageUrl,omitempty"`
	CustomerName string       `dynamodbav:"customerName,omitempty"`
	WaitingSince int64        `dynamodbav:"waitingSince,omitempty"` // epoch ms; 0 while an agent holds it
	Recent       []recentItem `dynamodbav:"recent,omitempty"`
}

type recentItem struct {
	Author string `dynamodbav:"author"`
	Text   string `dynamodbav:"text"`
	At     int64  `dynamodbav:"at"` // epoch ms
}

func toContextItem(c conversation.Context) *contextItem {
	it := &contextItem{Topic: c.Topic, PageURL: c.PageURL, CustomerName: c.CustomerName}
	if !c.WaitingSince.IsZero() {
		it.WaitingSince = c.WaitingSince.UnixMilli()
	}
	for _, m := range c.RecentMessages {
		it.Recent = append(it.Recent, recentItem{Author: m.Author, Text: m.Text, At: m.At.UnixMilli()})
	}
	return it
}

// domain is the context; an item written before offers carried one has none.
func (it *contextItem) domain() conversation.Context {
	c := conversation.Context{RecentMessages: []conversation.RecentMessage{}}
	if it == nil {
		return c
	}
	c.Topic, c.PageURL, c.CustomerName = it.Topic, it.PageURL, it.CustomerName
	if it.WaitingSince != 0 {
		c.WaitingSince = time.UnixMilli(it.WaitingSince).UTC()
	}
	for _, m := range it.Recent {
		c.RecentMessages = append(c.RecentMessages, conversation.RecentMessage{Author: m.Author, Text: m.Text, At: time.UnixMilli(m.At).UTC()})
	}
	return c
}

// newHeadContext is the context of a new conversation after its opening events.
func newHeadContext(c conversation.Conversation, events []conversation.Event) conversation.Context {
	ctx := conversation.NewContext(c)
	for _, e := range events {
		ctx.Observe(e)
	}
	return ctx
}

// offerWithContext is an offer as written: with the context and, in its invitation.created
// event among events, the same context for the push and the history.
func offerWithContext(o invitation.Offer, ctx conversation.Context, events [][]conversation.Event) offerItem {
	o.Context = ctx
	data := o.ContextOf(ctx).ContextData()
	for _, evs := range events {
		for i := range evs {
			if evs[i].Type == conversation.EventInvitationCreated && evs[i].Data["invitationId"] == o.ID {
				evs[i].Data["context"] = data
			}
		}
	}
	return toOfferItem(o)
}

// offer adds a new offer, pending in its conversation (capped: under MaxPending), and a slot
// for each target queued in its fallback chain (chain.go). Its items are written with the
// context as of the transaction's events: the puts are completed when the transaction
// commits (contextOps).
func (t *tx) offer(name string, o invitation.Offer, capped bool) *tx {
	return t.reoffer(name, o, notExists).pend(o.ConversationID, o.ID, capped)
}

// reoffer writes a pending offer as offered now — a new one, or a chain moved on to its next
// target (Advance) — on condition c, with a slot for each target queued after the current
// one; like offer's, its items are completed with the context on commit.
func (t *tx) reoffer(name string, o invitation.Offer, c cond) *tx {
	h := t.change(o.ConversationID)
	h.offers = append(h.offers, newOffer{at: len(t.items), offer: o})
	t.put(name, toOfferItem(o), c)
	for k := o.Stage + 1; k < len(o.Targets); k++ {
		h.offers = append(h.offers, newOffer{at: len(t.items), offer: o, slot: k})
		t.put("slot", toOfferItem(o), cond{}) // completed as the slot on commit
	}
	return t
}

// newOffer is an item of a new offer of a transaction — the offer, or the slot of a queued
// target of its chain (slot > 0) — with the position of its put.
type newOffer struct {
	at    int
	offer invitation.Offer
	slot  int
}

// contextOps brings the context on the head up to date with the events of this attempt (already
// numbered), completes the puts of the new offers with it, and adds the refreshes of the
// pending offers when the context changed.
func (h *historyChange) contextOps(t *tx, head *headItem) (headOp, error) {
	read := head.Context.domain()
	ctx := read
	for _, evs := range h.events {
		for _, e := range evs {
			ctx.Observe(e)
		}
	}
	head.Context = toContextItem(ctx)
	op := headOp{replace: map[int]types.TransactWriteItem{}}
	settled := func(id string) bool { return slices.Contains(h.settles, id) }
	pendingBefore := slices.DeleteFunc(slices.Clone(head.Offers), settled)
	// A written offer's slots are the ones this transaction puts (a move deletes the others).
	written := map[string]bool{}
	for _, n := range h.offers {
		written[n.offer.ID] = true
	}
	slotsBefore := slices.DeleteFunc(slices.Clone(head.Slots), func(k string) bool {
		id, _, _ := parseSlotKey(k)
		return settled(id) || written[id]
	})
	head.Offers, head.Slots = pendingBefore, slotsBefore
	for _, n := range h.offers {
		item, err := marshal(offerWithContext(n.offer, ctx, h.events))
		if err != nil {
			return headOp{}, err
		}
		if n.slot > 0 {
			item = slotOf(item, n.offer, n.slot)
			head.Slots = append(head.Slots, slotKey(n.offer.ID, n.slot))
		} else if !slices.Contains(head.Offers, n.offer.ID) {
			head.Offers = append(head.Offers, n.offer.ID)
		}
		put := *t.items[n.at].Put
		put.Item = item
		op.replace[n.at] = types.TransactWriteItem{Put: &put}
	}
	if ctx.Equal(read) {
		return op, nil
	}
	stored, err := marshal(toContextItem(ctx))
	if err != nil {
		return headOp{}, err
	}
	refresh := func(id, sk string) {
		// Built like the head's update (history.go): an UpdateItem every writer of events has.
		op.names = append(op.names, "offer_context")
		op.items = append(op.items, types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(t.s.table), Key: key(invitationPK(id), sk),
			UpdateExpression:          aws.String("SET #ctx = :ctx"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeNames:  map[string]string{"#ctx": "context"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":ctx": &types.AttributeValueMemberM{Value: stored}},
		}})
	}
	for _, id := range pendingBefore {
		if t.touches(invitationPK(id)) {
			continue // the transaction writes that offer (or its slots) already; one operation per item
		}
		refresh(id, invitationSK)
	}
	for _, k := range slotsBefore {
		if id, stage, ok := parseSlotKey(k); ok && slices.Contains(pendingBefore, id) && !t.touches(invitationPK(id)) {
			refresh(id, slotSK(stage))
		}
	}
	return op, nil
}

// touches reports whether the transaction already has an operation on the item with pk.
func (t *tx) touches(pk string) bool {
	for _, it := range t.items {
		var k map[string]types.AttributeValue
		switch {
		case it.Put != nil:
			k = it.Put.Item
		case it.Update != nil:
			k = it.Update.Key
		case it.Delete != nil:
			k = it.Delete.Key
		case it.ConditionCheck != nil:
			k = it.ConditionCheck.Key
		}
		if v, ok := k["pk"].(*types.AttributeValueMemberS); ok && v.Value == pk {
			return true
		}
	}
	return false
}

// headContextClauses are the head update's clauses for the context and the pending offers.
func headContextClauses(head headItem, values map[string]types.AttributeValue, names map[string]string) (set, remove []string, err error) {
	if head.Context != nil {
		m, err := marshal(head.Context)
		if err != nil {
			return nil, nil, err
		}
		values[":ctx"] = &types.AttributeValueMemberM{Value: m}
		names["#ctx"] = "context"
		set = append(set, "#ctx = :ctx")
	}
	if len(head.Offers) > 0 {
		values[":offers"] = &types.AttributeValueMemberSS{Value: head.Offers}
		set = append(set, "offers = :offers")
	} else {
		remove = append(remove, "offers")
	}
	if len(head.Slots) > 0 {
		values[":slots"] = &types.AttributeValueMemberSS{Value: head.Slots}
		set = append(set, "slots = :slots")
	} else {
		remove = append(remove, "slots")
	}
	return set, remove, nil
}
