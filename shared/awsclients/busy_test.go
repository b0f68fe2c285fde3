package awsclients

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/faults"
)

// stackAnswering is a DynamoDB client's initialize chain (faults, call deadline, busy) in
// front of a service that answers err.
func stackAnswering(t *testing.T, err error) middleware.Handler {
	t.Helper()
	stack := middleware.NewStack("test", func() any { return nil })
	for _, add := range []func(*middleware.Stack) error{faults.Middleware, boundCalls, markBusy} {
		if e := add(stack); e != nil {
			t.Fatal(e)
		}
	}
	return middleware.DecorateHandler(middleware.HandlerFunc(func(context.Context, any) (any, middleware.Metadata, error) {
		return nil, middleware.Metadata{}, err
	}), stack)
}

// Throttling and DynamoDB's own errors, once the SDK's retries are spent, are a 503 the
// caller may retry (apperror.Busy); an error about the request stays what it was. The SDK's
// error stays in the chain for callers that inspect it.
func TestMarkBusy_ThrottlingAndServiceErrorsAreBusyRequestErrorsAreNot(t *testing.T) {
	exhausted := func(err error) error {
		return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "UpdateItem", Err: &retry.MaxAttemptsError{Attempt: 3, Err: err}}
	}
	for _, tc := range []struct {
		name string
		err  error
		busy bool
	}{
		{"throttled", exhausted(&types.ProvisionedThroughputExceededException{}), true},
		{"request limit", exhausted(&smithy.GenericAPIError{Code: "ThrottlingException"}), true},
		{"service error", exhausted(&types.InternalServerError{}), true},
		{"DynamoDB Local's lock timeout", exhausted(&smithy.GenericAPIError{Code: "InternalServerError", Message: "This action timed out because it too long waiting for a lock."}), true},
		{"bad request", &smithy.OperationError{Err: &smithy.GenericAPIError{Code: "ValidationException", Fault: smithy.FaultClient}}, false},
		{"condition failed", &types.ConditionalCheckFailedException{}, false},
		{"transaction cancelled", &types.TransactionCanceledException{}, false},
		{"connection refused", errors.New("dial tcp: connection refused"), false},
	} {
		invocation, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, _, err := stackAnswering(t, tc.err).Handle(invocation, &dynamodb.UpdateItemInput{})
		cancel()
		if apperror.IsBusy(err) != tc.busy {
			t.Errorf("%s: busy = %v, want %v (%v)", tc.name, !tc.busy, tc.busy, err)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: the SDK's error left the chain: %v", tc.name, err)
		}
		if tc.busy && apperror.As(fmt.Errorf("save: %w", err)).RetryAfter != BusyRetryAfter {
			t.Errorf("%s: no Retry-After", tc.name)
		}
	}
}

// A call that ran out of its own time while the invocation had more was too slow, not wrong:
// busy. One that ran out with the invocation is the invocation's end, and stays an error.
func TestMarkBusy_ACallsOwnDeadlineIsBusyTheInvocationsIsNot(t *testing.T) {
	hang := faults.Plan{Operation: "GetItem", Mode: faults.Delay, Delay: time.Hour}
	invocation, cancel := context.WithTimeout(context.Background(), OutcomeReserve+200*time.Millisecond)
	defer cancel()
	ctx, _ := faults.Inject(invocation, hang)
	if _, _, err := stackAnswering(t, nil).Handle(ctx, &dynamodb.GetItemInput{}); !apperror.IsBusy(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call past its own deadline: %v, want busy", err)
	}

	ended, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	<-ended.Done()
	ctx, _ = faults.Inject(ended, hang)
	if _, _, err := stackAnswering(t, nil).Handle(ctx, &dynamodb.GetItemInput{}); apperror.IsBusy(err) {
		t.Errorf("call of an ended invocation: %v, want not busy", err)
	}
}

// An injected throttle (X-Dev-Fault: "PutItem;throttle") is answered as a real one.
func TestMarkBusy_InjectedThrottleIsBusy(t *testing.T) {
	ctx, log := faults.Inject(context.Background(), faults.Plan{Operation: "PutItem", Mode: faults.Throttle})
	_, _, err := stackAnswering(t, nil).Handle(ctx, &dynamodb.PutItemInput{})
	if !apperror.IsBusy(err) || !errors.Is(err, faults.ErrInjected) || len(log.Injected()) != 1 {
		t.Fatalf("injected throttle: %v (%v)", err, log.Injected())
	}
}
