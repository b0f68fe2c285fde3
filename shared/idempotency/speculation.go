package idempotency

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/invite-forward/invite-forward/shared/roundtrips"
)

// A keyed action whose whole effect is one transaction can record its answer in that same
// transaction: the key's record is written, completed, beside the action's items, on the
// condition that the key is free. That takes the claim and the answer off the request's path
// (SPEC §5, #13): a keyed post is the access read (beside a read of the key), then its
// transaction — two round trips, where claim, transaction and answer made three.
//
// The answer is known only once the action has run, and the action commits in the middle of
// running. So the action runs first as a speculation: it reads as usual, and its commit is
// held (Speculation.Hold) instead of sent — the action goes on as if it had committed and
// builds its answer. Then the held transaction is sent with the completed record. A
// speculation writes nothing, so when it cannot finish this way — its transaction lost a race,
// its answer was lost, or the action wanted to do more than one commit — the request runs
// again the long way (Begin, the action, Complete), as if the speculation had never been.

// Speculation is one speculative run of an action.
type Speculation struct {
	mu      sync.Mutex
	held    Commit
	spoiled bool
}

// Commit sends a held transaction together with the key's completed record.
type Commit func(ctx context.Context, record Completion) error

// Completion is the record a held transaction writes under its key.
type Completion struct {
	Scope       string
	RequestHash string
	Response    Response
	TTL         time.Duration
}

// ErrSpoiled is what a speculation answers an action that does more than read and then commit
// once: its effect cannot be made one write, and the request runs the long way.
var ErrSpoiled = errors.New("idempotency: the action does more than one commit; it runs with a claim")

// ErrKeyTaken is returned by Store.Finish when the key was no longer free: another request
// with it finished first.
var ErrKeyTaken = errors.New("idempotency: another request with this key finished first")

// Hold keeps the action's transaction instead of sending it. A second commit spoils the
// speculation.
func (s *Speculation) Hold(c Commit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held != nil || s.spoiled {
		s.spoiled = true
		return ErrSpoiled
	}
	s.held = c
	return nil
}

// Held returns the held transaction, if the action committed once and did nothing else.
func (s *Speculation) Held() (Commit, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held, s.held != nil && !s.spoiled
}

// Spoiled reports whether the action tried anything a speculation cannot hold.
func (s *Speculation) Spoiled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spoiled
}

// allow decides a call of an AWS API during the speculation: reads before the held commit
// only. Anything else would be an effect outside the one transaction (or a read of what the
// held commit has not written yet).
func (s *Speculation) allow(operation string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil && !s.spoiled && readOnly[operation] {
		return true
	}
	s.spoiled = true
	return false
}

var readOnly = map[string]bool{"GetItem": true, "BatchGetItem": true, "Query": true, "TransactGetItems": true}

type speculationKey struct{}

// WithSpeculation returns a context whose commits are held by s.
func WithSpeculation(ctx context.Context, s *Speculation) context.Context {
	return context.WithValue(ctx, speculationKey{}, s)
}

// SpeculationFrom returns the speculation a context runs, or nil.
func SpeculationFrom(ctx context.Context) *Speculation {
	s, _ := ctx.Value(speculationKey{}).(*Speculation)
	return s
}

// Middleware refuses, during a speculation, every AWS call but the reads before its commit.
// It is on every client the functions build (DynamoDB, SES, @connections), so no effect can
// escape a speculation, whatever the action calls.
func Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("IdempotencySpeculation", guard), middleware.Before)
}

func guard(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	if s := SpeculationFrom(ctx); s != nil && !s.allow(roundtrips.Operation(in.Parameters)) {
		return middleware.InitializeOutput{}, middleware.Metadata{}, ErrSpoiled
	}
	return next.HandleInitialize(ctx, in)
}
