package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
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
	Attempt         string `dynamodbav:"attempt,omitempty"`     // the attempt holding the key (idempotency.Claim)
	CommittedTx     string `dynamodbav:"committedTx,omitempty"` // the attempt's last committed transaction
	Response        string `dynamodbav:"response,omitempty"`
	ExpiresAt       int64  `dynamodbav:"expiresAt"`
}

// BeginIdempotent claims an idempotency key with a conditional put: the key is free when
// no record exists, the record expired, or an earlier attempt died while in progress without
// committing anything. A key already held costs no second call: the failed condition returns
// the record.
func (s idempotencyStore) Begin(ctx context.Context, c *idempotency.Claim, requestHash string, ttl, inProgress time.Duration) (idempotency.Record, bool, error) {
	now := s.now()
	item, err := marshal(idempotencyItem{
		PK: idemPK(c.Scope), SK: idemSK, Type: "idempotency", Status: "in_progress", Attempt: c.Attempt(),
		RequestHash: requestHash, InProgressUntil: now.Add(inProgress).Unix(), ExpiresAt: now.Add(ttl).Unix(),
	})
	if err != nil {
		return idempotency.Record{}, false, err
	}
	claim := &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item:      item,
		// The last clause makes the claim itself repeatable: when its answer is lost, the
		// same attempt claims again and finds the key its own.
		ConditionExpression: aws.String("attribute_not_exists(pk) OR expiresAt <= :now OR " +
			"(#status = :inProgress AND inProgressUntil <= :now AND attribute_not_exists(committedTx)) OR " +
			"(#status = :inProgress AND attempt = :attempt)"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": num(now.Unix()), ":inProgress": str("in_progress"), ":attempt": str(c.Attempt()),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	_, err = s.db.PutItem(ctx, claim)
	if err != nil && !isConditionFailure(err) {
		_, err = s.db.PutItem(ctx, claim)
	}
	if err == nil {
		return idempotency.Record{}, true, nil
	}
	var held *types.ConditionalCheckFailedException
	if !errors.As(err, &held) {
		return idempotency.Record{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	var it idempotencyItem
	if err := attributevalue.UnmarshalMap(held.Item, &it); err != nil {
		return idempotency.Record{}, false, fmt.Errorf("read idempotency record: %w", err)
	}
	rec, err := it.record()
	return rec, false, err
}

// CompleteIdempotent stores the response under the claimed key.
func (s idempotencyStore) Complete(ctx context.Context, c *idempotency.Claim, resp idempotency.Response, ttl time.Duration) error {
	completed, err := s.completion(resp, ttl)
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(idemPK(c.Scope), idemSK),
		UpdateExpression:          aws.String("SET " + completedSet + " REMOVE inProgressUntil"),
		ExpressionAttributeNames:  completedNames,
		ExpressionAttributeValues: completed,
	})
	if err != nil {
		return fmt.Errorf("complete idempotency record: %w", err)
	}
	return nil
}

// completedSet completes a claimed key with its answer (the values of completion).
const completedSet = "#status = :completed, #response = :response, expiresAt = :exp"

var completedNames = map[string]string{"#status": "status", "#response": "response"}

func (s *Store) completion(resp idempotency.Response, ttl time.Duration) (map[string]types.AttributeValue, error) {
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, err
	}
	return map[string]types.AttributeValue{
		":completed": str("completed"), ":response": str(string(b)), ":exp": num(s.now().Add(ttl).Unix()),
	}, nil
}

// AbandonIdempotent releases a key whose attempt failed on our side, so a retry runs again —
// unless the attempt committed: then a second run would do the action twice, and the key
// stays held (a retry is told it is in progress until the record expires).
func (s idempotencyStore) Abandon(ctx context.Context, c *idempotency.Claim) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(idemPK(c.Scope), idemSK),
		ConditionExpression:       aws.String("attempt = :attempt AND attribute_not_exists(committedTx)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":attempt": str(c.Attempt())},
	})
	if errors.Is(mapCondition(err), ErrConditionFailed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("abandon idempotency record: %w", err)
	}
	return nil
}

// Lookup reads the key's record: the first call of a speculative keyed request
// (idempotency.Speculation), beside the action's first read.
func (s idempotencyStore) Lookup(ctx context.Context, scope string) (idempotency.Record, bool, error) {
	var it idempotencyItem
	err := s.readRecord(ctx, scope, &it)
	if IsNotFound(err) || (err == nil && it.ExpiresAt <= s.now().Unix()) {
		return idempotency.Record{}, false, nil
	}
	if err != nil {
		return idempotency.Record{}, false, fmt.Errorf("read idempotency record: %w", err)
	}
	rec, err := it.record()
	return rec, err == nil, err
}

