package store

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Fallback chains (SPEC §9.2). The offer item holds the chain (targets, stage, chainUntil)
// and sits in the current target's inbox (gsi2) and, by the end of the current window, in the
// due index (gsi3), so the sweep moves the chain on. Readers derive later stages from time,
// so a later target must find the offer in their inbox before any write moves it there: each
// queued target has a slot (INV#<id> / SLOT#<stage>) in their inbox, a copy of the offer item
// — chain, context, names (the slot's target's) — in no other index. The inbox reads a slot
// like an offer and shows it only when the chain, as of now, stands at that slot's target, so
// a page stays one Query per inbox. Every transaction that writes the offer's chain writes its
// slots too (a move re-puts the later ones and deletes those it passed, an end deletes them),
// and a change of the context refreshes them with the offer (context.go): the head lists the
// slots of its pending offers (head.slots) so that refresh knows them without a read. Slots
// carry no TTL: they are deleted exactly when their chain moves past them or ends.

func slotSK(stage int) string { return fmt.Sprintf("SLOT#%d", stage) }

const slotType = "offer-slot"

// slotKey names a slot in the head's list of slots (head.slots): <invitationId>#<stage>.
func slotKey(invitationID string, stage int) string { return fmt.Sprintf("%s#%d", invitationID, stage) }

// parseSlotKey reads a slotKey.
func parseSlotKey(k string) (invitationID string, stage int, ok bool) {
	i := strings.LastIndexByte(k, '#')
	if i < 0 {
		return "", 0, false
	}
	stage, err := strconv.Atoi(k[i+1:])
	return k[:i], stage, err == nil
}

type chainTargetItem struct {
	Kind         string `dynamodbav:"kind"`
	ID           string `dynamodbav:"id"`
	AfterSeconds int    `dynamodbav:"afterSeconds"`
	Answer       string `dynamodbav:"answer"`
	AnsweredAt   int64  `dynamodbav:"answeredAt,omitempty"`
	Reason       string `dynamodbav:"reason,omitempty"`
	Name         string `dynamodbav:"name,omitempty"`
}

func toChainItems(inv invitation.Invitation) (targets []chainTargetItem, stage int, until int64) {
	if !inv.Chained() {
		return nil, 0, 0
	}
	targets = make([]chainTargetItem, len(inv.Targets))
	for k, t := range inv.Targets {
		targets[k] = chainTargetItem{
			Kind: string(t.Kind), ID: t.ID, AfterSeconds: t.AfterSeconds, Answer: string(t.Answer),
			AnsweredAt: unixMilliOrZero(t.AnsweredAt), Reason: t.Reason, Name: t.Name,
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
			AnsweredAt: timeFromMilli(t.AnsweredAt), Reason: t.Reason, Name: t.Name,
		}
	}
	return out
}

// slotOf is the slot of stage k of an offer whose item (as written, with its context) is
// item: the same attributes under SLOT#k, in target k's inbox, naming target k, and in no
// other index (the conversation's list of invitations and the due index hold the offer once).
func slotOf(item map[string]types.AttributeValue, o invitation.Offer, k int) map[string]types.AttributeValue {
	m := maps.Clone(item)
	for _, a := range []string{"gsi1pk", "gsi1sk", "gsi3pk", "gsi3sk", "declinedBy"} {
		delete(m, a)
	}
	target := o.Targets[k]
	in := invitation.Invitation{Kind: o.Kind}
	if target.Kind == invitation.TargetTeam {
		in.TargetTeamID = target.ID
	} else {
		in.TargetAgentID = target.ID
	}
	m["sk"], m["type"], m["gsi2pk"] = str(slotSK(k)), str(slotType), str(inboxKey(in))
	delete(m, "targetName")
	if target.Name != "" {
		m["targetName"] = str(target.Name)
	}
	return m
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
	// Notices are pushed but not kept (invitation.taken to the target whose window ran out):
	// outbox items (outbox.go).
	Notices []conversation.Event
}

// Advance moves a pending offer's chain from the stage it was read at to the next target:
// the offer is written again as offered to the new target (t.reoffer: its inbox, due time,
// name and the chain's answers, with the context as of this transaction, like a new offer),
// the slots it passed are deleted and the later ones written again. It fails on "invitation"
// when the offer was answered, moved or declined by another member since it was read, or its
// window is not over (Timed) or is (a decline), and on "open" when the conversation ended.
func (s *Store) Advance(ctx context.Context, h Hop) error {
	values := map[string]types.AttributeValue{":pending": str(string(invitation.StatusPending)), ":now": num(s.nowUnix())}
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
	// The events require the conversation open (its history head), so a move never outlives an end.
	t := s.newTx().reoffer("invitation", h.Next, c).deleteSlots(h.Read.ID, h.Read.Stage+1, h.Next.Stage)
	return t.events(h.Events).pushOnly(h.Notices).commit(ctx)
}

// untilAttr is the attribute that says when an invitation stops being pending: a chain's
// deadline, or its own expiry.
func untilAttr(inv invitation.Invitation) string {
	if inv.Chained() {
		return "chainUntil"
	}
	return "validUntil"
}
