package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// A conversation's history head (CONV#<id> / HEAD) is the one item every change of the
// conversation goes through:
//
//   - seq, the number of the last event. Events are numbered 1, 2, 3… from it, never from a
//     clock: Lambdas' clocks differ, and an id from a clock that is behind would land before
//     a cursor a client already holds.
//   - visitorSeq, the last event visitors may see, so an event's prevSeq on the visitors'
//     stream is known when it is written.
//   - status, open until the end: every transaction that writes an event or a pending
//     invitation requires it open, so nothing can slip in after the end.
//   - pending, the ids of the pending invitations: their number is the cap's counter, and the
//     end reads them in the same consistent read as the status it flips (never from an index).
//
// A transaction that changes the head reads it, writes it back (seq, pending, status) on the
// condition that its revision is still the one it read, and, if another transaction was first,
// reads it again: the numbers come out gapless and in commit order, and no change of the
// pending set is lost.

const headSK = "HEAD"

type headItem struct {
	PK         string   `dynamodbav:"pk"`
	SK         string   `dynamodbav:"sk"`
	Type       string   `dynamodbav:"type"`
	Rev        int64    `dynamodbav:"rev"` // counts the head's writes: the condition of each
	Seq        int64    `dynamodbav:"seq"`
	VisitorSeq int64    `dynamodbav:"visitorSeq"`
	Status     string   `dynamodbav:"status"`
	Pending    []string `dynamodbav:"pending,stringset,omitempty"`
	// Context is what offers show, Offers the pending offers that show it, and Slots their
	// chains' slots, <invitationId>#<stage> (context.go, chain.go).
	Context *contextItem `dynamodbav:"context,omitempty"`
	Offers  []string     `dynamodbav:"offers,stringset,omitempty"`
	Slots   []string     `dynamodbav:"slots,stringset,omitempty"`
	// Once ended (retention.go): when the conversation expires, its place in the due index
	// until the retention sweep has stamped every item under it, and how far that got.
	ExpiresAt       int64  `dynamodbav:"expiresAt,omitempty"`
	GSI3PK          string `dynamodbav:"gsi3pk,omitempty"`
	GSI3SK          string `dynamodbav:"gsi3sk,omitempty"`
	RetainedThrough int64  `dynamodbav:"retainedThrough,omitempty"`
}

// Head is a conversation's history head as read.
type Head struct {
	Seq     int64
	Open    bool
	Pending []string // ids of the pending invitations
}

func (h headItem) public() Head {
	return Head{Seq: h.Seq, Open: h.Status == string(conversation.StatusOpen), Pending: h.Pending}
}

func (s *Store) head(ctx context.Context, conversationID string) (headItem, error) {
	var h headItem
	err := s.getItem(ctx, convPK(conversationID), headSK, true, &h)
	return h, err
}

// newHead is the head of a new conversation, with its opening events numbered and its context
// (context.go).
func newHead(c conversation.Conversation, events []conversation.Event, pending []string) headItem {
	h := headItem{PK: convPK(c.ID), SK: headSK, Type: "head", Status: string(conversation.StatusOpen), Pending: pending}
	h.number(events)
	h.Context = toContextItem(newHeadContext(c, events))
	return h
}

// number gives each event its seq and prevSeqs, in order, and advances the head past them.
func (h *headItem) number(events []conversation.Event) {
	for i := range events {
		h.Seq++
		events[i].Seq = h.Seq
		events[i].PrevVisitorSeq = h.VisitorSeq
		if events[i].Audience == conversation.AudienceEveryone {
			h.VisitorSeq = h.Seq
		}
	}
}

// MaxPending is the cap on pending invitations of one conversation.
const MaxPending = invitation.MaxPendingPerConversation

// opPendingCap names the refusal of an invitation over the cap.
const opPendingCap = "pending_cap"

// historyChange is what a transaction does to its conversation's head.
type historyChange struct {
	conversationID string
	events         [][]conversation.Event // the callers' slices, numbered in place on commit
	adds           []string               // invitations that become pending
	capped         bool                   // adds must fit under MaxPending
	settles        []string               // invitations that stop being pending
	offers         []newOffer             // new offers, written with the context (context.go)
	ends           bool                   // the transaction ends the conversation …
	retain         retention              // … which then expires (retention.go)
	pushOnly       []conversation.Event   // pushed but not kept: outbox items (outbox.go)
	// prepare, when set, completes the events from the head as read, on every attempt.
	prepare func(head headItem)
}

