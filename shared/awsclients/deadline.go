package awsclients

import (
	"context"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/invite-forward/invite-forward/shared/outcome"
	"github.com/invite-forward/invite-forward/shared/roundtrips"
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

// A context without a deadline is not an invocation (a local tool), and table
// administration is not a function's (tests create tables, which takes DynamoDB Local
// seconds): their calls are left alone.
func boundCall(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	budget, ok := callBudget(ctx)
	if !ok || administration[roundtrips.Operation(in.Parameters)] {
		return next.HandleInitialize(ctx, in)
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	return next.HandleInitialize(ctx, in)
}

var administration = map[string]bool{
	"CreateTable": true, "DeleteTable": true, "DescribeTable": true, "UpdateTable": true,
	"UpdateTimeToLive": true, "DescribeTimeToLive": true, "ListTables": true,
}

// callBudget is CallTimeout, or less when the invocation ends sooner: the reserve is left for
// the calls that record the outcome (outcome.Context), which may use it.
func callBudget(ctx context.Context) (time.Duration, bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	reserve := OutcomeReserve
	if outcome.Recording(ctx) {
		reserve = 0
	}
	return min(CallTimeout, max(time.Until(deadline)-reserve, minCall)), true
}
