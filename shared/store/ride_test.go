package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/idempotency"
	"github.com/invite-forward/invite-forward/shared/roundtrips"
)

// TestRide_TheKeysRecordComesWithTheAccessChecksBatch: under a ride, the access check's
// consistent BatchGetItem reads the key's record along (and does not hand it to the access
// check), and Lookup takes it from there: two reads, one call. Without a batch to ride on,
// Lookup reads the record itself.
func TestRide_TheKeysRecordComesWithTheAccessChecksBatch(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	n := newConversation(now)
	created(t, st, n)
	keys := st.Idempotency()
	stored := idempotency.Response{Status: 201, Body: json.RawMessage(`{"ok":true}`)}
	if err := keys.Finish(t.Context(), nil, idempotency.Completion{Scope: "ride-done", RequestHash: "h", Response: stored, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		scope string
		found bool
	}{{"ride-done", true}, {"ride-free", false}} {
		counted, counter := roundtrips.Start(context.Background())
		riding := idempotency.WithRide(counted, c.scope)
		standing, err := st.Standing(riding, n.Conversation.ID, n.Participant.ID, "")
		if err != nil || !standing.ConversationFound || !standing.ParticipantFound {
			t.Fatalf("%s: standing under a ride: %+v, %v", c.scope, standing, err)
		}
		rec, found, err := keys.Lookup(riding, c.scope)
		if err != nil || found != c.found || (found && (!rec.Completed || rec.Response.Status != 201 || rec.RequestHash != "h")) {
			t.Fatalf("%s: Lookup after the ride = %+v, %v, %v; want found=%v", c.scope, rec, found, err, c.found)
		}
		if ops := counter.Operations(); !slices.Equal(ops, []string{"BatchGetItem"}) {
			t.Errorf("%s: calls %v; want the one BatchGetItem", c.scope, ops)
		}
	}

	// No batch took the ride (an eventually consistent one may not): Lookup reads it itself.
	counted, counter := roundtrips.Start(context.Background())
	riding := idempotency.WithRide(counted, "ride-done")
	if _, err := st.Connected(riding, []string{"ada"}); err != nil {
		t.Fatal(err)
	}
	if rec, found, err := keys.Lookup(riding, "ride-done"); err != nil || !found || rec.Response.Status != 201 {
		t.Fatalf("Lookup without a batch to ride = %+v, %v, %v", rec, found, err)
	}
	if ops := counter.Operations(); !slices.Equal(ops, []string{"BatchGetItem", "GetItem"}) {
		t.Errorf("calls %v; want presence's BatchGetItem, then the key's own GetItem", ops)
	}
}
