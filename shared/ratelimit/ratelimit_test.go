package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/ratelimit"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// limiter counts in a fresh table at a fixed time, 20 seconds into a minute.
func limiter(t *testing.T) (*ratelimit.Limiter, *time.Time) {
	t.Helper()
	now := time.Date(2026, 3, 1, 12, 0, 20, 0, time.UTC)
	st := store.New(testenv.DynamoDB(t), testenv.NewTable(t))
	return &ratelimit.Limiter{Counters: st, Now: func() time.Time { return now }}, &now
}

func TestLimiter_RefusesOverTheLimitUntilTheWindowEnds(t *testing.T) {
	t.Parallel()
	l, now := limiter(t)
	rule := ratelimit.Rule{Name: "test", Limit: 3, Window: time.Minute}
	check := func(ctx context.Context, rule ratelimit.Rule, subject string) error {
		slot, err := l.Take(ctx, rule, subject)
		if err != nil {
			return err
		}
		return slot.Err()
	}
	for i := range 3 {
		if err := check(t.Context(), rule, "198.51.100.7"); err != nil {
			t.Fatalf("event %d: %v", i+1, err)
		}
	}
	err := check(t.Context(), rule, "198.51.100.7")
	e := apperror.As(err)
	if e.Kind != apperror.KindRateLimited || e.Code != "rate_limited" || e.RetryAfter != 40*time.Second {
		t.Fatalf("fourth event: %v (retry after %s), want 429 rate_limited after 40s", err, e.RetryAfter)
	}
	if err := check(t.Context(), rule, "198.51.100.8"); err != nil {
		t.Fatalf("another client is limited too: %v", err)
	}
	*now = now.Add(40 * time.Second) // the next window
	if err := check(t.Context(), rule, "198.51.100.7"); err != nil {
		t.Fatalf("next window: %v", err)
	}
}

func TestLimiter_ConcurrentTakesNeverExceedTheLimit(t *testing.T) {
	t.Parallel()
	l, _ := limiter(t)
	rule := ratelimit.Rule{Name: "test", Limit: 7, Window: time.Minute}
	var granted atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			s, err := testenv.AsClient(func() (ratelimit.Slot, error) { return l.Take(t.Context(), rule, ratelimit.Everyone) })
			if err != nil {
				t.Error(err)
				return
			}
			if s.OK {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if granted.Load() != 7 {
		t.Fatalf("%d of 40 concurrent takes granted, want exactly 7", granted.Load())
	}
}

func TestLimiter_RefundGivesTheSlotBack(t *testing.T) {
	t.Parallel()
	l, _ := limiter(t)
	rule := ratelimit.Rule{Name: "test", Limit: 1, Window: time.Minute}
	s, err := l.Take(t.Context(), rule, "a")
	if err != nil || !s.OK {
		t.Fatalf("first take: %+v, %v", s, err)
	}
	if err := l.Refund(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if again, _ := l.Take(t.Context(), rule, "a"); !again.OK {
		t.Fatal("the refunded slot was not given back")
	}
	refused, _ := l.Take(t.Context(), rule, "a")
	if refused.OK {
		t.Fatal("over the limit")
	}
	// Refunding a refused slot must not open a slot.
	if err := l.Refund(t.Context(), refused); err != nil {
		t.Fatal(err)
	}
	if still, _ := l.Take(t.Context(), rule, "a"); still.OK {
		t.Fatal("refunding a refused slot opened one")
	}
}

func TestClientKey_IPv6CountsPer64(t *testing.T) {
	cases := map[string]string{
		"198.51.100.7":         "198.51.100.7",
		"::ffff:198.51.100.7":  "198.51.100.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ff::1":   "2001:db8:1:2::/64",
		"not an address":       "unknown",
		"":                     "unknown",
	}
	for in, want := range cases {
		if got := ratelimit.ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultLimits_AreValidAndLetACustomerRetryFiveTimes(t *testing.T) {
	l := ratelimit.DefaultLimits()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	if l.PINFailuresPerIP.Limit < 5 {
		t.Fatalf("a customer gets %d tries, want at least 5", l.PINFailuresPerIP.Limit)
	}
	bad := l
	bad.EmailsPerAgent.Limit = 0
	if bad.Validate() == nil {
		t.Fatal("a zero limit was accepted")
	}
}
