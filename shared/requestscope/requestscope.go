// Package requestscope carries what one request has read to the writes that follow it in the
// same request, so that a write need not read again what was read a moment before.
//
// It holds hints, never decisions: whoever takes a value must still guard its write with a
// condition on what it took (a version, a revision) and read afresh when that fails.
package requestscope

import (
	"context"
	"sync"
)

type scope struct {
	mu     sync.Mutex
	values map[string]any
}

type scopeKey struct{}

// New returns ctx with an empty scope; everything remembered under it lives as long as ctx.
func New(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{}, &scope{values: map[string]any{}})
}

// Remember keeps v under key for this request; without a scope (New was not called) it
// keeps nothing.
func Remember(ctx context.Context, key string, v any) {
	s, ok := ctx.Value(scopeKey{}).(*scope)
	if !ok {
		return
	}
	s.mu.Lock()
	s.values[key] = v
	s.mu.Unlock()
}

// Take returns what was remembered under key and forgets it: once used for a write it is no
// longer current.
func Take(ctx context.Context, key string) (any, bool) {
	s, ok := ctx.Value(scopeKey{}).(*scope)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, found := s.values[key]
	delete(s.values, key)
	return v, found
}

// readResult is a read done ahead: what it found, or why not.
type readResult[T any] struct {
	v   T
	err error
}

// ReadAhead runs read now (beside another call, in a prefetch) and keeps what it returns
// under key for the request's first ReadOnce of the same key.
func ReadAhead[T any](ctx context.Context, key string, read func(context.Context) (T, error)) {
	v, err := read(ctx)
	Keep(ctx, key, v, err)
}

// Keep keeps what a read returned under key for the request's next ReadOnce of the same key:
// a read taken for one decision that the next step of the same attempt needs as well.
func Keep[T any](ctx context.Context, key string, v T, err error) {
	Remember(ctx, key, readResult[T]{v, err})
}

// ReadAndKeep is ReadOnce that keeps what it answers again, for the next step of the same
// attempt that asks the same key: for an entry (a directory profile) that a few milliseconds
// of age cannot make wrong for anything a write depends on.
func ReadAndKeep[T any](ctx context.Context, key string, read func(context.Context) (T, error)) (T, error) {
	v, err := ReadOnce(ctx, key, read)
	Keep(ctx, key, v, err)
	return v, err
}

// ReadOnce answers with what ReadAhead kept under key, once; otherwise (and every later time:
// a retry within the request must see what its last attempt left) it reads now.
func ReadOnce[T any](ctx context.Context, key string, read func(context.Context) (T, error)) (T, error) {
	if v, ok := Take(ctx, key); ok {
		if r, ok := v.(readResult[T]); ok {
			return r.v, r.err
		}
	}
	return read(ctx)
}
