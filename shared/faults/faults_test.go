package faults_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/invite-forward/invite-forward/shared/faults"
)

// call runs params through a stack with the fault middleware and reports whether the
// service (the handler at the end) saw it, and the error the caller got.
func call(ctx context.Context, t *testing.T, params any) (reached bool, err error) {
	t.Helper()
	stack := middleware.NewStack("test", func() any { return nil })
	if err := faults.Middleware(stack); err != nil {
		t.Fatal(err)
	}
	h := middleware.DecorateHandler(middleware.HandlerFunc(func(context.Context, any) (any, middleware.Metadata, error) {
		reached = true
		return nil, middleware.Metadata{}, nil
	}), stack)
	_, _, err = h.Handle(ctx, params)
	return reached, err
}

func TestPlan_FailsTheChosenCallAsItSays(t *testing.T) {
	ctx, log := faults.Inject(context.Background(),
		faults.Plan{Call: 2, Mode: faults.Refuse}, faults.Plan{Operation: "PutItem", Mode: faults.LoseAnswer})
	steps := []struct {
		params          any
		reached, failed bool
	}{
		{&dynamodb.GetItemInput{}, true, false}, // call 1: not chosen
		{&dynamodb.GetItemInput{}, false, true}, // call 2: refused, never sent
		{&dynamodb.PutItemInput{}, true, true},  // an operation chosen by name: sent, answer lost
		{&dynamodb.QueryInput{}, true, false},   // not chosen
	}
	for i, s := range steps {
		reached, err := call(ctx, t, s.params)
		if reached != s.reached || (err != nil) != s.failed || (err != nil && !errors.Is(err, faults.ErrInjected)) {
			t.Fatalf("call %d: reached %v, err %v; want reached %v, failed %v", i+1, reached, err, s.reached, s.failed)
		}
	}
	if got := log.Injected(); len(got) != 2 || got[0] != "2:GetItem" || got[1] != "3:PutItem" {
		t.Fatalf("injected %v", got)
	}
}

func TestPlan_WithoutAPlanNothingChanges(t *testing.T) {
	if reached, err := call(context.Background(), t, &dynamodb.GetItemInput{}); !reached || err != nil {
		t.Fatalf("reached %v, err %v", reached, err)
	}
}

func TestPlan_DelayEndsWithTheCallersDeadline(t *testing.T) {
	ctx, _ := faults.Inject(context.Background(), faults.Plan{Operation: "GetItem", Mode: faults.Delay, Delay: time.Hour})
	ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if reached, err := call(ctx, t, &dynamodb.GetItemInput{}); reached || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reached %v, err %v", reached, err)
	}
}

func TestParsePlan(t *testing.T) {
	good := map[string]faults.Plan{
		"SendEmail":                      {Operation: "SendEmail"},
		"TransactWriteItems;lose-answer": {Operation: "TransactWriteItems", Mode: faults.LoseAnswer},
		"3;delay=12s":                    {Call: 3, Mode: faults.Delay, Delay: 12 * time.Second},
		"PutItem;throttle":               {Operation: "PutItem", Mode: faults.Throttle},
		" 1 ; refuse ":                   {Call: 1},
	}
	for in, want := range good {
		if got, err := faults.ParsePlan(in); err != nil || got != want {
			t.Errorf("ParsePlan(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "getItem", "Get-Item", "GetItem;explode", "GetItem;delay=", "GetItem;delay=-1s", "GetItem;delay=1h"} {
		if _, err := faults.ParsePlan(in); err == nil {
			t.Errorf("ParsePlan(%q) accepted", in)
		}
	}
}

func FuzzParsePlan(f *testing.F) {
	for _, s := range []string{"SendEmail", "3;delay=12s", "GetItem;lose-answer", "", ";", "9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := faults.ParsePlan(s)
		if err != nil {
			return
		}
		if (p.Call == 0) == (p.Operation == "") {
			t.Fatalf("%q: plan %+v chooses no call or two ways", s, p)
		}
		if p.Mode == faults.Delay && (p.Delay <= 0 || p.Delay > 5*time.Minute) {
			t.Fatalf("%q: delay %v", s, p.Delay)
		}
	})
}
