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
