package idempotency_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go/middleware"

	"github.com/invite-forward/invite-forward/shared/idempotency"
)

// guarded is a client's initialize chain with the speculation guard, in front of a service
// that counts what reached it.
func guarded(t *testing.T, reached *int) middleware.Handler {
	t.Helper()
	stack := middleware.NewStack("test", func() any { return nil })
	if err := idempotency.Middleware(stack); err != nil {
		t.Fatal(err)
	}
	return middleware.DecorateHandler(middleware.HandlerFunc(func(context.Context, any) (any, middleware.Metadata, error) {
		*reached++
		return nil, middleware.Metadata{}, nil
	}), stack)
}

// A speculation lets reads through until its commit is held, and nothing else: a write, an
// email or a read after the commit spoils it, never reaching the service.
func TestSpeculation_OnlyReadsBeforeTheHeldCommitReachAWS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  func(*idempotency.Speculation) // what happened earlier in the action
		call    any
		allowed bool
	}{
		{"a read", nil, &dynamodb.GetItemInput{}, true},
		{"a batch read", nil, &dynamodb.BatchGetItemInput{}, true},
		{"a query", nil, &dynamodb.QueryInput{}, true},
		{"a write before the commit", nil, &dynamodb.UpdateItemInput{}, false},
		{"a transaction sent, not held", nil, &dynamodb.TransactWriteItemsInput{}, false},
		{"an email", nil, &sesv2.SendEmailInput{}, false},
		{"a read after the commit", hold, &dynamodb.GetItemInput{}, false},
	} {
		sp := &idempotency.Speculation{}
		if tc.before != nil {
			tc.before(sp)
		}
		reached := 0
		_, _, err := guarded(t, &reached).Handle(idempotency.WithSpeculation(context.Background(), sp), tc.call)
		if got := reached == 1 && err == nil; got != tc.allowed {
			t.Errorf("%s: reached AWS %v (%v), want %v", tc.name, got, err, tc.allowed)
		}
		if !tc.allowed && (!errors.Is(err, idempotency.ErrSpoiled) || !sp.Spoiled()) {
			t.Errorf("%s: %v, spoiled %v; want ErrSpoiled and a spoiled speculation", tc.name, err, sp.Spoiled())
		}
		if _, ok := sp.Held(); ok && !tc.allowed {
			t.Errorf("%s: a spoiled speculation still offers its held commit", tc.name)
		}
	}
	// Outside a speculation the guard lets everything through.
	reached := 0
	if _, _, err := guarded(t, &reached).Handle(context.Background(), &dynamodb.PutItemInput{}); err != nil || reached != 1 {
		t.Errorf("without a speculation: %v, reached %d", err, reached)
	}
}

func hold(sp *idempotency.Speculation) {
	_ = sp.Hold(func(context.Context, idempotency.Completion) error { return nil })
}

// A second commit spoils the speculation: an action of two transactions cannot be one write.
func TestSpeculation_ASecondCommitSpoilsIt(t *testing.T) {
	sp := &idempotency.Speculation{}
	if err := sp.Hold(func(context.Context, idempotency.Completion) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, ok := sp.Held(); !ok {
		t.Fatal("one commit is not held")
	}
	if err := sp.Hold(func(context.Context, idempotency.Completion) error { return nil }); !errors.Is(err, idempotency.ErrSpoiled) {
		t.Fatalf("second commit: %v, want ErrSpoiled", err)
	}
	if _, ok := sp.Held(); ok || !sp.Spoiled() {
		t.Fatal("two commits still held")
	}
}
