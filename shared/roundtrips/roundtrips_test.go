package roundtrips_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/invite-forward/invite-forward/shared/roundtrips"
)

// client is a stack with the middleware whose calls, once under way, call entered and end
// when their release channel closes.
func client(t *testing.T, entered func()) func(ctx context.Context, params any, release <-chan struct{}) {
	return func(ctx context.Context, params any, release <-chan struct{}) {
		// A stack per call, as the SDK builds one per operation: stacks are not safe for
		// concurrent use.
		stack := middleware.NewStack("test", func() any { return nil })
		if err := roundtrips.Middleware(stack); err != nil {
			t.Error(err)
			return
		}
		h := middleware.DecorateHandler(middleware.HandlerFunc(func(context.Context, any) (any, middleware.Metadata, error) {
			entered()
			<-release
			return nil, middleware.Metadata{}, nil
		}), stack)
		if _, _, err := h.Handle(ctx, params); err != nil {
			t.Error(err)
		}
	}
}

func done() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func TestCounter_CallsOneAfterAnotherAreSequential(t *testing.T) {
	call := client(t, func() {})
	ctx, c := roundtrips.Start(context.Background())
	call(ctx, &dynamodb.GetItemInput{}, done())
	call(ctx, &dynamodb.TransactWriteItemsInput{}, done())
	if c.Calls() != 2 || c.Sequential() != 2 {
		t.Errorf("calls/sequential = %d/%d, want 2/2", c.Calls(), c.Sequential())
	}
	if got := c.Operations(); !slices.Equal(got, []string{"GetItem", "TransactWriteItems"}) {
		t.Errorf("operations = %v", got)
	}
}

// Three calls: two in parallel, then one after both: three calls, two sequential steps.
func TestCounter_ParallelCallsCountOnce(t *testing.T) {
	// Each call is under way (timed by the middleware) before either may end: they overlap
	// for certain.
	var started, finished sync.WaitGroup
	started.Add(2)
	call := client(t, started.Done)
	ctx, c := roundtrips.Start(context.Background())
	release := make(chan struct{})
	for range 2 {
		finished.Add(1)
		go func() {
			defer finished.Done()
			call(ctx, &dynamodb.GetItemInput{}, release)
		}()
	}
	started.Wait()
	close(release)
	finished.Wait()
	started.Add(1)
	call(ctx, &dynamodb.QueryInput{}, done())
	if c.Calls() != 3 || c.Sequential() != 2 {
		t.Errorf("calls/sequential = %d/%d, want 3/2", c.Calls(), c.Sequential())
	}
}

func TestCounter_WithoutCounterNothingIsRecorded(t *testing.T) {
	call := client(t, func() {})
	call(context.Background(), &dynamodb.GetItemInput{}, done())
}
