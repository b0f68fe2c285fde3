package idempotency

import (
	"context"
	"sync/atomic"
)

// Ride lets a key's Lookup ride along with the request's first consistent batch read (an access
// check's): the key's record is one more key of that read instead of a read of its own, so a
// keyed request opens one connection fewer on a cold start and makes one call fewer (#13).
//
// The batch that takes the ride reads the record and delivers it; Lookup, once the request's
// prefetch is over, waits for that delivery, or reads the record itself when no batch took the
// ride. Exactly one of them takes it.
type Ride struct {
	Scope  string
	taken  atomic.Bool
	done   chan struct{}
	result any
	err    error
}

type rideKey struct{}

// WithRide offers the record of scope's key to the batch reads made under the returned context.
func WithRide(ctx context.Context, scope string) context.Context {
	return context.WithValue(ctx, rideKey{}, &Ride{Scope: scope, done: make(chan struct{})})
}

// RideFrom is the ride ctx carries, or nil.
func RideFrom(ctx context.Context) *Ride {
	r, _ := ctx.Value(rideKey{}).(*Ride)
	return r
}

// Take claims the ride: true for the first caller only, who must then Deliver (a batch) or
// read the record itself (Lookup).
func (r *Ride) Take() bool { return r.taken.CompareAndSwap(false, true) }

// Deliver hands what the batch found for the key (nil when nothing) to the waiting Lookup.
func (r *Ride) Deliver(result any, err error) {
	r.result, r.err = result, err
	close(r.done)
}

// Wait is what the batch that took the ride delivered.
func (r *Ride) Wait(ctx context.Context) (any, error) {
	select {
	case <-r.done:
		return r.result, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
