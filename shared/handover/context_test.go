package handover_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// say posts a message as the caller and fails the test unless it is accepted.
func (w *world) say(convID, authz, text string) {
	w.t.Helper()
	if r := w.post(convID, authz, text); r.Status != 201 {
		w.t.Fatalf("post %q: %d %s", text, r.Status, r.Body)
	}
}

// entryOf is the inbox entry of the invitation in the agent's inbox.
func (w *world) entryOf(agentID, invitationID string) handover.InboxEntry {
	w.t.Helper()
	in := w.inbox(agentID)
	i := slices.IndexFunc(in, func(e handover.InboxEntry) bool { return e.InvitationID == invitationID })
	if i < 0 {
		w.t.Fatalf("%s's inbox has no %s: %s", agentID, invitationID, mustJSON(w.t, in))
	}
	return in[i]
}

func texts(ms []conversation.RecentMessage) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Author + ": " + m.Text
	}
	return strings.Join(out, " | ")
}

// TestOfferContext_AVisitorsConversationShowsTopicPageCustomerWaitAndTheLastFiveMessages
// (SPEC §9.4): the offer of a visitor's new conversation shows, in every member's inbox, the
// topic, the page, the customer's name, since when they wait, and the last five messages
// oldest first; its invitation.created push carries the same context as it was when offered.
func TestOfferContext_AVisitorsConversationShowsTopicPageCustomerWaitAndTheLastFiveMessages(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("grace")
	startedAt := w.clock.Now()
	resp := w.do("StartConversationFunction", "POST", "/conversations", nil, map[string]any{
		"topic": "Refund for order 42", "pageUrl": "https://shop.example/orders/42", "displayName": "Dana", "teamId": "billing"}, "")
	if resp.Status != 201 {
		t.Fatalf("start: %d %s", resp.Status, resp.Body)
	}
	var s conversations.Started
	resp.Decode(t, &s)
	for i := range 7 {
		w.clock.Advance(time.Second)
		w.say(s.ConversationID, "Bearer "+s.SessionToken, fmt.Sprintf("message %d", i+1))
	}
	for _, member := range []string{"grace", "mia"} {
		in := w.inbox(member)
		if len(in) != 1 {
			t.Fatalf("%s's inbox: %s", member, mustJSON(t, in))
		}
		c := in[0].Context
		if c.Topic != "Refund for order 42" || c.PageURL != "https://shop.example/orders/42" || c.CustomerName != "Dana" || c.Message != "" {
			t.Errorf("%s sees %s", member, mustJSON(t, c))
		}
		if c.WaitingSince.Sub(startedAt).Abs() > time.Second {
			t.Errorf("waiting since %v, the conversation started at %v", c.WaitingSince, startedAt)
		}
		if got, want := texts(c.RecentMessages), "Dana: message 3 | Dana: message 4 | Dana: message 5 | Dana: message 6 | Dana: message 7"; got != want {
			t.Errorf("%s's recent messages: %s, want %s", member, got, want)
		}
		if !slices.IsSortedFunc(c.RecentMessages, func(a, b conversation.RecentMessage) int { return a.At.Compare(b.At) }) {
			t.Error("recent messages are not oldest first")
		}
	}
	created := w.pushed("ws-grace", conversation.EventInvitationCreated)
	if len(created) != 1 {
		t.Fatalf("grace got %d invitation.created pushes", len(created))
	}
	ctx, _ := created[0].Data["context"].(map[string]any)
	if ctx["topic"] != "Refund for order 42" || ctx["pageUrl"] != "https://shop.example/orders/42" || ctx["customerName"] != "Dana" ||
		ctx["waitingSince"] == nil || fmt.Sprint(ctx["recentMessages"]) != "[]" {
		t.Errorf("the offer's push carries context %v", created[0].Data["context"])
	}
}

// TestOfferContext_AnInvitationShowsItsMessageAndIsRefreshedByEachMessageWhilePending: an
// agent's invitation shows its message; while the inviter holds the conversation the customer
// waits for nobody (no waitingSince); system notices are not messages; each new message
// refreshes the pending offer, in the inbox of everyone it is addressed to.
func TestOfferContext_AnInvitationShowsItsMessageAndIsRefreshedByEachMessageWhilePending(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	convID, _, visitor := w.startAsAgent("ada")
	w.connect("mia")
	w.say(convID, visitor, "my parcel is lost")
	w.say(convID, w.bearer("ada"), "let me ask billing")
	r := w.inviteTeam(convID, "ada", "billing", "can you refund?")
	if r.Status != 201 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	var inv invitation.Offer
	r.Decode(t, &inv)
	e := w.entryOf("mia", inv.ID)
	if e.Context.Message != "can you refund?" || !e.Context.WaitingSince.IsZero() || e.Context.Topic != "Order 42" {
		t.Errorf("mia sees %s", mustJSON(t, e.Context))
	}
	if got, want := texts(e.Context.RecentMessages), "Customer: my parcel is lost | Ada: let me ask billing"; got != want {
		t.Errorf("recent messages %s, want %s (system notices are not messages)", got, want)
	}
	if e.InvitedBy == nil || e.InvitedBy.Name != "Ada" || e.To.Name != "Billing" {
		t.Errorf("names: invited by %+v, to %+v", e.InvitedBy, e.To)
	}
	// The push that brought it shows the same.
	if created := w.pushed("ws-mia", conversation.EventInvitationCreated); len(created) != 1 {
		t.Errorf("mia got %d invitation.created pushes", len(created))
	} else {
		var pushed invitation.OfferContext
		if err := json.Unmarshal([]byte(mustJSON(t, created[0].Data["context"])), &pushed); err != nil {
			t.Fatal(err)
		}
		if mustJSON(t, pushed) != mustJSON(t, e.Context) {
			t.Errorf("pushed context %s, inbox %s", mustJSON(t, pushed), mustJSON(t, e.Context))
		}
	}
	w.say(convID, visitor, "thanks!")
	for _, member := range []string{"grace", "mia"} {
		if got := texts(w.entryOf(member, inv.ID).Context.RecentMessages); !strings.HasSuffix(got, "Customer: thanks!") {
			t.Errorf("%s's offer was not refreshed by the new message: %s", member, got)
		}
	}
}

