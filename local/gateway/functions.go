package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// function is one template function, built once from its handler constructor like a Lambda
// at init, and invoked through aws-lambda-go's own JSON handler — the path the runtime takes —
// so a handler receives exactly what it would decode in AWS.
type function struct {
	logicalID string
	arn       string
	timeout   time.Duration
	log       *slog.Logger

	constructor Constructor
	deps        *setup.Deps
	declared    bool // in the template; others only serve conventional WebSocket routes

	once    sync.Once
	initErr error
	// sandboxes holds idle handlers. aws-lambda-go's handler reuses one buffer for every
	// answer, which is right in Lambda — a sandbox runs one invocation at a time — so the
	// gateway, which runs a function's invocations at once, gives each its own handler, as
	// Lambda gives each its own sandbox.
	sandboxes sync.Pool
}

// errNoHandler: the template declares a function whose handler constructor does not exist yet.
var errNoHandler = errors.New("no handler constructor in gateway.ByLogicalID")

// functions holds every function the gateway can invoke, by logical id.
type functions struct {
	byID map[string]*function
}

func newFunctions(t *samtemplate.Template, ctors map[string]Constructor, deps *setup.Deps, log *slog.Logger) *functions {
	fs := &functions{byID: map[string]*function{}}
	for _, fn := range t.Functions() {
		fs.byID[fn.LogicalID] = &function{
			logicalID:   fn.LogicalID,
			arn:         "arn:aws:lambda:" + localRegion + ":" + localAccount + ":function:" + fn.LogicalID,
			timeout:     functionTimeout(t, fn.LogicalID),
			log:         log,
			constructor: ctors[fn.LogicalID],
			deps:        deps,
			declared:    true,
		}
	}
	// Functions the template does not (yet) declare may still serve conventional WebSocket
	// routes; they get Lambda's default timeout.
	for id, ctor := range ctors {
		if _, ok := fs.byID[id]; !ok {
			fs.byID[id] = &function{
				logicalID: id, arn: "arn:aws:lambda:" + localRegion + ":" + localAccount + ":function:" + id,
				timeout: lambdaDefaultTimeout, log: log, constructor: ctor, deps: deps,
			}
		}
	}
	return fs
}

// has reports whether logicalID can be invoked (declared or conventional, with a handler).
func (fs *functions) has(logicalID string) bool {
	f, ok := fs.byID[logicalID]
	return ok && f.constructor != nil
}

// initAll builds the handler of every declared function now, as each Lambda would at its
// cold start, so that a misconfiguration shows when the gateway starts rather than on the
// first request.
func (fs *functions) initAll() {
	for _, f := range fs.byID {
		if !f.declared {
			continue
		}
		if err := f.init(); err != nil && !errors.Is(err, errNoHandler) {
			f.log.Error("function failed to initialise; its routes answer 500", "function", f.logicalID, "error", err.Error())
		}
	}
}

func (f *function) init() error {
	f.once.Do(func() {
		if f.constructor == nil {
			f.initErr = errNoHandler
			return
		}
		defer func() {
			// A constructor panics on missing configuration, which in Lambda fails the init.
			if p := recover(); p != nil {
				f.initErr = fmt.Errorf("init panicked: %v", p)
			}
		}()
		first := lambda.NewHandler(f.constructor(f.deps))
		f.sandboxes.New = func() any { return lambda.NewHandler(f.constructor(f.deps)) }
		f.sandboxes.Put(first)
	})
	return f.initErr
}

// invoke sends event to the function as JSON and decodes its JSON result into out.
// A handler error or panic is returned as an error, as the runtime would report it.
func (f *function) invoke(ctx context.Context, event, out any) (err error) {
	if err := f.init(); err != nil {
		return fmt.Errorf("%s: %w", f.logicalID, err)
	}
	payload, err := json.Marshal(event)
	if err != nil {
		return fmt.Errorf("%s: encode event: %w", f.logicalID, err)
	}
	// Lambda's context is not the caller's: a client hanging up does not cancel the
	// invocation, but the function's timeout does.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       newRequestID(),
		InvokedFunctionArn: f.arn,
	})
	result, err := f.runWithin(ctx, payload)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], result...)
		return nil
	}
	if err := json.Unmarshal(result, out); err != nil {
		return fmt.Errorf("%s: decode result: %w", f.logicalID, err)
	}
	return nil
}

// errTimedOut is Lambda's "Task timed out": the function did not answer within its timeout.
var errTimedOut = errors.New("task timed out")

// runWithin runs the handler and gives up at the function's deadline, as Lambda does: the
// caller gets the timeout then, not whenever the handler finishes. In AWS the sandbox is
// frozen there and the handler's remaining work never happens; in this process it runs on, so
// the log says so, and local runs show what AWS would answer rather than a late success.
func (f *function) runWithin(ctx context.Context, payload []byte) ([]byte, error) {
	type outcome struct {
		result []byte
		err    error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				f.log.Error("function panicked", "function", f.logicalID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- outcome{err: fmt.Errorf("%s: panic: %v", f.logicalID, p)}
			}
		}()
		h := f.sandboxes.Get().(lambda.Handler)
		result, err := h.Invoke(ctx, payload)
		result = bytes.Clone(result) // the handler's buffer is reused by its next invocation
		f.sandboxes.Put(h)
		if err != nil {
			err = &invokeError{function: f.logicalID, err: err}
		}
		done <- outcome{result, err}
	}()
	select {
	case o := <-done:
		return o.result, o.err
	case <-ctx.Done():
		f.log.Error("function timed out; in AWS Lambda would stop it here, locally it runs on unobserved",
			"function", f.logicalID, "timeout", f.timeout.String())
		return nil, &invokeError{function: f.logicalID, err: errTimedOut}
	}
}

// invokeError is an error the handler returned to the runtime.
type invokeError struct {
	function string
	err      error
}

func (e *invokeError) Error() string { return e.function + " returned an error: " + e.err.Error() }
func (e *invokeError) Unwrap() error { return e.err }
