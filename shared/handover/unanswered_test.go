package handover_test

import (
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// A conversation a visitor starts is offered to its team; if nobody takes it within the
// configured time it ends as unanswered (SPEC §5, bounded abuse): the visitor is told, the
// offer leaves the inboxes, and the visitor's session ends.
func TestUnanswered_AVisitorStartNobodyTakesEndsAndTheVisitorIsTold(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada")
	started, resp := w.startAsVisitor("support")
	if resp.Status != 201 {
		t.Fatalf("start: %d %s", resp.Status, resp.Body)
	}
	w.connectVisitor(started.ParticipantID)
	offerID := w.state(started.ConversationID).PendingForward
	if o := w.offer(offerID); (o.ExpiresAt.Sub(o.CreatedAt) - invitation.DefaultUnansweredAfter).Abs() > time.Second {
		t.Fatalf("the offer waits %v, want %v", o.ExpiresAt.Sub(o.CreatedAt), invitation.DefaultUnansweredAfter)
	}

	w.clock.Advance(invitation.DefaultUnansweredAfter - time.Minute)
	if rep := w.sweep(); rep.Expired != 0 || !w.state(started.ConversationID).Conversation.Open() {
		t.Fatalf("ended before its time: %+v", rep)
	}
	if !inboxHas(w.inbox("ada"), offerID) {
		t.Fatal("the offer left the inbox before its time")
	}

	w.clock.Advance(2 * time.Minute)
	if inboxHas(w.inbox("ada"), offerID) {
		t.Fatal("an offer past its time is still in the inbox (reads must not wait for the sweep)")
	}
	if rep := w.sweep(); rep.Expired != 1 {
		t.Fatalf("sweep: %+v, want the conversation ended", rep)
	}
	if w.state(started.ConversationID).Conversation.Open() {
		t.Fatal("the conversation is still open")
	}
	told := w.pushed("ws-visitor", conversation.EventConversationEnded)
	if len(told) != 1 || told[0].Data["reason"] != conversation.EndedUnanswered {
		t.Fatalf("the visitor was told %+v, want conversation.ended with reason unanswered", told)
	}
	if len(w.pushed("ws-ada", conversation.EventConversationEnded)) != 1 {
		t.Fatal("the team member whose inbox held the offer was not told")
	}
	if !w.closed("ws-visitor") {
		t.Fatal("the visitor's socket is still open")
	}
	if r := w.do("GetConversationFunction", "GET", "/conversations/{id}", onConv(started.ConversationID), nil, "Bearer "+started.SessionToken); r.Status != 401 {
		t.Fatalf("the visitor's session after the end: %d %s", r.Status, r.Body)
	}
	if o := w.offer(offerID); o.Status == invitation.StatusPending {
		t.Fatal("the offer is still pending")
	}
	if r := w.accept(offerID, "ada"); r.Status < 400 {
		t.Fatalf("accepting the ended conversation's offer: %d %s", r.Status, r.Body)
	}
}

// An agent who takes the conversation at the last moment keeps it; the sweep, on Lambdas
// whose clocks disagree, never ends a conversation someone holds and never leaves one open
// with nobody.
func TestUnanswered_AcceptRacingTheEndHasOneWinner(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	rounds := 15
	var accepted, ended int
	for range rounds {
		started, resp := w.startAsVisitor("support")
		if resp.Status != 201 {
			t.Fatalf("start: %d %s", resp.Status, resp.Body)
		}
		conv := started.ConversationID
		offerID := w.state(conv).PendingForward
		// A second before the end, on clocks two seconds apart: either may come first.
		w.clock.Advance(invitation.DefaultUnansweredAfter - time.Second)
		w.clock.skew(-2*time.Second, 0, 2*time.Second)
		var wg sync.WaitGroup
		var acceptStatus int
		wg.Add(2)
		go func() { defer wg.Done(); acceptStatus = w.accept(offerID, "grace").Status }()
		go func() {
			defer wg.Done()
			if _, err := handlers.ExpireInvitations(w.api.Deps)(t.Context(), events.EventBridgeEvent{ID: "racing-sweep"}); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		w.clock.skew()
		st := w.state(conv)
		switch {
		case acceptStatus == 200 && st.Conversation.Open() && st.Conversation.Assignee == "grace":
			accepted++
		case acceptStatus >= 400 && !st.Conversation.Open():
			ended++
		case acceptStatus >= 400 && st.Conversation.Open():
			// the accept lost to the clock, the sweep to its clock: the next sweep ends it
			w.clock.Advance(5 * time.Second)
			w.sweep()
			if w.state(conv).Conversation.Open() {
				t.Fatalf("open with nobody after a refused accept and two sweeps")
			}
			ended++
		default:
			t.Fatalf("accept %d, conversation open %v, assignee %q", acceptStatus, st.Conversation.Open(), st.Conversation.Assignee)
		}
		w.neverOrphaned(conv)
	}
	t.Logf("%d rounds: %d taken at the last moment, %d ended unanswered", rounds, accepted, ended)
}