// TestOfferContext_NotRefreshedOnceAnswered: an accepted invitation and a declined forward
// keep the context they had when answered; a pending one next to them is still refreshed.
func TestOfferContext_NotRefreshedOnceAnswered(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	convID, _, visitor := w.startAsAgent("ada")
	w.say(convID, visitor, "before")
	var toMia, toGrace invitation.Offer
	w.inviteAgent(convID, "ada", "mia", "join?").Decode(t, &toMia)
	w.inviteAgent(convID, "ada", "grace", "join too?").Decode(t, &toGrace)
	fw := w.mustForward(convID, "ada", "agent", "linus", "yours")
	if r := w.accept(toMia.ID, "mia"); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	if r := w.decline(fw.ID, "linus", "busy"); r.Status != 204 {
		t.Fatalf("decline: %d %s", r.Status, r.Body)
	}
	w.say(convID, visitor, "after")
	for _, id := range []string{toMia.ID, fw.ID} {
		if got := texts(w.offer(id).Context.RecentMessages); got != "Customer: before" {
			t.Errorf("answered offer %s was refreshed: %s", id, got)
		}
	}
	if got := texts(w.offer(toGrace.ID).Context.RecentMessages); got != "Customer: before | Customer: after" {
		t.Errorf("the pending offer was not refreshed: %s", got)
	}
}

// TestOfferContext_WaitingSinceFollowsWhoHoldsTheConversation: a forward in the immediate
// hand-over leaves the customer waiting from the forward on; an incoming offer made when the
// assignee leaves shows the wait from the leave; pending offers see it change.
func TestOfferContext_WaitingSinceFollowsWhoHoldsTheConversation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeImmediate)
	convID, _, _ := w.startAsAgent("ada")
	var inv invitation.Offer
	w.inviteAgent(convID, "ada", "mia", "join?").Decode(t, &inv)
	if ws := w.entryOf("mia", inv.ID).Context.WaitingSince; !ws.IsZero() {
		t.Fatalf("ada holds it, yet the customer waits since %v", ws)
	}
	w.clock.Advance(time.Minute)
	forwardedAt := w.clock.Now()
	fw := w.mustForward(convID, "ada", "agent", "linus", "yours")
	for who, id := range map[string]string{"linus": fw.ID, "mia": inv.ID} {
		if ws := w.entryOf(who, id).Context.WaitingSince; ws.Sub(forwardedAt).Abs() > time.Second {
			t.Errorf("%s: waiting since %v, forwarded (and left) at %v", who, ws, forwardedAt)
		}
	}
	if r := w.accept(fw.ID, "linus"); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	if ws := w.entryOf("mia", inv.ID).Context.WaitingSince; !ws.IsZero() {
		t.Errorf("linus holds it, yet mia's offer says the customer waits since %v", ws)
	}
	w.clock.Advance(time.Minute)
	leftAt := w.clock.Now()
	if r := w.leave(convID, w.bearer("linus")); r.Status != 204 {
		t.Fatalf("leave: %d %s", r.Status, r.Body)
	}
	in := w.inbox("grace")
	if len(in) != 1 || in[0].Purpose != invitation.PurposeIncoming || in[0].Context.WaitingSince.Sub(leftAt).Abs() > time.Second {
		t.Fatalf("grace's inbox after the assignee left at %v: %s", leftAt, mustJSON(t, in))
	}
}

// TestOfferContext_APostRacingAnAcceptRefreshesTheOfferExactlyWhenItCameFirst: in history
// order, a message committed before the accept is in the accepted offer's context and one
// committed after it is not, however the two race.
func TestOfferContext_APostRacingAnAcceptRefreshesTheOfferExactlyWhenItCameFirst(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	before, after := 0, 0
	for round := range 12 {
		convID, _, visitor := w.startAsAgent("ada")
		var inv invitation.Offer
		w.inviteAgent(convID, "ada", "mia", "join?").Decode(t, &inv)
		text := fmt.Sprintf("race %d", round)
		resps := concurrently(
			func() apitest.Response { return w.post(convID, visitor, text) },
			func() apitest.Response { return w.accept(inv.ID, "mia") },
		)
		if resps[0].Status != 201 || resps[1].Status != 200 {
			t.Fatalf("round %d: post %d %s, accept %d %s", round, resps[0].Status, resps[0].Body, resps[1].Status, resps[1].Body)
		}
		var posted, accepted int64
		for _, e := range w.history(convID, w.bearer("ada")) {
			switch {
			case e.Type == conversation.EventMessageCreated && e.Data["text"] == text:
				posted = e.Seq
			case e.Type == conversation.EventInvitationAccepted:
				accepted = e.Seq
			}
		}
		kept := strings.Contains(texts(w.offer(inv.ID).Context.RecentMessages), text)
		if kept != (posted < accepted) {
			t.Fatalf("round %d: message seq %d, accept seq %d, yet the offer kept it: %v", round, posted, accepted, kept)
		}
		if kept {
			before++
		} else {
			after++
		}
	}
	t.Logf("the message came first %d times, the accept %d times", before, after)
}
