package awsclients

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/invite-forward/invite-forward/shared/faults"
	"github.com/invite-forward/invite-forward/shared/outcome"
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

// The calls that record an outcome are not cancelled with the request, but they end with the
// invocation (they had no deadline at all once the request's cancellation was dropped), and
// they may use the reserve the other calls leave them.
func TestCallBudget_RecordingAnOutcomeUsesTheReserveAndEndsWithTheInvocation(t *testing.T) {
	invocation, cancel := context.WithTimeout(context.Background(), OutcomeReserve/2)
	defer cancel()
	request, hangUp := context.WithCancel(invocation)
	record, done := outcome.Context(request)
	defer done()
	hangUp()
	if record.Err() != nil {
		t.Fatal("the record was cancelled with the request")
	}
	got, ok := callBudget(record)
	if !ok || got <= minCall || got > OutcomeReserve/2-outcome.AnswerTime {
		t.Errorf("recording with %v of the invocation left: %v, %v; want the rest of the invocation", OutcomeReserve/2, got, ok)
	}
	ends, _ := invocation.Deadline()
	if until, ok := record.Deadline(); !ok || !until.Equal(ends.Add(-outcome.AnswerTime)) {
		t.Fatalf("the record ends at %v (%v), want %v before the invocation's end %v", until, ok, outcome.AnswerTime, ends)
	}
}
