package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/idempotency"
)

// tx builds one TransactWriteItems call whose operations carry names, so a cancellation can
// say which rule failed. Build errors (encoding) are kept and returned by commit.
type tx struct {
	s       *Store
	names   []string
	items   []types.TransactWriteItem
	err     error
	history *historyChange // what it does to its conversation's head, if anything (history.go)
}

func (s *Store) newTx() *tx { return &tx{s: s} }

// cond is a condition expression with its placeholders.
type cond struct {
	expr   string
	names  map[string]string
	values map[string]types.AttributeValue
}

func (c cond) exprPtr() *string {
	if c.expr == "" {
		return nil
	}
	return aws.String(c.expr)
}

func (c cond) namesOrNil() map[string]string {
	if len(c.names) == 0 {
		return nil
	}
	return c.names
}

func (c cond) valuesOrNil() map[string]types.AttributeValue {
	if len(c.values) == 0 {
		return nil
	}
	return c.values
}

// notExists is the condition that the item does not exist yet.
var notExists = cond{expr: "attribute_not_exists(pk)"}

// put adds a Put of item under the given condition (zero cond: unconditional).
func (t *tx) put(name string, item any, c cond) *tx {
	m, err := marshal(item)
	if err != nil {
		t.err = errors.Join(t.err, err)
		return t
	}
	t.names = append(t.names, name)
	t.items = append(t.items, types.TransactWriteItem{Put: &types.Put{
		TableName:                 aws.String(t.s.table),
		Item:                      m,
		ConditionExpression:       c.exprPtr(),
		ExpressionAttributeNames:  c.namesOrNil(),
		ExpressionAttributeValues: c.valuesOrNil(),
	}})
	return t
}

// update adds an Update of pk/sk.
func (t *tx) update(name, pk, sk, updateExpr string, c cond) *tx {
	t.names = append(t.names, name)
	t.items = append(t.items, types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(t.s.table),
		Key:                       key(pk, sk),
		UpdateExpression:          aws.String(updateExpr),
		ConditionExpression:       c.exprPtr(),
		ExpressionAttributeNames:  c.namesOrNil(),
		ExpressionAttributeValues: c.valuesOrNil(),
	}})
	return t
}

// del adds a Delete of pk/sk.
func (t *tx) del(name, pk, sk string, c cond) *tx {
	t.names = append(t.names, name)
	t.items = append(t.items, types.TransactWriteItem{Delete: &types.Delete{
		TableName:                 aws.String(t.s.table),
		Key:                       key(pk, sk),
		ConditionExpression:       c.exprPtr(),
		ExpressionAttributeNames:  c.namesOrNil(),
		ExpressionAttributeValues: c.valuesOrNil(),
	}})
	return t
}

// check adds a ConditionCheck on pk/sk.
func (t *tx) check(name, pk, sk string, c cond) *tx {
	t.names = append(t.names, name)
	t.items = append(t.items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                 aws.String(t.s.table),
		Key:                       key(pk, sk),
		ConditionExpression:       aws.String(c.expr),
		ExpressionAttributeNames:  c.namesOrNil(),
		ExpressionAttributeValues: c.valuesOrNil(),
	}})
	return t
}

// maxTxRetries bounds retries of a transaction that lost a race (TransactionConflict): the
// conditions are evaluated afresh on each try, so a retry never breaks a rule.
const maxTxRetries = 3

// commit runs the transaction. A cancelled transaction becomes *TxCanceledError naming the
// operations whose condition failed.
func (t *tx) commit(ctx context.Context) error {
	if t.err != nil {
		return t.err
	}
	if t.history != nil {
		return t.commitHistory(ctx)
	}
	return t.transact(ctx, t.names, t.items)
}

