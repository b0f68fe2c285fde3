// Package ratelimit counts events in fixed time windows, so that anonymous and abusable
// actions are bounded: failed PIN and join-token redemptions per client IP and deployment-wide,
// anonymous conversation starts per IP, invitation emails per agent. Counters live in the
// table (see shared/store/ratelimit.go), so every Lambda instance shares them.
//
// A slot is taken before the action runs, with a conditional write that refuses once the
// window's limit is reached — or, where the action is one write (an invitation email), by
// that write itself (Window, store.RateSlot), so a refused action counts nothing. Concurrent
// requests can therefore never exceed the limit, which is what the PIN guessing bound in the
// README relies on. Actions that only count failures (PIN redemption) give the slot back
// when they succeed.
package ratelimit

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

// Rule is one limit: at most Limit events per Window for each subject (an IP, an agent, or
// "all" for the deployment).
type Rule struct {
	Name   string // part of the counter's key: "pin-fail-ip", "emails-agent", …
	Limit  int
	Window time.Duration
}

// Counters is the storage of fixed-window counters.
type Counters interface {
	// TakeRateSlot adds one to the counter under key unless it already reached limit, and
	// reports whether it did, with the count after the take. expiresAt is when the counter
	// may be deleted.
	TakeRateSlot(ctx context.Context, key string, limit int, expiresAt time.Time) (count int, ok bool, err error)
	// ReturnRateSlot takes one off the counter under key, never below zero.
	ReturnRateSlot(ctx context.Context, key string) error
}

// Limiter applies rules over shared counters.
type Limiter struct {
	Counters Counters
	Now      func() time.Time
	// Shard picks one of n shards of a deployment-wide rule; nil means at random.
	Shard func(n int) int
}

// Slot is the outcome of one Take: whether the event may happen, and if not, when to retry.
type Slot struct {
	OK         bool
	RetryAfter time.Duration
	// Count is the window's count with this event: 1 for a subject's first in the window.
	Count int
	key   string
}

// Window is where an event of a subject under a rule is counted now.
type Window struct {
	Counter string    // the counter's key: the rule, the subject and the window's start
	Limit   int       // the rule's limit
	Ends    time.Time // when the window ends and its counter may be deleted
	// RetryAfter is what a caller refused in this window waits (at least a second).
	RetryAfter time.Duration
}

// Full is the answer to a caller whose event this window cannot take: 429 rate_limited.
func (w Window) Full() error { return TooMany(w.RetryAfter) }

// Window names the window an event of subject under r falls in now, for a write that counts
// the event together with other changes (store.RateSlot) instead of in a Take of its own.
func (l *Limiter) Window(r Rule, subject string) Window {
	now := l.now()
	start := now.Truncate(r.Window)
	end := start.Add(r.Window)
	return Window{
		Counter: r.Name + "#" + subject + "#" + strconv.FormatInt(start.Unix(), 10),
		Limit:   r.Limit, Ends: end, RetryAfter: max(end.Sub(now), time.Second),
	}
}

// Take counts one event of subject under the rule, unless the window is full.
func (l *Limiter) Take(ctx context.Context, r Rule, subject string) (Slot, error) {
	w := l.Window(r, subject)
	count, ok, err := l.Counters.TakeRateSlot(ctx, w.Counter, w.Limit, w.Ends)
	if err != nil {
		return Slot{}, err
	}
	s := Slot{OK: ok, Count: count, key: w.Counter}
	if !ok {
		s.RetryAfter = w.RetryAfter
	}
	return s, nil
}

// BudgetShards spreads a deployment-wide rule over this many counters, each its own item with
// an equal share of the limit: under a burst no single DynamoDB item takes every write (one
// partition takes about 1,000 writes a second), and each take is still one conditional write.
const BudgetShards = 8

// TakeShare takes a slot of a deployment-wide rule from one of its shards, picked at random.
// The shards together allow BudgetShards × ⌊Limit/BudgetShards⌋, never more than Limit.
func (l *Limiter) TakeShare(ctx context.Context, r Rule) (Slot, error) {
	share := r
	share.Limit = r.Limit / BudgetShards
	pick := rand.IntN
	if l.Shard != nil {
		pick = l.Shard
	}
	return l.Take(ctx, share, Everyone+"-"+strconv.Itoa(pick(BudgetShards)))
}

// Refund gives a taken slot back: the event it counted turned out not to count (a PIN that
// was right). Refunding a refused slot does nothing.
func (l *Limiter) Refund(ctx context.Context, s Slot) error {
	if !s.OK || s.key == "" {
		return nil
	}
	return l.Counters.ReturnRateSlot(ctx, s.key)
}

// Counter names the counter a granted slot was taken from, for a write that gives it back
// with other changes (store.Redemption); "" for a refused slot, which took nothing.
func (s Slot) Counter() string {
	if !s.OK {
		return ""
	}
	return s.key
}

// Err is nil for a slot that was granted and 429 rate_limited otherwise.
func (s Slot) Err() error {
	if s.OK {
		return nil
	}
	return TooMany(s.RetryAfter)
}

// TooMany is the answer to a caller over a limit.
func TooMany(retryAfter time.Duration) error {
	return apperror.RateLimited("rate_limited", "too many attempts; try again later", retryAfter)
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// ClientKey is the subject for per-client rules: an IPv4 address as is, an IPv6 address as
// its /64 network, because one IPv6 host usually holds a whole /64 and could otherwise use a
// fresh address for every attempt. Anything unparsable counts as one shared "unknown" client.
func ClientKey(sourceIP string) string {
	addr, err := netip.ParseAddr(sourceIP)
	if err != nil {
		return "unknown"
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	prefix, _ := addr.Prefix(64)
	return prefix.String()
}

// Everyone is the subject of deployment-wide rules.
const Everyone = "all"