func (t *tx) change(conversationID string) *historyChange {
	if t.history == nil {
		t.history = &historyChange{conversationID: conversationID}
	}
	return t.history
}

// events adds events to the conversation's history; they are numbered when committed.
func (t *tx) events(events []conversation.Event) *tx {
	if len(events) == 0 {
		return t
	}
	h := t.change(events[0].ConversationID)
	h.events = append(h.events, events)
	return t
}

// pend records that an invitation becomes pending; capped ones must fit under MaxPending.
func (t *tx) pend(conversationID, invitationID string, capped bool) *tx {
	h := t.change(conversationID)
	h.adds = append(h.adds, invitationID)
	h.capped = h.capped || capped
	return t
}

// settle records that an invitation stops being pending.
func (t *tx) settle(conversationID, invitationID string) *tx {
	h := t.change(conversationID)
	h.settles = append(h.settles, invitationID)
	return t
}

// maxHeadAttempts bounds how often a transaction reads the head again after another
// transaction of the same conversation committed first. Many writers at once on one
// conversation each win in turn; a jittered pause keeps them from colliding in lockstep. A
// transaction that loses every time did nothing and is answered 503 conversation_busy: the
// caller retries after the pause, as after a throttled call.
const maxHeadAttempts = 40

// commitHistory commits a transaction that changes a conversation's head.
func (t *tx) commitHistory(ctx context.Context) error {
	h := t.history
	var last error
	for attempt := range maxHeadAttempts {
		if attempt > 0 {
			time.Sleep(time.Duration(rand.IntN(2+attempt*3)) * time.Millisecond)
		}
		head, remembered := takeHead(ctx, h.conversationID)
		if !remembered {
			var err error
			if head, err = t.s.headToWrite(ctx, h.conversationID); err != nil {
				return err
			}
		}
		op, err := h.apply(head, t)
		if err != nil && remembered {
			// A refusal is decided on a head read now, never on the one the access check
			// read: another request may have changed it since.
			if head, err = t.s.headToWrite(ctx, h.conversationID); err == nil {
				op, err = h.apply(head, t)
			}
		}
		if err != nil {
			return err
		}
		items := append(stampJoins(t.items, op.seq), op.items...)
		for i, it := range op.replace {
			items[i] = it
		}
		names := append(slices.Clone(t.names), op.names...)
		last = t.transact(ctx, names, items)
		if !FailedOn(last, "head") && !conflictOnly(last) {
			return last
		}
	}
	return apperror.Busy("conversation_busy", "too many changes to this conversation at once; retry after Retry-After seconds", time.Second).
		WithCause(fmt.Errorf("store: history of %s kept changing: %w", h.conversationID, last))
}

// headToWrite reads the head a transaction builds on; a conversation without one is not open.
func (s *Store) headToWrite(ctx context.Context, conversationID string) (headItem, error) {
	head, err := s.head(ctx, conversationID)
	if IsNotFound(err) {
		return headItem{}, &TxCanceledError{Failed: []string{"open"}}
	}
	return head, err
}

// conflictOnly reports whether a transaction lost to another one in flight on the same items
// (TransactionConflict) without any condition failing: on a busy conversation that is the
// head, and reading it again is the answer.
func conflictOnly(err error) bool {
	var tc *TxCanceledError
	return errors.As(err, &tc) && tc.Conflicted() && len(tc.Failed) == 0
}

// sinceSeqValue is the placeholder of an update that starts a participant's access
// (stampJoins).
const sinceSeqValue = ":sinceSeq"

// headOp is the head's update and the event puts of one attempt, and the transaction's own
// operations it completes (by position).
type headOp struct {
	names   []string
	items   []types.TransactWriteItem
	replace map[int]types.TransactWriteItem
	seq     int64 // the conversation's last seq before this transaction
}

