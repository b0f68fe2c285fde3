package awsclients

import (
	"context"
	"errors"
	"time"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

// BusyRetryAfter is the pause a busy answer asks for: DynamoDB's throttling and partition
// splits clear within seconds, and the SDK has already retried with backoff.
const BusyRetryAfter = time.Second

// busyCodes are DynamoDB's answers that say "too much at once", not "this request is wrong".
var busyCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"TransactionInProgressException":         true,
	"InternalServerError":                    true, // also DynamoDB Local's lock timeout
	"ServiceUnavailable":                     true,
}

// markBusy turns a DynamoDB call that failed for being too much at once into a designed
// refusal (SPEC §5, faults): throttled, a service error, or out of its own time while the
// invocation still has time, after the SDK's retries. The request did nothing it cannot
// undo, so the caller gets a 503 with Retry-After (apperror.Busy), not an opaque 500. The
// SDK's error stays the cause, so callers that inspect it (a transaction's cancellation
// reasons) still find it.
func markBusy(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("Busy", classify), middleware.Before)
}

func classify(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleInitialize(ctx, in)
	if err != nil && busy(ctx, err) {
		err = apperror.Busy("service_busy", "we are busier than we can answer just now; retry after Retry-After seconds", BusyRetryAfter).WithCause(err)
	}
	return out, md, err
}

// busy: the service said so, or the call's own deadline (boundCall) passed while the
// invocation's did not.
func busy(invocation context.Context, err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return invocation.Err() == nil
	}
	var api smithy.APIError
	return errors.As(err, &api) && (busyCodes[api.ErrorCode()] || api.ErrorFault() == smithy.FaultServer)
}
