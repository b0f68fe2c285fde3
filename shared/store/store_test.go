package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/idempotency"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newStore(t *testing.T) *store.Store {
	t.Helper()
	return store.New(testenv.DynamoDB(t), testenv.NewTable(t))
}

// created stores the new conversation n.
func created(t *testing.T, st *store.Store, n store.NewConversation) {
	t.Helper()
	if err := st.CreateConversation(t.Context(), n); err != nil {
		t.Fatal(err)
	}
}

func newConversation(now time.Time) store.NewConversation {
	conv := conversation.Conversation{ID: ids.New("conv"), Status: conversation.StatusOpen, CreatedAt: now}
	part := conversation.Participant{ConversationID: conv.ID, ID: ids.New("vis"), Kind: conversation.KindVisitor, JoinedAt: now}
	return store.NewConversation{Conversation: conv, Participant: part}
}

func TestCreateConversation_FailedConditionIsATypedError(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	n := newConversation(time.Now())
	created(t, st, n)
	err := st.CreateConversation(t.Context(), n)
	var tx *store.TxCanceledError
	if !errors.As(err, &tx) || !tx.FailedOn("conversation") || !tx.FailedOn("participant") {
		t.Fatalf("second create = %v, want a cancelled transaction failing on conversation and participant", err)
	}
	if len(tx.Reasons) != 3 || tx.Reasons[0] != "ConditionalCheckFailed" || !tx.FailedOn("head") {
		t.Fatalf("reasons = %v", tx.Reasons)
	}
}

func TestSession_ExpiredButPresentIsAbsent(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	n := newConversation(now)
	n.Session = &store.Session{Hash: ids.Hash(ids.Token()), ConversationID: n.Conversation.ID, ParticipantID: n.Participant.ID, ExpiresAt: now.Add(time.Minute)}
	created(t, st, n)
	if _, err := st.Session(t.Context(), n.Session.Hash); err != nil {
		t.Fatalf("live session: %v", err)
	}
	// Two minutes later the item is still in the table (TTL deletes late), but it is dead.
	later := st.WithClock(func() time.Time { return now.Add(2 * time.Minute) })
	if _, err := later.Session(t.Context(), n.Session.Hash); !store.IsNotFound(err) {
		t.Fatalf("expired session = %v, want not found", err)
	}
	if _, _, found, err := later.VisitorSession(t.Context(), n.Session.Hash); found || err != nil {
		t.Fatalf("expired session resolves: found=%v err=%v", found, err)
	}
}

func TestPostMessage_RefusedOnceParticipantLeftOrConversationEnded(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	n := newConversation(now)
	created(t, st, n)
	msg := func() conversation.Event {
		return conversation.Event{ConversationID: n.Conversation.ID, Type: conversation.EventMessageCreated,
			At: time.Now(), Audience: conversation.AudienceEveryone}
	}
	if _, err := st.PostMessage(t.Context(), msg(), n.Participant.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.Leave(t.Context(), n.Participant, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PostMessage(t.Context(), msg(), n.Participant.ID); !store.FailedOn(err, "participant") {
		t.Fatalf("message after leaving = %v, want failure on participant", err)
	}
	if err := st.Leave(t.Context(), n.Participant, false, nil); !store.FailedOn(err, "participant") {
		t.Fatalf("second leave = %v, want failure on participant", err)
	}
	conv := n.Conversation
	conv.EndedAt = now
	ended := conversation.Event{ConversationID: conv.ID, Type: conversation.EventConversationEnded, At: now, Audience: conversation.AudienceEveryone}
	if err := st.EndConversation(t.Context(), conv, &ended); err != nil {
		t.Fatal(err)
	}
	if err := st.EndConversation(t.Context(), conv, &ended); !store.FailedOn(err, "open") {
		t.Fatalf("second end = %v, want failure on open", err)
	}
}

func TestIdempotency_OneClaimWinsAmongConcurrentRetries(t *testing.T) {
	t.Parallel()
	st := newStore(t).Idempotency()
	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	claims := 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, claimed, err := st.Begin(t.Context(), idempotency.NewClaim("scope-1"), "hash-1", time.Hour, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if claimed {
				mu.Lock()
				claims++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if claims != 1 {
		t.Fatalf("%d claims of one key, want exactly 1", claims)
	}
	if err := st.Complete(t.Context(), idempotency.NewClaim("scope-1"), idempotency.Response{Status: 201, Body: []byte(`{"ok":true}`)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	rec, claimed, err := st.Begin(t.Context(), idempotency.NewClaim("scope-1"), "hash-1", time.Hour, time.Minute)
	if err != nil || claimed || !rec.Completed || rec.Response.Status != 201 || string(rec.Response.Body) != `{"ok":true}` {
		t.Fatalf("after completion: rec=%+v claimed=%v err=%v", rec, claimed, err)
	}
}

func TestEvents_PagesSkipInvisibleEventsWithoutShortPages(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	n := newConversation(time.Now())
	created(t, st, n)
	base := time.Now()
	var evs []conversation.Event
	for i := 0; i < 30; i++ {
		aud := conversation.AudienceEveryone
		if i%3 != 0 {
			aud = conversation.AudienceAgents // two of three hidden from visitors
		}
		at := base.Add(time.Duration(i) * time.Millisecond)
		evs = append(evs, conversation.Event{ConversationID: n.Conversation.ID, Type: "note", At: at, Audience: aud})
	}
	if err := st.AddParticipant(t.Context(), conversation.Participant{ConversationID: n.Conversation.ID, ID: "agent_bo",
		Kind: conversation.KindAgent, AgentID: "bo", JoinedAt: base}, nil, evs); err != nil {
		t.Fatal(err)
	}
	seen, after := 0, int64(0)
	for pages := 0; ; pages++ {
		page, err := st.Events(t.Context(), n.Conversation.ID, after, 4, conversation.KindVisitor)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			if e.Audience != conversation.AudienceEveryone {
				t.Fatal("visitor page holds an agents-only event")
			}
		}
		seen += len(page.Events)
		if page.Next == 0 {
			break
		}
		if len(page.Events) != 4 {
			t.Fatalf("middle page of %d events", len(page.Events))
		}
		after = page.Next
	}
	if seen != 10 {
		t.Fatalf("visitor saw %d events, want 10", seen)
	}
}
