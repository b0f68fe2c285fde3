package awsclients

import (
	"context"
	"time"

	"github.com/aws/smithy-go/middleware"
)

// CallTimeout bounds one DynamoDB call, the SDK's retries included. A healthy call takes
// milliseconds; one that hangs (a paused table, a lost connection) must not eat the whole
// invocation.
const CallTimeout = 3 * time.Second

// OutcomeReserve is the time a call leaves of its invocation: enough to record what happened
// (release or complete the idempotency key, mark an email failed) and answer before Lambda
// stops the function.
const OutcomeReserve = time.Second

// minCall is the least a call gets even when the invocation is nearly out of time.
const minCall = 100 * time.Millisecond

// boundCalls gives each call its own deadline inside the invocation's (SPEC §5, faults).
func boundCalls(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CallDeadline", boundCall), middleware.Before)
}

func boundCall(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	ctx, cancel := context.WithTimeout(ctx, callBudget(ctx))
	defer cancel()
	return next.HandleInitialize(ctx, in)
}

// callBudget is CallTimeout, or less when the invocation ends sooner.
func callBudget(ctx context.Context) time.Duration {
	budget := CallTimeout
	if deadline, ok := ctx.Deadline(); ok {
		budget = min(budget, max(time.Until(deadline)-OutcomeReserve, minCall))
	}
	return budget
}
