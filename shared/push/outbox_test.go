package push_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/push"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

// TestOutbox_AFunctionThatDiesRightAfterItsCommitLosesNoPush: the request commits through the
// store and does nothing more — no publisher exists in it to call — yet the push arrives,
// because the committed event is the outbox (SPEC §6).
func TestOutbox_AFunctionThatDiesRightAfterItsCommitLosesNoPush(t *testing.T) {
	t.Parallel()
	w := newWorld(t, push.Options{})
	conv, _ := w.conversation(t, []string{"ada"}, 0)
	w.connect(t, "ada-1", store.AgentPrincipal("ada"))
	arrived := make(chan struct{}, 1)
	w.srv.OnDeliver(func(string) { arrived <- struct{}{} })

	e := event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, map[string]any{"text": "still there?"})
	if _, err := w.st.PostMessage(t.Context(), e, conversation.AgentParticipantID("ada")); err != nil {
		t.Fatal(err)
	}
	// The "function" ends here.
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the committed message was never pushed")
	}
	if got := w.srv.Messages(t, "ada-1"); len(got) != 1 || got[0].Data["text"] != "still there?" {
		t.Fatalf("ada received %+v", got)
	}
}

// TestPush_EachConversationInSeqOrder: many writers commit at once; every connection
// receives each conversation's events exactly once, in seq order.
func TestPush_EachConversationInSeqOrder(t *testing.T) {
	t.Parallel()
	w := newWorld(t, push.Options{})
	convA, _ := w.conversation(t, []string{"ada"}, 0)
	convB, _ := w.conversation(t, []string{"ada"}, 0)
	w.connect(t, "ada-1", store.AgentPrincipal("ada"))
	const writers, each = 8, 5
	var wg sync.WaitGroup
	for i := range writers {
		conv := convA
		if i%2 == 1 {
			conv = convB
		}
		wg.Go(func() {
			for range each {
				e := event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, nil)
				if _, err := w.st.PostMessage(context.Background(), e, conversation.AgentParticipantID("ada")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	w.settle(t)
	last := map[string]int64{}
	for _, m := range w.srv.Messages(t, "ada-1") {
		if m.Seq != last[m.ConversationID]+1 {
			t.Fatalf("conversation %s: push of seq %d after %d", m.ConversationID, m.Seq, last[m.ConversationID])
		}
		last[m.ConversationID] = m.Seq
	}
	if last[convA] != writers/2*each || last[convB] != writers/2*each {
		t.Fatalf("last seqs pushed %v, want %d each", last, writers/2*each)
	}
}

// TestPush_RecipientsAreThoseWithAccessWhenItIsSent: the push function runs after these
// commits (its stream read from the start only then). A visitor who joined after a message
// is not pushed it (history has it for them); one who left before the push gets nothing.
func TestPush_RecipientsAreThoseWithAccessWhenItIsSent(t *testing.T) {
	t.Parallel()
	w := newWorld(t, push.Options{})
	w.stream.Stop()
	conv, visitors := w.conversation(t, []string{"ada"}, 1)
	leaver, err := w.st.Participant(t.Context(), conv, visitors[0])
	if err != nil {
		t.Fatal(err)
	}
	w.connect(t, "leaver-1", store.VisitorPrincipal(leaver.ID))
	w.connect(t, "ada-1", store.AgentPrincipal("ada"))
	before := event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, map[string]any{"text": "before"})
	mustPost(t, w, before)
	late := conversation.Participant{ConversationID: conv, ID: ids.New("vis"), Kind: conversation.KindVisitor, JoinedAt: time.Now()}
	joined := event(conv, conversation.EventParticipantJoined, conversation.AudienceEveryone, map[string]any{"participantId": late.ID, "kind": "visitor"})
	if err := w.st.AddParticipant(t.Context(), late, nil, []conversation.Event{joined}); err != nil {
		t.Fatal(err)
	}
	w.connect(t, "late-1", store.VisitorPrincipal(late.ID))
	left := event(conv, conversation.EventParticipantLeft, conversation.AudienceEveryone, map[string]any{"participantId": leaver.ID, "kind": "visitor"})
	if err := w.st.Leave(t.Context(), leaver, false, []conversation.Event{left}); err != nil {
		t.Fatal(err)
	}
	after := event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, map[string]any{"text": "after"})
	mustPost(t, w, after)

	src := fromTheStart(t)
	w.stream = readStreamFrom(t, w, src)
	w.settle(t)

	if got := texts(w.srv.Messages(t, "late-1")); len(got) != 1 || got[0] != "after" {
		t.Errorf("the visitor who joined later received %v, want only what came after their join", got)
	}
	if got := w.srv.Raw("leaver-1"); len(got) != 0 {
		t.Errorf("the visitor who left received %d pushes", len(got))
	}
	if !w.srv.Closed("leaver-1") {
		t.Error("the socket of the visitor who left was not closed")
	}
	if got := types(w.srv.Messages(t, "ada-1")); len(got) != 4 {
		t.Errorf("ada received %v, want all four events", got)
	}
}

func mustPost(t *testing.T, w *world, e conversation.Event) {
	t.Helper()
	if _, err := w.st.PostMessage(t.Context(), e, conversation.AgentParticipantID("ada")); err != nil {
		t.Fatal(err)
	}
}

func texts(ms []wsapi.Message) []string {
	var out []string
	for _, m := range ms {
		if s, ok := m.Data["text"].(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// readStreamFrom reads the world's stream with the given source, into its publisher.
func readStreamFrom(t *testing.T, w *world, src gateway.StreamSource) *gateway.StreamPoller {
	t.Helper()
	return pollWith(t, w.st.Table(), src, w.pub.HandleStream, slog.New(slog.DiscardHandler))
}
