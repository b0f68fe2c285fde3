package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

// The due index holds invitations that expire, invitees waiting in a lobby and ended
// conversations, spread over shards (no one index partition takes every write of any of
// them), and the sweep still reads it whole, oldest deadline first, page by page, each entry
// once and under its kind.
func TestDue_EveryKindSpreadOverShardsReadInDeadlineOrder(t *testing.T) {
	t.Parallel()
	s := New(testenv.DynamoDB(t), testenv.NewTable(t))
	now := time.Now().UTC().Truncate(time.Second)
	const n = 30 // of each kind
	// Deadlines in the past, in an order unrelated to the ids and interleaving the kinds.
	deadline := func(kind, i int) time.Time {
		return now.Add(-time.Duration((i*37+kind*11)%(3*n)+1) * time.Second)
	}
	var items []any
	deadlineOfEnded := map[string]time.Time{}
	for i := range n {
		o := invitation.NewIncomingOffer("conv_due", "support", deadline(0, i).Add(-time.Hour), time.Hour)
		o.ID = fmt.Sprintf("inv_due_%03d", i)
		items = append(items, toOfferItem(o))

		p := conversation.Participant{ConversationID: "conv_lobby", ID: fmt.Sprintf("vis_due_%03d", i),
			Kind: conversation.KindVisitor, State: conversation.StateWaiting, Admit: "agent",
			JoinedAt: now.Add(-time.Hour), WaitingUntil: deadline(1, i)}
		items = append(items, toParticipantItem(p))

		id := fmt.Sprintf("conv_ended_%03d", i)
		deadlineOfEnded[id] = deadline(2, i)
		items = append(items, headItem{PK: convPK(id), SK: headSK, Type: "head", Status: string(conversation.StatusEnded),
			GSI3PK: dueShard(id), GSI3SK: sortKeyTime(deadline(2, i)) + "#" + id})
	}
	// Not due yet: an invitation, a wait and an end a minute from now.
	later := invitation.NewIncomingOffer("conv_due", "support", now.Add(time.Minute), time.Hour)
	items = append(items, toOfferItem(later), toParticipantItem(conversation.Participant{ConversationID: "conv_lobby",
		ID: "vis_later", Kind: conversation.KindVisitor, State: conversation.StateWaiting, Admit: "agent", WaitingUntil: now.Add(time.Minute)}),
		headItem{PK: convPK("conv_later"), SK: headSK, GSI3PK: dueShard("conv_later"), GSI3SK: sortKeyTime(now.Add(time.Minute)) + "#conv_later"})

	// A hand-made entry of no kind, due before everything: counted and passed over.
	items = append(items, map[string]any{"pk": "MISC#x", "sk": "MISC", "gsi3pk": dueKeyOf(0), "gsi3sk": sortKeyTime(now.Add(-time.Hour)) + "#x"})

	shards := map[string]map[string]bool{}
	var reqs []types.WriteRequest
	for _, it := range items {
		m := mustMarshal(t, it)
		kind, shard := m["sk"].(*types.AttributeValueMemberS).Value, m["gsi3pk"].(*types.AttributeValueMemberS).Value
		kind, _, _ = strings.Cut(kind, "#")
		if shards[kind] == nil {
			shards[kind] = map[string]bool{}
		}
		shards[kind][shard] = true
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: m}})
	}
	for len(reqs) > 0 {
		k := min(25, len(reqs))
		if err := writeAll(t.Context(), s, reqs[:k]); err != nil {
			t.Fatal(err)
		}
		reqs = reqs[k:]
	}
	delete(shards, "MISC")
	for kind, in := range shards {
		if len(in) < dueShards/2 {
			t.Errorf("%d entries of kind %s went to %d due-index partitions", n, kind, len(in))
		}
		for k := range in {
			if !strings.HasPrefix(k, dueKey+"#") {
				t.Errorf("due key %q", k)
			}
		}
	}

	var got Due
	lastOfPrevious := time.Time{}
	after := ""
	for pages := 0; ; pages++ {
		if pages > 3*n {
			t.Fatal("the pages do not end")
		}
		due, next, err := s.Due(t.Context(), now, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		got.Invitations = append(got.Invitations, due.Invitations...)
		got.Waiting = append(got.Waiting, due.Waiting...)
		got.Ended = append(got.Ended, due.Ended...)
		got.Unknown += due.Unknown
		// Oldest first: each kind in order within the page, and the whole page after the last.
		for _, kind := range pageDeadlines(due, deadlineOfEnded) {
			for i, d := range kind {
				if d.Before(lastOfPrevious) || (i > 0 && d.Before(kind[i-1])) {
					t.Fatalf("page %d out of deadline order: %v", pages, kind)
				}
			}
		}
		for _, kind := range pageDeadlines(due, deadlineOfEnded) {
			for _, d := range kind {
				if d.After(lastOfPrevious) {
					lastOfPrevious = d
				}
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(got.Invitations) != n || len(got.Waiting) != n || len(got.Ended) != n || got.Unknown != 1 {
		t.Fatalf("read %d invitations, %d waiting, %d ended, %d unknown; want %d each (those not yet due left out) and 1",
			len(got.Invitations), len(got.Waiting), len(got.Ended), got.Unknown, n)
	}
	seen := map[string]bool{}
	for _, id := range got.Ended {
		if seen[id] || deadlineOfEnded[id].IsZero() {
			t.Errorf("ended %q listed twice or unknown", id)
		}
		seen[id] = true
	}
	for _, p := range got.Waiting {
		if p.ConversationID != "conv_lobby" || seen[p.ID] {
			t.Errorf("waiting %+v listed twice or wrong", p)
		}
		seen[p.ID] = true
	}
	for _, o := range got.Invitations {
		if seen[o.ID] {
			t.Errorf("invitation %s listed twice", o.ID)
		}
		seen[o.ID] = true
	}
}

// pageDeadlines are the deadlines of a page's entries, kind by kind, each in the page's order.
func pageDeadlines(d Due, deadlineOfEnded map[string]time.Time) [][]time.Time {
	kinds := make([][]time.Time, 3)
	for _, o := range d.Invitations {
		kinds[0] = append(kinds[0], o.ExpiresAt)
	}
	for _, p := range d.Waiting {
		kinds[1] = append(kinds[1], p.WaitingUntil)
	}
	for _, id := range d.Ended {
		kinds[2] = append(kinds[2], deadlineOfEnded[id])
	}
	return kinds
}
