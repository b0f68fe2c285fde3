// Package apperror is the one error type the product shows its callers: a stable code for
// clients, a message a person can read, a kind that decides the HTTP status, and a cause
// that only ever reaches the logs.
package apperror

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error the way a caller needs to react to it. The HTTP adapter maps each
// kind to exactly one status; nothing else in the code knows about status numbers.
type Kind int

const (
	KindInternal        Kind = iota // our fault: 500, details only in logs
	KindInvalid                     // bad input: 400
	KindUnauthenticated             // no or bad credentials: 401
	KindForbidden                   // known caller, not allowed: 403
	KindNotFound                    // 404
	KindConflict                    // state does not allow it: 409
	KindGone                        // expired or used: 410
	KindTooLarge                    // body too large: 413
	KindUnprocessable               // well-formed but not acceptable: 422
	KindRateLimited                 // 429 with Retry-After
	KindUnavailable                 // a dependency refused: 502
	KindBusy                        // too much at once, here or in a dependency: 503 with Retry-After
)

// Error is a product error. Code is part of the API contract: clients switch on it.
type Error struct {
	Kind       Kind
	Code       string
	Message    string
	RetryAfter time.Duration // for KindRateLimited and KindBusy, and a conflict that will pass
	Cause      error         // for logs only, never serialised to a caller
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// WithCause returns a copy of e that remembers why it happened.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// New builds an error of the given kind.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Invalid is a 400 with the given code.
func Invalid(code, message string) *Error { return New(KindInvalid, code, message) }

// Forbidden is a 403 with the given code.
func Forbidden(code, message string) *Error { return New(KindForbidden, code, message) }

// NotFound is a 404 with the given code.
func NotFound(code, message string) *Error { return New(KindNotFound, code, message) }

// Conflict is a 409 with the given code.
func Conflict(code, message string) *Error { return New(KindConflict, code, message) }

// Gone is a 410 with the given code.
func Gone(code, message string) *Error { return New(KindGone, code, message) }

// Unauthenticated is a 401 with the given code.
func Unauthenticated(code, message string) *Error { return New(KindUnauthenticated, code, message) }

// RateLimited is a 429 that tells the caller when to try again.
func RateLimited(code, message string, retryAfter time.Duration) *Error {
	e := New(KindRateLimited, code, message)
	e.RetryAfter = retryAfter
	return e
}

// Busy is a 503 with Retry-After: the request did nothing because too much was happening at
// once (DynamoDB throttled or timed out, many writers on one conversation), and the same
// request will most likely succeed after the pause.
func Busy(code, message string, retryAfter time.Duration) *Error {
	e := New(KindBusy, code, message)
	e.RetryAfter = retryAfter
	return e
}

// Internal wraps an unexpected failure; the caller sees only a generic message. A cause that
// is a Busy refusal is not unexpected: it is answered as itself, so a throttled call deep in
// a store method stays a 503 whichever caller wrapped it.
func Internal(cause error) *Error {
	var e *Error
	if errors.As(cause, &e) && e.Kind == KindBusy {
		return e
	}
	return &Error{Kind: KindInternal, Code: "internal", Message: "something went wrong on our side", Cause: cause}
}

// As finds a product error in err's chain; anything else is treated as internal.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// Is reports whether err carries the given code.
func Is(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Retryable reports whether the failure was ours or a dependency's, so the same request may
// succeed later (an idempotency record must then not pin the failure).
func (k Kind) Retryable() bool {
	return k == KindInternal || k == KindUnavailable || k == KindBusy
}

// IsBusy reports whether err is, or was caused by, a Busy refusal.
func IsBusy(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == KindBusy
}