// stampJoins copies the transaction's items, giving each participant it adds the seq its
// access starts after (sinceSeq: the last event before the transaction that lets them in, so
// they are pushed its events and every later one). Pushes are sent only for the events a
// recipient had access to (shared/push): someone who joins later is not pushed what came
// before (history has it).
//
// An admission from the lobby is an update that sets sinceSeq to sinceSeqValue: it is given
// the same seq.
func stampJoins(items []types.TransactWriteItem, seq int64) []types.TransactWriteItem {
	out := slices.Clone(items)
	for i, it := range out {
		if u := it.Update; u != nil {
			if _, ok := u.ExpressionAttributeValues[sinceSeqValue]; ok {
				upd := *u
				upd.ExpressionAttributeValues = maps.Clone(u.ExpressionAttributeValues)
				upd.ExpressionAttributeValues[sinceSeqValue] = num(seq)
				out[i] = types.TransactWriteItem{Update: &upd}
			}
			continue
		}
		if it.Put == nil {
			continue
		}
		if typ, ok := it.Put.Item["type"].(*types.AttributeValueMemberS); !ok || typ.Value != itemParticipant {
			continue
		}
		put := *it.Put
		put.Item = maps.Clone(put.Item)
		put.Item["sinceSeq"] = num(seq)
		out[i] = types.TransactWriteItem{Put: &put}
	}
	return out
}

// apply works out the head after the change, from the head as read: the events' numbers, the
// pending set, and the update conditioned on the head's revision being unchanged. A change that needs the
// conversation open fails on "open" when it is not, one over the cap on "pending_cap".
func (h *historyChange) apply(head headItem, t *tx) (headOp, error) {
	open := head.Status == string(conversation.StatusOpen)
	if !open && (len(h.events) > 0 || len(h.adds) > 0) {
		return headOp{}, &TxCanceledError{Failed: []string{"open"}}
	}
	if h.prepare != nil {
		h.prepare(head)
	}
	pending := head.Pending
	for _, id := range h.settles {
		pending = slices.DeleteFunc(slices.Clone(pending), func(p string) bool { return p == id })
	}
	if h.capped && len(pending)+len(h.adds) > MaxPending {
		return headOp{}, &TxCanceledError{Failed: []string{opPendingCap}}
	}
	pending = append(slices.Clone(pending), h.adds...)
	read := head.Rev
	before := head.Seq
	for _, evs := range h.events {
		head.number(evs)
	}
	op, err := h.contextOps(t, &head)
	if err != nil {
		return headOp{}, err
	}
	op.seq = before
	for _, evs := range h.events {
		for _, e := range evs {
			item, err := marshal(toEventItem(e))
			if err != nil {
				return headOp{}, err
			}
			op.names = append(op.names, "event")
			op.items = append(op.items, types.TransactWriteItem{Put: &types.Put{
				TableName: aws.String(t.s.table), Item: item, ConditionExpression: aws.String(notExists.expr),
			}})
		}
	}
	for _, e := range h.pushOnly {
		item, err := marshal(toOutboxItem(e, head.Seq, t.s.now()))
		if err != nil {
			return headOp{}, err
		}
		op.names = append(op.names, "outbox")
		op.items = append(op.items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(t.s.table), Item: item}})
	}
	update, err := h.headUpdate(t.s.table, read, head, pending)
	if err != nil {
		return headOp{}, err
	}
	op.names = append(op.names, "head")
	op.items = append(op.items, types.TransactWriteItem{Update: update})
	return op, nil
}

// headUpdate writes the head back, on the condition that nobody moved it since it was read.
func (h *historyChange) headUpdate(table string, readRev int64, head headItem, pending []string) (*types.Update, error) {
	values := map[string]types.AttributeValue{
		":read": num(readRev), ":rev": num(readRev + 1), ":seq": num(head.Seq), ":vseq": num(head.VisitorSeq),
	}
	names := map[string]string{}
	set := []string{"rev = :rev", "seq = :seq", "visitorSeq = :vseq"}
	var remove []string
	if h.ends {
		set = append(set, "#status = :ended")
		names["#status"] = "status"
		values[":ended"] = str(string(conversation.StatusEnded))
		set = append(set, h.retain.headClauses(values)...)
	}
	if len(pending) > 0 {
		set = append(set, "pending = :pending")
		values[":pending"] = &types.AttributeValueMemberSS{Value: pending}
	} else {
		remove = append(remove, "pending")
	}
	ctxSet, ctxRemove, err := headContextClauses(head, values, names)
	if err != nil {
		return nil, err
	}
	set, remove = append(set, ctxSet...), append(remove, ctxRemove...)
	expr := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	u := &types.Update{
		TableName:                 aws.String(table),
		Key:                       key(convPK(h.conversationID), headSK),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("rev = :read"),
		ExpressionAttributeValues: values,
	}
	if len(names) > 0 {
		u.ExpressionAttributeNames = names
	}
	return u, nil
}

// IsTooManyPending reports whether a write was refused because the conversation already has
// MaxPending pending invitations.
func IsTooManyPending(err error) bool { return FailedOn(err, opPendingCap) }
