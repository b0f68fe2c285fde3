package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// An invitation email's SES MessageId leads to its invitation through one item, so that a
// notification is matched with one GetItem, never a scan: SESMSG#<messageId> / SESMSG holds the
// invitation and conversation ids. It lives as long as SES may still say something about the
// email (complaints can come weeks later), then TTL removes it.

func sesMessagePK(messageID string) string { return "SESMSG#" + messageID }

const (
	sesMessageSK = "SESMSG"
	// sesMessageLifetime is how long notifications about an email are matched.
	sesMessageLifetime = 90 * 24 * time.Hour
)

type sesMessageItem struct {
	PK             string `dynamodbav:"pk"`
	SK             string `dynamodbav:"sk"`
	Type           string `dynamodbav:"type"`
	InvitationID   string `dynamodbav:"invitationId"`
	ConversationID string `dynamodbav:"conversationId"`
	ExpiresAt      int64  `dynamodbav:"expiresAt"`
}

// SentMessage is what an SES MessageId names.
type SentMessage struct {
	InvitationID   string
	ConversationID string
}

// SentMessage finds the invitation whose email SES gave messageID; ErrNotFound if none (an
// email of another sender, or one older than the matching window).
func (s *Store) SentMessage(ctx context.Context, messageID string) (SentMessage, error) {
	var it sesMessageItem
	if err := s.getItem(ctx, sesMessagePK(messageID), sesMessageSK, false, &it); err != nil {
		return SentMessage{}, err
	}
	return SentMessage{InvitationID: it.InvitationID, ConversationID: it.ConversationID}, nil
}

// RecordSent records SES's answer to SendEmail — sent, its MessageId, and the item that leads
// from the MessageId to the invitation — in one transaction, without an event: the sender is
// told in the answer, and SES's notifications tell the rest. It holds only while the
// invitation still waits for that answer (same email, nothing recorded since); otherwise it
// fails on "invitation" and the newer state stands.
func (s *Store) RecordSent(ctx context.Context, waiting, sent invitation.Invitation) error {
	set, values := deliverySet(sent)
	values[":messageId"] = str(sent.MessageID)
	values[":sendCount"] = num(int64(waiting.SendCount))
	values[":waiting"] = str(string(waiting.Delivery))
	return s.newTx().
		update("invitation", invitationPK(sent.ID), invitationSK, "SET "+set+", messageId = :messageId", cond{
			expr:   "sendCount = :sendCount AND delivery = :waiting AND attribute_not_exists(messageId)",
			values: values,
		}).
		put("message", s.messageItem(sent), cond{}).
		commit(ctx)
}

func (s *Store) messageItem(inv invitation.Invitation) sesMessageItem {
	return sesMessageItem{
		PK: sesMessagePK(inv.MessageID), SK: sesMessageSK, Type: "sesMessage",
		InvitationID: inv.ID, ConversationID: inv.ConversationID,
		ExpiresAt: s.now().Add(sesMessageLifetime).Unix(),
	}
}

// DeliveryUpdate is what a caller of RecordDelivery decided from the invitation as read.
type DeliveryUpdate struct {
	Invitation invitation.Invitation // with its new delivery (and MessageID, for a new email)
	// Events tell the change in history; none for a change nobody is told of. They are left
	// out when the conversation has ended: nothing is written after conversation.ended.
	Events []conversation.Event
}

// maxDeliveryAttempts bounds how often RecordDelivery reads the invitation again after another
// write of its delivery came first; each round is decided afresh, so retries never break the
// rules.
const maxDeliveryAttempts = 10

// RecordDelivery reads the invitation, asks decide what its delivery becomes, and writes that
// on the condition that no other delivery write came in between (else it reads and decides
// again). decide answers false for "nothing to write". A new MessageId is linked to the
// invitation in the same transaction. It returns the events written, numbered: none when
// nothing was written or the conversation has ended.
func (s *Store) RecordDelivery(ctx context.Context, invitationID string, decide func(invitation.Invitation) (DeliveryUpdate, bool)) ([]conversation.Event, error) {
	for range maxDeliveryAttempts {
		var it invitationItem
		if err := s.getItem(ctx, invitationPK(invitationID), invitationSK, true, &it); err != nil {
			return nil, err
		}
		read := it.domain()
		up, ok := decide(read)
		if !ok {
			return nil, nil
		}
		err := s.writeDelivery(ctx, it, up, up.Events)
		if FailedOn(err, "open") {
			// The conversation has ended: the email's fate is still recorded, without an event.
			up.Events = nil
			err = s.writeDelivery(ctx, it, up, nil)
		}
		switch {
		case FailedOn(err, "invitation"):
			continue
		case err != nil:
			return nil, err
		}
		return up.Events, nil
	}
	return nil, fmt.Errorf("store: delivery of invitation %s kept changing", invitationID)
}

func (s *Store) writeDelivery(ctx context.Context, read invitationItem, up DeliveryUpdate, events []conversation.Event) error {
	inv := up.Invitation
	set, values := deliverySet(inv)
	set = "SET " + set
	c := cond{expr: "attribute_not_exists(deliveryRev)", values: values}
	if read.DeliveryRev != 0 {
		c.expr = "deliveryRev = :readRev"
		values[":readRev"] = num(read.DeliveryRev)
	}
	if inv.MessageID != read.MessageID {
		set += ", messageId = :messageId"
		values[":messageId"] = str(inv.MessageID)
	}
	t := s.newTx().update("invitation", invitationPK(inv.ID), invitationSK, set, c)
	if inv.MessageID != "" && inv.MessageID != read.MessageID {
		t.put("message", s.messageItem(inv), cond{})
	}
	return t.events(events).commit(ctx)
}

// deliverySet is the SET clause that writes an invitation's delivery, and moves its
// deliveryRev on so that a write decided on an older reading fails its condition.
func deliverySet(inv invitation.Invitation) (string, map[string]types.AttributeValue) {
	values := map[string]types.AttributeValue{
		":delivery": str(string(inv.Delivery)), ":deliveryAt": num(inv.DeliveryAt.UnixMilli()),
		":deliveryDetail": str(inv.DeliveryDetail), ":zero": num(0), ":one": num(1),
	}
	return "delivery = :delivery, deliveryDetail = :deliveryDetail, deliveryAt = :deliveryAt, " +
		"deliveryRev = if_not_exists(deliveryRev, :zero) + :one", values
}
