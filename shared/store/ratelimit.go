package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func ratePK(key string) string { return "RATE#" + key }

const rateSK = "RATE"

// TakeRateSlot implements ratelimit.Counters: one conditional ADD, so that concurrent takes
// can never push a counter past its limit. The key names the window, so a counter is never
// reused; expiresAt lets TTL clear it away.
func (s *Store) TakeRateSlot(ctx context.Context, counter string, limit int, expiresAt time.Time) (int, bool, error) {
	c := takeSlot(limit, expiresAt)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(ratePK(counter), rateSK),
		UpdateExpression:          aws.String(takeSlotUpdate),
		ConditionExpression:       c.exprPtr(),
		ExpressionAttributeNames:  c.names,
		ExpressionAttributeValues: c.values,
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if errors.Is(mapCondition(err), ErrConditionFailed) {
		return limit, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("take rate slot: %w", err)
	}
	n, _ := out.Attributes["count"].(*types.AttributeValueMemberN)
	if n == nil {
		return 0, false, errors.New("take rate slot: no count returned")
	}
	count, err := strconv.Atoi(n.Value)
	return count, true, err
}

// ReturnRateSlot implements ratelimit.Counters: it takes one off a counter that is above zero.
func (s *Store) ReturnRateSlot(ctx context.Context, counter string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(ratePK(counter), rateSK),
		UpdateExpression:         aws.String("ADD #count :minusOne"),
		ConditionExpression:      aws.String("#count > :zero"),
		ExpressionAttributeNames: map[string]string{"#count": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":minusOne": num(-1), ":zero": num(0),
		},
	})
	if err == nil || errors.Is(mapCondition(err), ErrConditionFailed) {
		return nil
	}
	return fmt.Errorf("return rate slot: %w", err)
}

// returnRateSlot adds to t the update that gives a counter back one slot. Unconditional, so it
// never refuses the write it rides with: a counter gone (its window ended and TTL removed it)
// comes back at -1 for a day, one more try for a window that is over.
func (t *tx) returnRateSlot(counter string, at time.Time) *tx {
	return t.update(rateSlotName, ratePK(counter), rateSK, "ADD #count :minusOne SET expiresAt = if_not_exists(expiresAt, :exp)", cond{
		names:  map[string]string{"#count": "count"},
		values: map[string]types.AttributeValue{":minusOne": num(-1), ":exp": num(at.Add(24 * time.Hour).Unix())},
	})
}

// takeSlotUpdate adds one to a counter (creating it), under takeSlot's condition.
const takeSlotUpdate = "SET #type = :type, expiresAt = :exp ADD #count :one"

// takeSlot holds a counter below its limit.
func takeSlot(limit int, expiresAt time.Time) cond {
	return cond{
		expr:  "attribute_not_exists(pk) OR #count < :limit",
		names: map[string]string{"#count": "count", "#type": "type"},
		values: map[string]types.AttributeValue{
			":type": str("rate"), ":exp": num(expiresAt.Unix()), ":one": num(1), ":limit": num(int64(limit)),
		},
	}
}

// RateSlot is a rate-limit slot taken in the same write as the change it counts (an
// invitation email): the change and its count are one, and a change that is refused for
// another reason counts nothing. The write fails on it (IsRateFull) once the window's counter
// has reached Limit.
type RateSlot struct {
	Counter   string
	Limit     int
	ExpiresAt time.Time
}

// rateSlotName names a taken slot among a transaction's operations.
const rateSlotName = "rate slot"

// IsRateFull reports a write refused because its rate-limit window is full.
func IsRateFull(err error) bool { return FailedOn(err, rateSlotName) }

// takeRateSlots adds to t a take of each slot.
func (t *tx) takeRateSlots(slots []RateSlot) *tx {
	for _, s := range slots {
		t.update(rateSlotName, ratePK(s.Counter), rateSK, takeSlotUpdate, takeSlot(s.Limit, s.ExpiresAt))
	}
	return t
}
