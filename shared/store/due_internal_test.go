package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

// The due index is spread over shards (no one index partition takes every invitation's
// writes), and the sweep still reads it whole, oldest deadline first, page by page.
func TestDueInvitations_SpreadOverShardsReadInDeadlineOrder(t *testing.T) {
	t.Parallel()
	s := New(testenv.DynamoDB(t), testenv.NewTable(t))
	now := time.Now().UTC().Truncate(time.Second)
	const n = 60
	var reqs []types.WriteRequest
	shards := map[string]bool{}
	for i := range n {
		// Deadlines in the past, in an order unrelated to the ids; one not yet due.
		deadline := now.Add(-time.Duration((i*37)%n+1) * time.Second)
		o := invitation.NewIncomingOffer("conv_due", "support", deadline.Add(-time.Hour), time.Hour)
		o.ID = fmt.Sprintf("inv_due_%03d", i)
		it := toOfferItem(o)
		shards[it.GSI3PK] = true
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: mustMarshal(t, it)}})
	}
	later := invitation.NewIncomingOffer("conv_due", "support", now, time.Hour)
	reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: mustMarshal(t, toOfferItem(later))}})
	for len(reqs) > 0 {
		k := min(25, len(reqs))
		if err := writeAll(t.Context(), s, reqs[:k]); err != nil {
			t.Fatal(err)
		}
		reqs = reqs[k:]
	}
	if len(shards) < dueShards/2 {
		t.Fatalf("%d invitations went to %d due-index partitions", n, len(shards))
	}
	for k := range shards {
		if !strings.HasPrefix(k, dueKey+"#") {
			t.Fatalf("due key %q", k)
		}
	}

	var got []invitation.Offer
	after := ""
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("the pages do not end")
		}
		due, next, err := s.DueInvitations(t.Context(), now, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, due...)
		if next == "" {
			break
		}
		after = next
	}
	if len(got) != n {
		t.Fatalf("read %d due invitations, want %d (the one not yet due left out)", len(got), n)
	}
	for i := 1; i < len(got); i++ {
		if got[i].ExpiresAt.Before(got[i-1].ExpiresAt) {
			t.Fatalf("out of deadline order at %d: %v after %v", i, got[i].ExpiresAt, got[i-1].ExpiresAt)
		}
	}
}
