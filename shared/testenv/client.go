package testenv

import (
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

// busyRetries is how many times AsClient sends a busy call again.
const busyRetries = 4

// AsClient runs a call the way the client of the request that makes it would: a busy refusal
// (apperror.Busy — DynamoDB Local's lock timeouts when dozens of writers wait on one item, as
// DynamoDB throttles a hot partition) is tried again after its Retry-After, a few times. The
// last answer is returned, a busy one only if every retry was refused.
func AsClient[T any](call func() (T, error)) (T, error) {
	out, err := call()
	for range busyRetries {
		if !apperror.IsBusy(err) {
			break
		}
		time.Sleep(apperror.As(err).RetryAfter)
		out, err = call()
	}
	return out, err
}
