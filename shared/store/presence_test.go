package store_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/roundtrips"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

// morning is a fixed time well inside a UTC day, so a connection's two hours stay in one day.
var morning = time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)

func at(st *store.Store, t time.Time) *store.Store {
	return st.WithClock(func() time.Time { return t })
}

func agentConn(id, agentID string, connectedAt time.Time) store.Connection {
	return store.Connection{ID: id, PrincipalKey: store.AgentPrincipal(agentID), Kind: "agent", AgentID: agentID, ConnectedAt: connectedAt}
}

func connect(t *testing.T, st *store.Store, conns ...store.Connection) {
	t.Helper()
	for _, c := range conns {
		if err := st.PutConnection(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
}

// online is the set of agents Connected says are online, sorted.
func online(t *testing.T, st *store.Store, agentIDs ...string) []string {
	t.Helper()
	got, err := st.Connected(t.Context(), agentIDs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(slices.Compact(slices.Sorted(slices.Values(agentIDs)))) {
		t.Fatalf("Connected(%v) answered for %v", agentIDs, got)
	}
	var out []string
	for id, on := range got {
		if on {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func TestPresence_AnAgentIsConnectedWhileAnyOfTheirConnectionsIs(t *testing.T) {
	t.Parallel()
	st := at(newStore(t), morning)
	connect(t, st, agentConn("ada-1", "ada", morning), agentConn("ada-2", "ada", morning), agentConn("bob-1", "bob", morning),
		store.Connection{ID: "vis-1", PrincipalKey: store.VisitorPrincipal("vis_1"), Kind: "visitor", ParticipantID: "vis_1", ConnectedAt: morning})
	if got := online(t, st, "ada", "bob", "cy", "ada"); !slices.Equal(got, []string{"ada", "bob"}) {
		t.Fatalf("online = %v, want ada and bob", got)
	}
	// $disconnect of one of ada's two sockets; the push path forgetting bob's gone one.
	if err := st.RemoveConnection(t.Context(), "ada-1"); err != nil {
		t.Fatal(err)
	}
	bob, err := st.ConnectionByID(t.Context(), "bob-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteConnection(t.Context(), bob); err != nil {
		t.Fatal(err)
	}
	if got := online(t, st, "ada", "bob"); !slices.Equal(got, []string{"ada"}) {
		t.Fatalf("after ada-1 and bob-1 went: online = %v, want ada (ada-2)", got)
	}
	if err := st.RemoveConnection(t.Context(), "ada-2"); err != nil {
		t.Fatal(err)
	}
	if got := online(t, st, "ada", "bob"); len(got) != 0 {
		t.Fatalf("after every socket went: online = %v, want nobody", got)
	}
	// A second clean-up of the same connection ($disconnect racing a GoneException) is calm.
	if err := st.DeleteConnection(t.Context(), bob); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if got := online(t, st); len(got) != 0 {
		t.Fatalf("nobody asked: %v", got)
	}
}

// A socket that dies without $disconnect leaves its entry behind; it stops counting when API
// Gateway would have closed it (ConnectionTTL), as the connection item does.
func TestPresence_ADeadSocketCountsOfflinePastItsExpiry(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	connect(t, at(st, morning), agentConn("ada-dead", "ada", morning), agentConn("bob-dead", "bob", morning))
	connect(t, at(st, morning.Add(time.Hour)), agentConn("bob-live", "bob", morning.Add(time.Hour)))
	if got := online(t, at(st, morning.Add(store.ConnectionTTL-time.Second)), "ada", "bob"); !slices.Equal(got, []string{"ada", "bob"}) {
		t.Fatalf("a second before the first sockets expire: online = %v, want both", got)
	}
	if got := online(t, at(st, morning.Add(store.ConnectionTTL)), "ada", "bob"); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("when they expire: online = %v, want bob (his later socket)", got)
	}
	if got := online(t, at(st, morning.Add(time.Hour+store.ConnectionTTL)), "ada", "bob"); len(got) != 0 {
		t.Fatalf("when every socket expired: online = %v, want nobody", got)
	}
}

// A connection made before midnight is found after it, until it expires; its $disconnect
// takes it out of both days.
func TestPresence_AConnectionAcrossMidnightCountsOnBothDays(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	evening := time.Date(2026, 12, 3, 23, 30, 0, 0, time.UTC)
	connect(t, at(st, evening), agentConn("ada-late", "ada", evening), agentConn("bob-late", "bob", evening))
	for _, now := range []time.Time{evening, evening.Add(29 * time.Minute), evening.Add(31 * time.Minute), evening.Add(store.ConnectionTTL - time.Second)} {
		if got := online(t, at(st, now), "ada", "bob"); !slices.Equal(got, []string{"ada", "bob"}) {
			t.Fatalf("at %s: online = %v, want both", now.Format(time.TimeOnly), got)
		}
	}
	if got := online(t, at(st, evening.Add(store.ConnectionTTL)), "ada", "bob"); len(got) != 0 {
		t.Fatalf("at expiry: online = %v, want nobody", got)
	}
	if err := st.RemoveConnection(t.Context(), "ada-late"); err != nil {
		t.Fatal(err)
	}
	for _, now := range []time.Time{evening.Add(time.Minute), evening.Add(time.Hour)} {
		if got := online(t, at(st, now), "ada", "bob"); !slices.Equal(got, []string{"bob"}) {
			t.Fatalf("after ada's $disconnect, at %s: online = %v, want bob", now.Format(time.TimeOnly), got)
		}
	}
}

// presenceEntries reads an agent's presence item of the given day as DynamoDB holds it: the
// connection ids it lists, and its expiresAt.
func presenceEntries(t *testing.T, st *store.Store, agentID string, day time.Time) ([]string, string) {
	t.Helper()
	res, err := testenv.DynamoDB(t).GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName: aws.String(st.Table()), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "AGENT#" + agentID},
			"sk": &types.AttributeValueMemberS{Value: "PRESENCE#" + day.Format(time.DateOnly)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for name := range maps.Keys(res.Item) {
		if id, ok := strings.CutPrefix(name, "conn#"); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	exp, _ := res.Item["expiresAt"].(*types.AttributeValueMemberN)
	if exp == nil {
		return ids, ""
	}
	return ids, exp.Value
}

// A day's presence item expires by TTL when its day ends, so entries of sockets that died
// without $disconnect do not pile up in it for ever.
func TestPresence_ADaysItemExpiresWithItsDay(t *testing.T) {
	t.Parallel()
	st := at(newStore(t), morning)
	connect(t, st, agentConn("ada-1", "ada", morning))
	ids, exp := presenceEntries(t, st, "ada", morning)
	if want := fmt.Sprint(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC).Unix()); !slices.Equal(ids, []string{"ada-1"}) || exp != want {
		t.Fatalf("ada's presence item: entries %v, expiresAt %s; want [ada-1], %s (midnight)", ids, exp, want)
	}
	// Removing from a day nobody wrote leaves nothing that lives for good.
	gone := agentConn("never", "cy", morning)
	gone.ExpiresAt = morning.Add(store.ConnectionTTL)
	if err := st.DeleteConnection(t.Context(), gone); err != nil {
		t.Fatal(err)
	}
	if ids, exp := presenceEntries(t, st, "cy", morning); len(ids) != 0 || (exp == "" && ids != nil) {
		t.Fatalf("cy's presence item: entries %v, expiresAt %q", ids, exp)
	}
}

// Sockets of one agent connecting and disconnecting at once, many rounds: every entry is
// written and removed (single-attribute SET and REMOVE, no read-modify-write), so presence
// holds exactly the sockets still open.
func TestPresence_ConcurrentConnectsAndDisconnectsOfOneAgentLoseNothing(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	const rounds, sockets = 15, 6
	for r := range rounds {
		now := time.Now().UTC()
		conns := make([]store.Connection, sockets)
		for i := range conns {
			conns[i] = agentConn(fmt.Sprintf("r%d-s%d", r, i), "ada", now)
			conns[i].ExpiresAt = now.Add(store.ConnectionTTL)
		}
		// Half of last round's sockets close while this round's open.
		var wg sync.WaitGroup
		errs := make(chan error, sockets*2)
		for _, c := range conns {
			wg.Go(func() { errs <- st.PutConnection(t.Context(), c) })
		}
		if r > 0 {
			for i := range sockets / 2 {
				wg.Go(func() { errs <- st.RemoveConnection(t.Context(), fmt.Sprintf("r%d-s%d", r-1, sockets/2+i)) })
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", r, err)
			}
		}
		want := connectionIDs(conns)
		ids, _ := presenceEntries(t, st, "ada", now.Truncate(24*time.Hour))
		if !slices.Equal(ids, want) && !crossedMidnight(now) {
			t.Fatalf("round %d: presence lists %v, want this round's %v", r, ids, want)
		}
		if got := online(t, st, "ada"); !slices.Equal(got, []string{"ada"}) {
			t.Fatalf("round %d: online = %v", r, got)
		}
		// This round's first half closes at once; the second half closes in the next round.
		wg = sync.WaitGroup{}
		errs = make(chan error, sockets)
		for _, c := range conns[:sockets/2] {
			wg.Go(func() { errs <- st.DeleteConnection(t.Context(), c) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", r, err)
			}
		}
	}
	for i := range sockets / 2 {
		if err := st.RemoveConnection(t.Context(), fmt.Sprintf("r%d-s%d", rounds-1, sockets/2+i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := online(t, st, "ada"); len(got) != 0 {
		t.Fatalf("every socket closed: online = %v", got)
	}
}

// crossedMidnight: the test ran across a UTC midnight, when today's item is not the one written.
func crossedMidnight(then time.Time) bool {
	return !time.Now().UTC().Truncate(24 * time.Hour).Equal(then.Truncate(24 * time.Hour))
}

// Presence of many agents is one BatchGetItem per 100, issued in parallel: 250 agents (some
// asked twice) are three calls.
func TestPresence_ManyAgentsAreOneBatchGetPerHundred(t *testing.T) {
	t.Parallel()
	st := at(newStore(t), morning)
	var ids, want []string
	for i := range 250 {
		id := fmt.Sprintf("agent-%03d", i)
		ids = append(ids, id)
		if i%7 == 0 {
			connect(t, st, agentConn("conn-"+id, id, morning))
			want = append(want, id)
		}
	}
	ctx, counter := roundtrips.Start(context.Background())
	got, err := st.Connected(ctx, append(ids, ids[:20]...))
	if err != nil {
		t.Fatal(err)
	}
	var on []string
	for id, ok := range got {
		if ok {
			on = append(on, id)
		}
	}
	slices.Sort(on)
	if len(got) != 250 || !slices.Equal(on, want) {
		t.Fatalf("%d agents answered, online %v; want 250, %v", len(got), on, want)
	}
	// Calls are counted, not their overlap: a loaded machine may run the three one after another.
	if ops := counter.Operations(); !slices.Equal(ops, []string{"BatchGetItem", "BatchGetItem", "BatchGetItem"}) {
		t.Errorf("calls %v; want 3 BatchGetItems", ops)
	}
	t.Logf("250 agents: %d calls, %d sequential", counter.Calls(), counter.Sequential())
}

// BenchmarkPresence_DirectoryOf150Agents times reading the presence of 150 agents, a third of
// them connected: two BatchGetItems at once.
func BenchmarkPresence_DirectoryOf150Agents(b *testing.B) {
	st := store.New(testenv.DynamoDB(b), testenv.NewTable(b))
	ids := make([]string, 150)
	for i := range ids {
		ids[i] = fmt.Sprintf("agent-%03d", i)
		if i%3 == 0 {
			if err := st.PutConnection(b.Context(), agentConn("conn-"+ids[i], ids[i], time.Now())); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		if _, err := st.Connected(b.Context(), ids); err != nil {
			b.Fatal(err)
		}
	}
}
