package awsclients

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/invite-forward/invite-forward/shared/faults"
)

// A hanging DynamoDB call ends with its own deadline while the invocation still has the
// reserve left to record the outcome.
func TestBoundCall_AHangingCallLeavesTheInvocationTimeToAnswer(t *testing.T) {
	stack := middleware.NewStack("test", func() any { return nil })
	if err := faults.Middleware(stack); err != nil {
		t.Fatal(err)
	}
	if err := boundCalls(stack); err != nil {
		t.Fatal(err)
	}
	h := middleware.DecorateHandler(middleware.HandlerFunc(func(context.Context, any) (any, middleware.Metadata, error) {
		return nil, middleware.Metadata{}, nil
	}), stack)
	invocation, cancel := context.WithTimeout(context.Background(), OutcomeReserve+200*time.Millisecond)
	defer cancel()
	ctx, _ := faults.Inject(invocation, faults.Plan{Operation: "GetItem", Mode: faults.Delay, Delay: time.Hour})
	_, _, err := h.Handle(ctx, &dynamodb.GetItemInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hanging call: %v, want its deadline", err)
	}
	if invocation.Err() != nil {
		t.Fatal("the call took the invocation's reserve")
	}
}

func TestCallBudget(t *testing.T) {
	if _, ok := callBudget(context.Background()); ok {
		t.Errorf("a context without a deadline got a call budget")
	}
	long, cancel0 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel0()
	if got, _ := callBudget(long); got != CallTimeout {
		t.Errorf("long invocation: %v, want %v", got, CallTimeout)
	}
	soon, cancel := context.WithTimeout(context.Background(), OutcomeReserve+500*time.Millisecond)
	defer cancel()
	if got, _ := callBudget(soon); got > 500*time.Millisecond || got < minCall {
		t.Errorf("invocation ending soon: %v", got)
	}
	late, cancel2 := context.WithTimeout(context.Background(), OutcomeReserve/2)
	defer cancel2()
	if got, _ := callBudget(late); got != minCall {
		t.Errorf("invocation nearly out of time: %v, want %v", got, minCall)
	}
}
