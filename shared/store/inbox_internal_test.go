package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/roundtrips"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

// TestInboxPage_CostsTheSameWith2000OffersAsWith10 (SPEC §4, §5 abuse, §9.4): anonymous
// starts can fill a team's inbox, but a page of it is one Query per inbox and nothing else —
// the offers hold what the inbox shows — whether the inbox holds 10 offers or 2,010 (a cost
// that grew with the inbox would be 100 times more; 20,000 took DynamoDB Local minutes to
// write and showed nothing more).
func TestInboxPage_CostsTheSameWith2000OffersAsWith10(t *testing.T) {
	t.Parallel()
	s := New(testenv.DynamoDB(t), testenv.NewTable(t))
	now := time.Now()
	inboxes := map[string]string{TeamInbox("support"): "", AgentInbox("grace"): ""}
	page := func() (int, []string) {
		ctx, counter := roundtrips.Start(t.Context())
		offers, err := s.InboxPage(ctx, inboxes, 20)
		if err != nil {
			t.Fatal(err)
		}
		return len(offers), counter.Operations()
	}
	putOffers(t, s, "conv_flooded", 0, 10, now)
	n10, ops10 := page()
	putOffers(t, s, "conv_flooded", 10, 2_000, now)
	nFlooded, opsFlooded := page()
	if n10 != 10 || nFlooded != 20 {
		t.Fatalf("pages of %d and %d offers, want 10 and 20", n10, nFlooded)
	}
	if want := []string{"Query", "Query"}; !slices.Equal(ops10, want) || !slices.Equal(opsFlooded, want) {
		t.Fatalf("a page costs %v with 10 offers and %v with 2,010; want one Query per inbox", ops10, opsFlooded)
	}
}

// putOffers writes n pending visitor-start offers to the support team, as starts would.
func putOffers(t *testing.T, s *Store, convID string, from, n int, at time.Time) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	batches := make(chan []types.WriteRequest)
	for range 8 {
		wg.Go(func() {
			for b := range batches {
				if err := writeAll(t.Context(), s, b); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	var batch []types.WriteRequest
	for i := from; i < from+n; i++ {
		o := invitation.NewIncomingOffer(convID, "support", at.Add(-time.Duration(i)*time.Millisecond), time.Hour)
		o.ID = fmt.Sprintf("inv_flood_%06d", i)
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: mustMarshal(t, toOfferItem(o))}})
		if len(batch) == 25 {
			batches <- batch
			batch = nil
		}
	}
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

func writeAll(ctx context.Context, s *Store, reqs []types.WriteRequest) error {
	for len(reqs) > 0 {
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: reqs}})
		if err != nil {
			return err
		}
		reqs = out.UnprocessedItems[s.table]
	}
	return nil
}

func mustMarshal(t *testing.T, v any) map[string]types.AttributeValue {
	t.Helper()
	m, err := attributevalue.MarshalMap(v)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
