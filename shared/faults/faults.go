// Package faults makes chosen AWS SDK calls fail, for tests and the local stack (SPEC §5,
// faults): a plan in a request's context names the calls — the Nth call the request makes,
// or every call of an operation — and how each fails: refused before it reaches the service,
// applied by the service with its answer lost on the way back, or delayed.
//
// The middleware sits in every client the functions build, but only a context carrying a
// plan changes anything, and only tests and the local gateway (which no function links) put
// one there: a deployed function has no way to switch faults on.
package faults

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/invite-forward/invite-forward/shared/roundtrips"
)

// Mode is how a chosen call fails.
type Mode int

const (
	// Refuse fails the call before it is sent: the service never sees it.
	Refuse Mode = iota
	// LoseAnswer sends the call and then fails it: the service applied it, the caller cannot
	// know — the hardest case for "all or nothing" and for a retry to converge.
	LoseAnswer
	// Delay holds the call for the plan's Delay, or until the caller's deadline.
	Delay
	// Throttle fails the call as DynamoDB does when a table or partition takes more than it
	// can (ThrottlingException) and the SDK's retries did not outlast it; the service never
	// applied it.
	Throttle
)

func (m Mode) String() string {
	switch m {
	case Refuse:
		return "refuse"
	case LoseAnswer:
		return "lose-answer"
	case Throttle:
		return "throttle"
	default:
		return "delay"
	}
}

// Plan chooses calls and their fault. Call counts every AWS call a request makes through the
// instrumented clients, from 1, in the order they start; Operation matches an operation name
// (e.g. "TransactWriteItems", "SendEmail"). A plan with both needs both to match.
type Plan struct {
	Call      int
	Operation string
	Mode      Mode
	Delay     time.Duration
}

// ErrInjected is the cause of every injected failure.
var ErrInjected = errors.New("injected fault")

// Log tells what a request's calls were and which failed.
type Log struct {
	mu       sync.Mutex
	plans    []Plan
	calls    []string
	injected []string
}

type logKey struct{}

// Inject returns a context whose AWS calls follow plans, and the log of those calls.
func Inject(ctx context.Context, plans ...Plan) (context.Context, *Log) {
	l := &Log{plans: plans}
	return context.WithValue(ctx, logKey{}, l), l
}

// Calls returns the operations called so far, in order.
func (l *Log) Calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

// Injected returns the calls that were made to fail, as "N:Operation".
func (l *Log) Injected() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.injected...)
}

// Middleware adds fault injection to an SDK client's stack. It runs at the initialize step,
// before the SDK's own retries: one injected fault is a call that failed for good.
func Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("Faults", inject), middleware.Before)
}

func inject(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	l, _ := ctx.Value(logKey{}).(*Log)
	if l == nil {
		return next.HandleInitialize(ctx, in)
	}
	op := roundtrips.Operation(in.Parameters)
	plan, ok := l.next(op)
	if !ok {
		return next.HandleInitialize(ctx, in)
	}
	failure := fmt.Errorf("%s (%s, %s): %w", op, plan.Mode, l.lastCall(), ErrInjected)
	switch plan.Mode {
	case Refuse:
		return middleware.InitializeOutput{}, middleware.Metadata{}, failure
	case LoseAnswer:
		_, md, _ := next.HandleInitialize(ctx, in)
		return middleware.InitializeOutput{}, md, failure
	case Throttle:
		return middleware.InitializeOutput{}, middleware.Metadata{}, throttled{failure}
	default:
		select {
		case <-time.After(plan.Delay):
		case <-ctx.Done():
			return middleware.InitializeOutput{}, middleware.Metadata{}, ctx.Err()
		}
		return next.HandleInitialize(ctx, in)
	}
}

// throttled is an injected failure that reads as DynamoDB's throttling answer.
type throttled struct{ error }

func (throttled) ErrorCode() string             { return "ThrottlingException" }
func (t throttled) ErrorMessage() string        { return t.Error() }
func (throttled) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }
func (t throttled) Unwrap() error               { return t.error }

// next records a call and returns the plan that chooses it, if any.
func (l *Log) next(op string) (Plan, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, op)
	n := len(l.calls)
	for _, p := range l.plans {
		if (p.Call == 0 || p.Call == n) && (p.Operation == "" || p.Operation == op) && (p.Call != 0 || p.Operation != "") {
			l.injected = append(l.injected, fmt.Sprintf("%d:%s", n, op))
			return p, true
		}
	}
	return Plan{}, false
}

func (l *Log) lastCall() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("call %d", len(l.calls))
}

// ParsePlan reads a plan as the local gateway takes it from a request's X-Dev-Fault header:
// what to fail — an operation name or a call number — then optionally how: "refuse" (the
// default), "lose-answer", "throttle" or "delay=<duration>". For example "SendEmail",
// "TransactWriteItems;lose-answer", "3;delay=12s".
func ParsePlan(s string) (Plan, error) {
	target, how, _ := strings.Cut(s, ";")
	target = strings.TrimSpace(target)
	var p Plan
	if n, err := strconv.Atoi(target); err == nil {
		if n < 1 {
			return Plan{}, fmt.Errorf("fault plan %q: call numbers start at 1", s)
		}
		p.Call = n
	} else if validOperation(target) {
		p.Operation = target
	} else {
		return Plan{}, fmt.Errorf("fault plan %q: want an operation name or a call number", s)
	}
	switch how = strings.TrimSpace(how); {
	case how == "" || how == "refuse":
		p.Mode = Refuse
	case how == "lose-answer":
		p.Mode = LoseAnswer
	case how == "throttle":
		p.Mode = Throttle
	case strings.HasPrefix(how, "delay="):
		d, err := time.ParseDuration(strings.TrimPrefix(how, "delay="))
		if err != nil || d <= 0 || d > maxDelay {
			return Plan{}, fmt.Errorf("fault plan %q: delay must be a duration up to %v", s, maxDelay)
		}
		p.Mode, p.Delay = Delay, d
	default:
		return Plan{}, fmt.Errorf("fault plan %q: unknown mode %q", s, how)
	}
	return p, nil
}

// maxDelay bounds a delay longer than any function's timeout needs.
const maxDelay = 5 * time.Minute

// validOperation: an SDK operation name, e.g. GetItem.
func validOperation(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