// transact runs the named operations as one TransactWriteItems call. In a keyed attempt
// (idempotency.Claim in ctx) the call also carries the claim's mark: see claim.go.
func (t *tx) transact(ctx context.Context, names []string, items []types.TransactWriteItem) error {
	if len(items) == 0 {
		return nil
	}
	if sp := idempotency.SpeculationFrom(ctx); sp != nil {
		return sp.Hold(func(ctx context.Context, rec idempotency.Completion) error {
			return t.sendHeld(ctx, names, items, rec)
		})
	}
	claim := idempotency.ClaimFrom(ctx)
	var txID string
	answer := idempotency.AnswerFrom(ctx)
	if claim != nil {
		txID = idempotency.NewToken()
		mark, err := t.s.claimMark(claim, txID, answer)
		if err != nil {
			return err
		}
		names, items = withOp(names, items, claimName, mark)
	}
	if err := withinLimit(items); err != nil {
		return err
	}
	err := t.transactWithRetries(ctx, names, items)
	switch {
	case claim == nil:
		return err
	case FailedOn(err, claimName):
		return idempotency.ErrClaimLost
	case err != nil && !IsCanceled(err): // no cancellation came back: it may or may not have applied
		err = t.settleLost(ctx, claim, txID, err)
	}
	switch {
	case err != nil:
		return err
	case answer != nil:
		claim.MarkAnswered()
	default:
		claim.MarkCommitted()
	}
	return nil
}

// sendHeld sends a speculation's transaction with the key's completed record: the action and
// its answer are one write.
func (t *tx) sendHeld(ctx context.Context, names []string, items []types.TransactWriteItem, rec idempotency.Completion) error {
	put, err := t.s.completedRecord(rec)
	if err != nil {
		return err
	}
	names, items = withOp(names, items, answerName, types.TransactWriteItem{Put: put})
	if err := withinLimit(items); err != nil {
		return err
	}
	err = t.transactWithRetries(ctx, names, items)
	if FailedOn(err, answerName) {
		return idempotency.ErrKeyTaken
	}
	return err
}

// answerName names the key's completed record among a held transaction's operations.
const answerName = "idempotent answer"

// settleLost decides a transaction whose answer was lost: if it applied, the action goes on as
// if the answer had come.
func (t *tx) settleLost(ctx context.Context, claim *idempotency.Claim, txID string, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	applied, err := t.s.resolveCommit(ctx, claim, txID)
	switch {
	case err != nil:
		return errors.Join(cause, err)
	case applied:
		return nil
	default:
		return cause
	}
}

// settleTimeout bounds the call that learns a lost commit's outcome; the action's own
// deadline may be what lost it.
const settleTimeout = 2 * time.Second

// claimName names the claim's mark among a transaction's operations.
const claimName = "idempotency claim"

// maxTxItems is DynamoDB's limit of operations in one transaction.
const maxTxItems = 100

// withOp adds one named operation to a transaction's, in new slices: the tx keeps its own
// for a retry of the whole attempt.
func withOp(names []string, items []types.TransactWriteItem, name string, item types.TransactWriteItem) ([]string, []types.TransactWriteItem) {
	return append(names[:len(names):len(names)], name), append(items[:len(items):len(items)], item)
}

// withinLimit refuses a transaction DynamoDB would refuse for its size, naming the count.
func withinLimit(items []types.TransactWriteItem) error {
	if len(items) > maxTxItems {
		return fmt.Errorf("store: transaction of %d operations exceeds DynamoDB's %d", len(items), maxTxItems)
	}
	return nil
}

func (t *tx) transactWithRetries(ctx context.Context, names []string, items []types.TransactWriteItem) error {
	var last error
	for attempt := 0; attempt <= maxTxRetries; attempt++ {
		_, err := t.s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return nil
		}
		last = canceled(names, err)
		var tc *TxCanceledError
		if !errors.As(last, &tc) || !tc.Conflicted() || len(tc.Failed) > 0 {
			return last
		}
	}
	return last
}

func canceled(names []string, err error) error {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return fmt.Errorf("transact write: %w", err)
	}
	out := &TxCanceledError{}
	for i, r := range tce.CancellationReasons {
		code := aws.ToString(r.Code)
		out.Reasons = append(out.Reasons, code)
		if code == "ConditionalCheckFailed" && i < len(names) {
			out.Failed = append(out.Failed, names[i])
		}
	}
	return out
}
