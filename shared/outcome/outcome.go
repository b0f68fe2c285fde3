// Package outcome gives the calls that record what a request did — complete or release its
// idempotency key, give a rate-limit slot back, mark an email sent or failed — a context of
// their own. A client hanging up must not stop that record, so it is not cancelled with the
// request; but it ends with the invocation, so that the function still answers before Lambda
// stops it, and its calls may use the time the invocation keeps for this
// (awsclients.OutcomeReserve). Without it, such a call had no deadline at all, and under load
// a request could run past its function's timeout while recording that it had given up.
package outcome

import (
	"context"
	"time"
)

type recordingKey struct{}

// AnswerTime is what a record leaves of the invocation: the time to send the answer.
const AnswerTime = 100 * time.Millisecond

// Context returns ctx for recording an outcome: its values, without its cancellation, and
// ending AnswerTime before ctx's deadline (the invocation's). Call cancel when the record is
// written.
func Context(ctx context.Context) (out context.Context, cancel context.CancelFunc) {
	out = context.WithValue(context.WithoutCancel(ctx), recordingKey{}, true)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(out, deadline.Add(-AnswerTime))
	}
	return out, func() {}
}

// Recording reports whether ctx records an outcome.
func Recording(ctx context.Context) bool {
	on, _ := ctx.Value(recordingKey{}).(bool)
	return on
}
