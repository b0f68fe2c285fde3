// Package idempotency defines what "a retry with the same Idempotency-Key returns the first
// response and does nothing twice" needs from storage. The HTTP adapter runs the flow; the
// store implements Store with conditional writes.
package idempotency

import (
	"context"
	"encoding/json"
	"time"
)

// TTL is how long a key is remembered.
const TTL = 24 * time.Hour

// InProgressTimeout is how long an in-progress record blocks retries; after it, a crashed
// attempt no longer blocks the key. It exceeds the functions' timeout.
const InProgressTimeout = 30 * time.Second

// Response is a completed request's answer as remembered.
type Response struct {
	Status  int               `json:"status"`
	Body    json.RawMessage   `json:"body,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// Record is what the store found under a key that was already taken.
type Record struct {
	RequestHash string
	Completed   bool
	Response    Response
}

// Store is what the idempotency flow needs of storage.
type Store interface {
	// Begin claims the key. If the key is already held (completed, or in progress and not
	// timed out), it returns the existing record and claimed=false.
	// The key is not free again while an attempt that committed holds it.
	Begin(ctx context.Context, c *Claim, requestHash string, ttl, inProgress time.Duration) (existing Record, claimed bool, err error)
	Complete(ctx context.Context, c *Claim, resp Response, ttl time.Duration) error
	// Abandon releases the key for a retry, unless the attempt committed something.
	Abandon(ctx context.Context, c *Claim) error

	// Lookup reads the key's record, if it has a live one, with one consistent read.
	Lookup(ctx context.Context, scope string) (rec Record, found bool, err error)
	// Finish writes the key's completed record on the condition that the key is free: with a
	// speculation's held transaction, as one write (speculation.go), or alone when the action
	// changed nothing (its final answer is remembered). It returns ErrKeyTaken if the key was
	// not free, and nothing was written.
	Finish(ctx context.Context, held Commit, rec Completion) error
}
