package store

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
)

// The committed event is the outbox (SPEC §6): the table's stream (NEW_IMAGE) carries every
// item written, and the push function (shared/push) pushes what it reads there, so a function
// that dies right after its commit loses no push. Two kinds of items feed it:
//
//   - history events (EVT#<seq>, type "event"), with pushTo: who the event is addressed to
//     besides the participants, decided at commit;
//   - push-only events (invitation.taken), which history does not keep: an outbox item
//     CONV#<id> / OUT#<afterSeq>#<id> (type "outbox"), written in the same transaction as the
//     change it tells of, living OutboxTTL (its stream record is what matters; TTL cleans up).
//
// Both sit in the conversation's partition, so the stream delivers them in commit order.

// Item types the push function reads from the stream.
const (
	itemEvent  = "event"
	itemOutbox = "outbox"
)

// OutboxTTL is how long a push-only item stays in the table. The stream keeps its record 24 h
// whatever happens to the item.
const OutboxTTL = time.Hour

type outboxItem struct {
	eventItem
	// AfterSeq is the conversation's last seq when it was written: it orders the push after
	// the events of its transaction.
	AfterSeq int64 `dynamodbav:"afterSeq"`
}

func toOutboxItem(e conversation.Event, afterSeq int64, now time.Time) outboxItem {
	it := toEventItem(e)
	it.Type, it.Seq, it.PrevVisitorSeq = itemOutbox, 0, 0
	it.SK = fmt.Sprintf("OUT#%012d#%s", afterSeq, ids.New("out"))
	it.ExpiresAt = now.Add(OutboxTTL).Unix()
	return outboxItem{eventItem: it, AfterSeq: afterSeq}
}

// pushOnly adds events that are pushed but not kept in history (seq 0) to the transaction,
// written as outbox items after its history events.
func (t *tx) pushOnly(events []conversation.Event) *tx {
	if len(events) == 0 {
		return t
	}
	h := t.change(events[0].ConversationID)
	h.pushOnly = append(h.pushOnly, events...)
	return t
}

// Pushed is an event read from the table's stream, with its place in the conversation's
// order: Seq for a history event, AfterSeq for a push-only one (Seq 0).
type Pushed struct {
	conversation.Event
	AfterSeq int64
}

// Order sorts pushes of one conversation in commit order: a push-only event after the
// history events of its transaction.
func (p Pushed) Order() int64 {
	if p.Seq > 0 {
		return 2 * p.Seq
	}
	return 2*p.AfterSeq + 1
}

// StreamEvent reads a stream record's new image: the event it carries, and false for any
// other item (the event source's filter passes only events and outbox items, but the stream
// has every write).
func StreamEvent(image map[string]events.DynamoDBAttributeValue) (Pushed, bool, error) {
	typ := image["type"]
	if typ.DataType() != events.DataTypeString || (typ.String() != itemEvent && typ.String() != itemOutbox) {
		return Pushed{}, false, nil
	}
	av, err := fromStream(events.NewMapAttribute(image))
	if err != nil {
		return Pushed{}, false, err
	}
	var it outboxItem
	if err := attributevalue.Unmarshal(av, &it); err != nil {
		return Pushed{}, false, fmt.Errorf("decode stream image: %w", err)
	}
	convID, ok := strings.CutPrefix(it.PK, "CONV#")
	if !ok {
		return Pushed{}, false, fmt.Errorf("stream image of %s/%s is no conversation's", it.PK, it.SK)
	}
	return Pushed{Event: it.domain(convID), AfterSeq: it.AfterSeq}, true, nil
}

// fromStream converts the Lambda event's attribute value into the SDK's.
func fromStream(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		out := &types.AttributeValueMemberL{}
		for _, e := range v.List() {
			av, err := fromStream(e)
			if err != nil {
				return nil, err
			}
			out.Value = append(out.Value, av)
		}
		return out, nil
	case events.DataTypeMap:
		out := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
		for k, e := range v.Map() {
			av, err := fromStream(e)
			if err != nil {
				return nil, err
			}
			out.Value[k] = av
		}
		return out, nil
	}
	return nil, fmt.Errorf("stream image: unknown attribute type %v", v.DataType())
}