// readRecord reads the key's record: what the batch that took the request's ride delivered
// (idempotency.Ride), or, when none took it, with a GetItem of its own.
func (s idempotencyStore) readRecord(ctx context.Context, scope string, out *idempotencyItem) error {
	r := idempotency.RideFrom(ctx)
	if r == nil || r.Scope != scope || r.Take() {
		return s.getItem(ctx, idemPK(scope), idemSK, true, out)
	}
	found, err := r.Wait(ctx)
	if err != nil {
		return fmt.Errorf("get %s/%s: %w", idemPK(scope), idemSK, err)
	}
	item, _ := found.(map[string]types.AttributeValue)
	if item == nil {
		return ErrNotFound
	}
	if err := attributevalue.UnmarshalMap(item, out); err != nil {
		return fmt.Errorf("decode %s/%s: %w", idemPK(scope), idemSK, err)
	}
	return nil
}

func (it idempotencyItem) record() (idempotency.Record, error) {
	rec := idempotency.Record{RequestHash: it.RequestHash, Completed: it.Status == "completed"}
	if rec.Completed {
		if err := json.Unmarshal([]byte(it.Response), &rec.Response); err != nil {
			return idempotency.Record{}, fmt.Errorf("decode stored response: %w", err)
		}
	}
	return rec, nil
}

// Finish writes the completed record, with the held transaction when there is one.
func (s idempotencyStore) Finish(ctx context.Context, held idempotency.Commit, rec idempotency.Completion) error {
	if held != nil {
		return held(ctx, rec)
	}
	put, err := s.completedRecord(rec)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: put.Item, ConditionExpression: put.ConditionExpression,
		ExpressionAttributeValues: put.ExpressionAttributeValues,
	})
	if isConditionFailure(err) {
		return idempotency.ErrKeyTaken
	}
	if err != nil {
		return fmt.Errorf("remember idempotent answer: %w", err)
	}
	return nil
}

// completedRecord is the Put of a key's completed record, on the condition that the key is
// free (no record, or an expired one; an attempt in progress holds it).
func (s *Store) completedRecord(rec idempotency.Completion) (*types.Put, error) {
	resp, err := json.Marshal(rec.Response)
	if err != nil {
		return nil, err
	}
	now := s.now()
	item, err := marshal(idempotencyItem{
		PK: idemPK(rec.Scope), SK: idemSK, Type: "idempotency", Status: "completed",
		RequestHash: rec.RequestHash, Response: string(resp), ExpiresAt: now.Add(rec.TTL).Unix(),
	})
	if err != nil {
		return nil, err
	}
	return &types.Put{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR expiresAt <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
	}, nil
}

// claimMark is the operation every transaction of a keyed attempt carries: it commits only
// while the attempt holds the key, and records that this transaction committed. The action's
// last commit may also carry the request's answer (idempotency.Answering): the mark then
// completes the key as Complete would, and the commit is the attempt's last write.
func (s *Store) claimMark(c *idempotency.Claim, txID string, answer *idempotency.Response) (types.TransactWriteItem, error) {
	update := &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       key(idemPK(c.Scope), idemSK),
		UpdateExpression:          aws.String("SET committedTx = :tx"),
		ConditionExpression:       aws.String("attempt = :attempt"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":tx": str(txID), ":attempt": str(c.Attempt())},
	}
	if answer != nil {
		completed, err := s.completion(*answer, idempotency.TTL)
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		update.UpdateExpression = aws.String("SET committedTx = :tx, " + completedSet + " REMOVE inProgressUntil")
		update.ExpressionAttributeNames = completedNames
		maps.Copy(update.ExpressionAttributeValues, completed)
	}
	return types.TransactWriteItem{Update: update}, nil
}

// resolveCommit learns whether a transaction whose answer was lost applied. It fences the
// claim — a new attempt token, written only if the transaction's mark is absent — so a
// transaction still in flight can no longer commit; if the mark is there, it applied. (A
// transaction of one update rather than UpdateItem: every function that commits
// transactions may need this, and none needs another permission for it.)
func (s *Store) resolveCommit(ctx context.Context, c *idempotency.Claim, txID string) (applied bool, err error) {
	fence := idempotency.NewToken()
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Update: &types.Update{
		TableName:        aws.String(s.table),
		Key:              key(idemPK(c.Scope), idemSK),
		UpdateExpression: aws.String("SET attempt = :fence"),
		ConditionExpression: aws.String("attempt = :attempt AND " +
			"(attribute_not_exists(committedTx) OR committedTx <> :tx)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":fence": str(fence), ":attempt": str(c.Attempt()), ":tx": str(txID),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}}})
	if err == nil {
		c.Fence(fence)
		return false, nil
	}
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) || len(canceled.CancellationReasons) != 1 || aws.ToString(canceled.CancellationReasons[0].Code) != "ConditionalCheckFailed" {
		return false, fmt.Errorf("resolve commit: %w", err)
	}
	var it idempotencyItem
	if err := attributevalue.UnmarshalMap(canceled.CancellationReasons[0].Item, &it); err != nil {
		return false, fmt.Errorf("resolve commit: %w", err)
	}
	if it.Attempt != c.Attempt() {
		return false, idempotency.ErrClaimLost
	}
	return it.CommittedTx == txID, nil
}

func isConditionFailure(err error) bool {
	var failed *types.ConditionalCheckFailedException
	return errors.As(err, &failed)
}
