package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/setup"
)

// TestInvoke_AnswersAtTheFunctionsTimeoutLikeLambda: a handler still running at its timeout
// gets Lambda's "Task timed out" answer then — not its own late result — and the context it
// was given is cancelled at that deadline.
func TestInvoke_AnswersAtTheFunctionsTimeoutLikeLambda(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	sawDeadline := make(chan error, 1)
	slow := &function{
		logicalID: "SlowFunction",
		timeout:   200 * time.Millisecond,
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		constructor: func(*setup.Deps) any {
			return func(ctx context.Context) (string, error) {
				<-ctx.Done()
				sawDeadline <- ctx.Err()
				<-release // goes on past its deadline, as a handler that ignores it would
				return "late", nil
			}
		},
	}
	var out string
	err := slow.invoke(context.Background(), map[string]any{}, &out)
	if !errors.Is(err, errTimedOut) || out != "" {
		t.Fatalf("invoke = %q, %v; want the timeout and no result", out, err)
	}
	if ctxErr := <-sawDeadline; !errors.Is(ctxErr, context.DeadlineExceeded) {
		t.Errorf("the handler's context ended with %v, want its deadline", ctxErr)
	}
	if !strings.Contains(err.Error(), "SlowFunction") {
		t.Errorf("error %q does not name the function", err)
	}
}

// TestInvoke_AHandlerWithinItsTimeoutAnswers is the other side: a quick handler's result is
// returned as it is.
func TestInvoke_AHandlerWithinItsTimeoutAnswers(t *testing.T) {
	quick := &function{
		logicalID: "QuickFunction", timeout: time.Minute, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		constructor: func(*setup.Deps) any {
			return func(context.Context) (string, error) { return "on time", nil }
		},
	}
	var out string
	if err := quick.invoke(context.Background(), map[string]any{}, &out); err != nil || out != "on time" {
		t.Fatalf("invoke = %q, %v", out, err)
	}
}
