package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/idempotency"
)

func idemPK(scope string) string { return "IDEM#" + scope }

const idemSK = "IDEM"

// Idempotency returns the store's implementation of idempotency.Store.
func (s *Store) Idempotency() idempotency.Store { return idempotencyStore{s} }

type idempotencyStore struct{ *Store }

type idempotencyItem struct {
	PK              string `dynamodbav:"pk"`
	SK              string `dynamodbav:"sk"`
	Type            string `dynamodbav:"type"`
	Status          string `dynamodbav:"status"` // in_progress | completed
	RequestHash     string `dynamodbav:"requestHash"`
	InProgressUntil int64  `dynamodbav:"inProgressUntil,omitempty"`
	Response        string `dynamodbav:"response,omitempty"`
	ExpiresAt       int64  `dynamodbav:"expiresAt"`
}

// BeginIdempotent claims an idempotency key with a conditional put: the key is free when
// no record exists, the record expired, or an earlier attempt died while in progress.
func (s idempotencyStore) Begin(ctx context.Context, scope, requestHash string, ttl, inProgress time.Duration) (idempotency.Record, bool, error) {
	now := s.now()
	item, err := marshal(idempotencyItem{
		PK: idemPK(scope), SK: idemSK, Type: "idempotency", Status: "in_progress",
		RequestHash: requestHash, InProgressUntil: now.Add(inProgress).Unix(), ExpiresAt: now.Add(ttl).Unix(),
	})
	if err != nil {
		return idempotency.Record{}, false, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item:      item,
		ConditionExpression: aws.String("attribute_not_exists(pk) OR expiresAt <= :now OR " +
			"(#status = :inProgress AND inProgressUntil <= :now)"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": num(now.Unix()), ":inProgress": str("in_progress"),
		},
	})
	if err == nil {
		return idempotency.Record{}, true, nil
	}
	if !errors.Is(mapCondition(err), ErrConditionFailed) {
		return idempotency.Record{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	var it idempotencyItem
	if err := s.getItem(ctx, idemPK(scope), idemSK, true, &it); err != nil {
		return idempotency.Record{}, false, fmt.Errorf("read idempotency record: %w", err)
	}
	rec := idempotency.Record{RequestHash: it.RequestHash, Completed: it.Status == "completed"}
	if rec.Completed {
		if err := json.Unmarshal([]byte(it.Response), &rec.Response); err != nil {
			return idempotency.Record{}, false, fmt.Errorf("decode stored response: %w", err)
		}
	}
	return rec, false, nil
}

// CompleteIdempotent stores the response under the claimed key.
func (s idempotencyStore) Complete(ctx context.Context, scope string, resp idempotency.Response, ttl time.Duration) error {
	b, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(idemPK(scope), idemSK),
		UpdateExpression:         aws.String("SET #status = :completed, #response = :response, expiresAt = :exp REMOVE inProgressUntil"),
		ExpressionAttributeNames: map[string]string{"#status": "status", "#response": "response"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":completed": str("completed"), ":response": str(string(b)), ":exp": num(s.now().Add(ttl).Unix()),
		},
	})
	if err != nil {
		return fmt.Errorf("complete idempotency record: %w", err)
	}
	return nil
}

// AbandonIdempotent releases a key whose attempt failed on our side, so a retry runs again.
func (s idempotencyStore) Abandon(ctx context.Context, scope string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table),
		Key:       key(idemPK(scope), idemSK),
	})
	if err != nil {
		return fmt.Errorf("abandon idempotency record: %w", err)
	}
	return nil
}
