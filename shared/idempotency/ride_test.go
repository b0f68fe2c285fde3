package idempotency

import (
	"context"
	"errors"
	"testing"
)

// TestRide_OneTakerAndItsDelivery: only the first Take wins; Wait returns what was delivered,
// or the context's error when nothing comes.
func TestRide_OneTakerAndItsDelivery(t *testing.T) {
	ctx := WithRide(context.Background(), "scope")
	r := RideFrom(ctx)
	if r == nil || r.Scope != "scope" || RideFrom(context.Background()) != nil {
		t.Fatalf("RideFrom = %+v", r)
	}
	if !r.Take() || r.Take() {
		t.Fatal("the ride was taken twice, or not at all")
	}
	waiting, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Wait(waiting); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait before any delivery, cancelled = %v", err)
	}
	failed := errors.New("batch failed")
	r.Deliver("record", failed)
	if got, err := r.Wait(context.Background()); got != "record" || !errors.Is(err, failed) {
		t.Fatalf("Wait = %v, %v", got, err)
	}
}
