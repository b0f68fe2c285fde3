package store_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/store"
)

func newTicket(now time.Time) store.Ticket {
	return store.Ticket{Hash: ids.Hash(ids.Token()), Kind: "agent", AgentID: "agent-ada", ExpiresAt: now.Add(30 * time.Second)}
}

func TestConnectTicket_WorksOnce(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	tk := newTicket(time.Now())
	if err := st.PutTicket(t.Context(), tk); err != nil {
		t.Fatal(err)
	}
	got, err := st.RedeemTicket(t.Context(), tk.Hash)
	if err != nil {
		t.Fatalf("first redemption: %v", err)
	}
	if got.Kind != "agent" || got.AgentID != "agent-ada" {
		t.Fatalf("redeemed %+v, want the agent it was issued to", got)
	}
	if _, err := st.RedeemTicket(t.Context(), tk.Hash); !store.IsNotFound(err) {
		t.Fatalf("second redemption = %v, want ErrNotFound", err)
	}
	if _, err := st.RedeemTicket(t.Context(), ids.Hash(ids.Token())); !store.IsNotFound(err) {
		t.Fatalf("unknown ticket = %v, want ErrNotFound", err)
	}
}

func TestConnectTicket_ExpiredButPresentIsRefused(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	tk := newTicket(now)
	if err := st.PutTicket(t.Context(), tk); err != nil {
		t.Fatal(err)
	}
	// 31 seconds later TTL has certainly not deleted the item, but the ticket is dead.
	later := st.WithClock(func() time.Time { return now.Add(31 * time.Second) })
	if _, err := later.RedeemTicket(t.Context(), tk.Hash); !store.IsNotFound(err) {
		t.Fatalf("expired ticket = %v, want ErrNotFound", err)
	}
}

func TestConnectTicket_ConcurrentRedemptions_ExactlyOneWins(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	tk := newTicket(time.Now())
	if err := st.PutTicket(t.Context(), tk); err != nil {
		t.Fatal(err)
	}
	const racers = 50
	var wins, refusals atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range racers {
		wg.Go(func() {
			<-start
			_, err := st.RedeemTicket(t.Context(), tk.Hash)
			switch {
			case err == nil:
				wins.Add(1)
			case store.IsNotFound(err):
				refusals.Add(1)
			default:
				t.Errorf("redemption failed: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || refusals.Load() != racers-1 {
		t.Fatalf("%d wins and %d refusals, want exactly 1 and %d", wins.Load(), refusals.Load(), racers-1)
	}
}

func connectionIDs(conns []store.Connection) []string {
	var out []string
	for _, c := range conns {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

func TestConnections_FoundByPrincipal_ExpiredOnesIgnored(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	ada, bob := store.AgentPrincipal("ada"), store.AgentPrincipal("bob")
	vis := store.VisitorPrincipal("vis_1")
	for _, c := range []store.Connection{
		{ID: "a1", PrincipalKey: ada, Kind: "agent", AgentID: "ada", ConnectedAt: now},
		{ID: "a2", PrincipalKey: ada, Kind: "agent", AgentID: "ada", ConnectedAt: now.Add(time.Hour)},
		{ID: "v1", PrincipalKey: vis, Kind: "visitor", ConversationID: "conv_1", ParticipantID: "vis_1", ConnectedAt: now},
		{ID: "b1", PrincipalKey: bob, Kind: "agent", AgentID: "bob", ConnectedAt: now},
	} {
		if err := st.PutConnection(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.ConnectionsOf(t.Context(), []string{ada, vis})
	if err != nil {
		t.Fatal(err)
	}
	if ids := connectionIDs(got); !slices.Equal(ids, []string{"a1", "a2", "v1"}) {
		t.Fatalf("connections of ada and the visitor = %v", ids)
	}
	c, err := st.ConnectionByID(t.Context(), "v1")
	if err != nil || c.ParticipantID != "vis_1" || c.ConversationID != "conv_1" || !c.ExpiresAt.Equal(now.Add(store.ConnectionTTL).Truncate(time.Second)) {
		t.Fatalf("connection v1 = %+v, %v", c, err)
	}

	// API Gateway has closed a1 by now (2 h), even if TTL has not deleted its items yet.
	later := st.WithClock(func() time.Time { return now.Add(store.ConnectionTTL + time.Minute) })
	got, err = later.ConnectionsOf(t.Context(), []string{ada, vis})
	if err != nil {
		t.Fatal(err)
	}
	if ids := connectionIDs(got); !slices.Equal(ids, []string{"a2"}) {
		t.Fatalf("live connections 2 h later = %v, want only a2", ids)
	}
	online, err := later.Connected(t.Context(), []string{"ada", "bob", "cy"})
	if err != nil {
		t.Fatal(err)
	}
	if !online["ada"] || online["bob"] || online["cy"] {
		t.Fatalf("connected 2 h later = %v, want only ada", online)
	}
}

func TestRemoveConnection_DeletesBothItems(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	ada := store.AgentPrincipal("ada")
	if err := st.PutConnection(t.Context(), store.Connection{ID: "c1", PrincipalKey: ada, Kind: "agent", AgentID: "ada"}); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveConnection(t.Context(), "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ConnectionByID(t.Context(), "c1"); !store.IsNotFound(err) {
		t.Fatalf("connection item after remove: %v", err)
	}
	if got, err := st.ConnectionsOf(t.Context(), []string{ada}); err != nil || len(got) != 0 {
		t.Fatalf("index after remove = %v, %v", got, err)
	}
	// $disconnect and a GoneException may both clean up: the second finds nothing, calmly.
	if err := st.RemoveConnection(t.Context(), "c1"); err != nil {
		t.Fatalf("second remove: %v", err)
	}
}
