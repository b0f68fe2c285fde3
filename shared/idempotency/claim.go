package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
)

// Claim is one attempt's hold on a key. The attempt runs with the claim in its context, and
// every transaction the action commits carries it: the store adds to the transaction a
// condition that the key is still this attempt's and a mark that it has committed. So the
// action's effect and the key's use are one write, and
//   - an attempt whose claim was taken over (it stalled past InProgressTimeout and a retry
//     claimed the key) cannot commit any more: no action runs twice;
//   - when a commit's answer is lost, the store learns from the mark whether it applied;
//   - a failure after the commit does not release the key for a second run.
type Claim struct {
	Scope string

	mu        sync.Mutex
	attempt   string
	committed bool
	answered  bool
}

// NewClaim starts an attempt on the key of scope.
func NewClaim(scope string) *Claim { return &Claim{Scope: scope, attempt: NewToken()} }

// Attempt identifies the attempt that holds the key.
func (c *Claim) Attempt() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempt
}

// Fence replaces the attempt's token with a new one the store wrote: a transaction still in
// flight under the old token can then never commit.
func (c *Claim) Fence(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempt = token
}

// MarkCommitted records that a transaction of the attempt committed.
func (c *Claim) MarkCommitted() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.committed = true
}

// MarkAnswered records that a transaction of the attempt committed with the request's answer
// (Answering): the key holds it, and nothing is left to record.
func (c *Claim) MarkAnswered() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.committed, c.answered = true, true
}

// Answered reports whether a commit of the attempt recorded its answer.
func (c *Claim) Answered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answered
}

// Committed reports whether the attempt changed anything: its key must not be released.
func (c *Claim) Committed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.committed
}

// ErrClaimLost is returned by a commit whose claim is no longer the key's: another attempt
// holds it.
var ErrClaimLost = errors.New("idempotency: another attempt holds the key")

type claimKey struct{}

// WithClaim returns a context whose transactions carry the claim.
func WithClaim(ctx context.Context, c *Claim) context.Context {
	return context.WithValue(ctx, claimKey{}, c)
}

// ClaimFrom returns the claim a context carries, or nil.
func ClaimFrom(ctx context.Context) *Claim {
	c, _ := ctx.Value(claimKey{}).(*Claim)
	return c
}

// NewToken returns a random token for attempts and transactions.
func NewToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
