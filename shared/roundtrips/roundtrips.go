// Package roundtrips counts the AWS SDK calls made on behalf of one request, so that tests
// can assert an action's budget and the bench can print it. A client counts once
// Middleware is among its APIOptions; a call counts only when its context carries a Counter
// (Start), so clients built for production pay one context lookup per call and nothing else.
package roundtrips

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
)

// Counter records the calls of one request. Safe for concurrent use: a request may issue
// calls in parallel.
type Counter struct {
	mu    sync.Mutex
	calls []call
}

type call struct {
	operation  string
	start, end time.Time
}

type counterKey struct{}

// Start returns a context whose SDK calls are recorded in the returned Counter.
func Start(ctx context.Context) (context.Context, *Counter) {
	c := &Counter{}
	return context.WithValue(ctx, counterKey{}, c), c
}

// Middleware is an APIOptions entry: dynamodb.Options{APIOptions: …} or aws.Config's.
func Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("RoundTrips", record), middleware.Before)
}

// record times the whole operation, retries included: a retried call is still one step the
// request waits for.
func record(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	c, _ := ctx.Value(counterKey{}).(*Counter)
	if c == nil {
		return next.HandleInitialize(ctx, in)
	}
	start := time.Now()
	out, md, err := next.HandleInitialize(ctx, in)
	c.add(call{operation: Operation(in.Parameters), start: start, end: time.Now()})
	return out, md, err
}

// Operation is "GetItem" for a *dynamodb.GetItemInput: the input type names the
// operation whatever the middleware's position in the stack.
func Operation(params any) string {
	name := fmt.Sprintf("%T", params)
	name = name[strings.LastIndex(name, ".")+1:]
	return strings.TrimSuffix(name, "Input")
}

func (c *Counter) add(k call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, k)
}

// Calls is how many calls were made.
func (c *Counter) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

// Sequential is how many of the calls happened one after another: the longest chain of calls
// each of which started after the previous one ended. Calls that overlap in time (issued in
// parallel) count once; this is the number of round trips the request waited for.
func (c *Counter) Sequential() int {
	c.mu.Lock()
	byEnd := slices.Clone(c.calls)
	c.mu.Unlock()
	slices.SortFunc(byEnd, func(a, b call) int { return a.end.Compare(b.end) })
	// Greedy by earliest end finds the most pairwise disjoint intervals, which is the longest
	// chain.
	n := 0
	var last time.Time
	for _, k := range byEnd {
		if n == 0 || k.start.After(last) {
			n++
			last = k.end
		}
	}
	return n
}

// Operations lists the calls' operation names in the order they ended, for messages.
func (c *Counter) Operations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.calls))
	for i, k := range c.calls {
		out[i] = k.operation
	}
	return out
}
