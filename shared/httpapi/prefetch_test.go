package httpapi

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/idempotency"
	"github.com/invite-forward/invite-forward/shared/requestscope"
)

// claimWaitingForPrefetch is an idempotency store whose claim succeeds only while the
// request's prefetch runs, and a prefetch (below) that finishes only while the claim is being
// made: run one after the other, in either order, the two could never meet.
type claimWaitingForPrefetch struct {
	claiming, fetching chan struct{}
}

func (c claimWaitingForPrefetch) Begin(context.Context, *idempotency.Claim, string, time.Duration, time.Duration) (idempotency.Record, bool, error) {
	close(c.claiming)
	if !within(c.fetching) {
		return idempotency.Record{}, false, errors.New("the prefetch never ran beside the claim")
	}
	return idempotency.Record{}, true, nil
}

// within waits for ch to close, long enough for any scheduler but not for ever.
func within(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

func (claimWaitingForPrefetch) Complete(context.Context, *idempotency.Claim, idempotency.Response, time.Duration) error {
	return nil
}

func (claimWaitingForPrefetch) Abandon(context.Context, *idempotency.Claim) error { return nil }

// Lookup is a speculation's first read (CommitsOnce): it waits for the prefetch as Begin does.
func (c claimWaitingForPrefetch) Lookup(context.Context, string) (idempotency.Record, bool, error) {
	close(c.claiming)
	if !within(c.fetching) {
		return idempotency.Record{}, false, errors.New("the prefetch never ran beside the key's read")
	}
	return idempotency.Record{}, false, nil
}

func (claimWaitingForPrefetch) Finish(context.Context, idempotency.Commit, idempotency.Completion) error {
	return nil
}

// TestPrefetch_RunsBesideTheClaimAndHandsItsReadToTheAction: a keyed request's prefetch
// overlaps its idempotency claim, and what it keeps in the request's scope reaches the action.
func TestPrefetch_RunsBesideTheClaimAndHandsItsReadToTheAction(t *testing.T) {
	for name, mode := range map[string][]Option{"claimed": nil, "commits once": {CommitsOnce()}} {
		t.Run(name, func(t *testing.T) { testPrefetchBesideTheKey(t, mode...) })
	}
}

func testPrefetchBesideTheKey(t *testing.T, mode ...Option) {
	store := claimWaitingForPrefetch{claiming: make(chan struct{}), fetching: make(chan struct{})}
	prefetch := Prefetch(func(ctx context.Context, r *Request) {
		close(store.fetching)
		if within(store.claiming) {
			requestscope.Remember(ctx, "read", r.Path("id"))
		}
	})
	var seen any
	h := Handle("test", quietLog(), func(ctx context.Context, r *Request) (Response, error) {
		seen, _ = requestscope.Take(ctx, "read")
		return OK(nil), nil
	}, append(mode, AllowAnonymous(), Idempotent(store), prefetch)...)
	resp, body := call(t, h, events.APIGatewayV2HTTPRequest{
		Headers:        map[string]string{"idempotency-key": "0f8fad5b-d9cb-469f-a165-70867728950e"},
		PathParameters: map[string]string{"id": "conv_1"},
	})
	if resp.StatusCode != 200 || seen != "conv_1" {
		t.Fatalf("answer %d %s; the action saw %v, want the prefetched conv_1", resp.StatusCode, body.Error.Code, seen)
	}
}
