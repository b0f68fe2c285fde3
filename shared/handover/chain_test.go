package handover_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/invitations"
)

// Fallback chains (SPEC §9.2), end to end through the handlers against DynamoDB Local.

func (w *world) inviteWith(convID, by string, body map[string]any) apitest.Response {
	return w.do("InviteAgentFunction", "POST", "/conversations/{id}/invitations/agent", onConv(convID), body, w.bearer(by))
}

func (w *world) mustChain(convID, by string, body map[string]any) invitation.Offer {
	w.t.Helper()
	resp := w.inviteWith(convID, by, body)
	if resp.Status != 201 {
		w.t.Fatalf("invite %v: %d %s", body, resp.Status, resp.Body)
	}
	var o invitation.Offer
	resp.Decode(w.t, &o)
	return o
}

// listed is the invitation as GET /conversations/{id}/invitations shows it now.
func (w *world) listed(convID, invitationID, by string) invitation.Invitation {
	w.t.Helper()
	resp := w.do("ListInvitationsFunction", "GET", "/conversations/{id}/invitations", onConv(convID), nil, w.bearer(by))
	if resp.Status != 200 {
		w.t.Fatalf("list: %d %s", resp.Status, resp.Body)
	}
	var l invitations.Listed
	resp.Decode(w.t, &l)
	for _, inv := range l.Invitations {
		if inv.ID == invitationID {
			return inv
		}
	}
	w.t.Fatalf("invitation %s not listed", invitationID)
	return invitation.Invitation{}
}

func answers(inv invitation.Invitation) string {
	s := ""
	for _, t := range inv.Targets {
		s += fmt.Sprintf("%s:%s", t.ID, t.Answer)
		if t.Reason != "" {
			s += "/" + t.Reason
		}
		s += " "
	}
	return s
}

func wantAnswers(t *testing.T, inv invitation.Invitation, want string) {
	t.Helper()
	if got := answers(inv); got != want {
		t.Fatalf("targets %q, want %q", got, want)
	}
}

func chainBody(first string, after int, fallback ...map[string]any) map[string]any {
	body := map[string]any{"agentId": first, "message": "can you take it?", "fallback": fallback}
	if after > 0 {
		body["afterSeconds"] = after
	}
	return body
}

func agentTarget(id string, after int) map[string]any {
	m := map[string]any{"kind": "agent", "id": id}
	if after > 0 {
		m["afterSeconds"] = after
	}
	return m
}

func TestChain_DeclineMovesOnAtOnce_AndEveryMoveIsPushed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada", "grace", "linus")
	conv, _, _ := w.startAsAgent("ada")
	o := w.mustChain(conv, "ada", chainBody("grace", 60, agentTarget("linus", 0)))
	wantAnswers(t, o.Invitation, "grace:pending linus:queued ")
	if o.Targets[1].AfterSeconds != invitation.DefaultWindowSeconds || o.Targets[0].AfterSeconds != 60 {
		t.Fatalf("windows %+v, want 60 then the default 120", o.Targets)
	}
	if !inboxHas(w.inbox("grace"), o.ID) || inboxHas(w.inbox("linus"), o.ID) {
		t.Fatal("the first target, and only they, has it in the inbox")
	}
	if r := w.accept(o.ID, "linus"); r.Status != 409 || r.ErrorCode() != "not_your_turn" {
		t.Fatalf("a queued target accepting: %d %s", r.Status, r.Body)
	}
	if r := w.decline(o.ID, "grace", "busy"); r.Status != 204 && r.Status != 200 {
		t.Fatalf("decline: %d %s", r.Status, r.Body)
	}
	inv := w.listed(conv, o.ID, "ada")
	wantAnswers(t, inv, "grace:declined/busy linus:pending ")
	if inv.Status != invitation.StatusPending || inv.TargetAgentID != "linus" || inv.Targets[0].AnsweredAt.IsZero() {
		t.Fatalf("after the first decline: %+v", inv)
	}
	if inboxHas(w.inbox("grace"), o.ID) || !inboxHas(w.inbox("linus"), o.ID) {
		t.Fatal("the offer did not move from grace's inbox to linus's")
	}
	if len(w.pushed("ws-ada", invitation.EventUpdated)) != 1 || len(w.pushed("ws-linus", "invitation.created")) != 1 {
		t.Fatalf("pushes: ada %v, linus %v", w.pushes("ws-ada"), w.pushes("ws-linus"))
	}
	if r := w.decline(o.ID, "grace", "again"); r.Status < 400 {
		t.Fatalf("a target whose turn passed declined again: %d", r.Status)
	}
	if r := w.accept(o.ID, "linus"); r.Status != 200 {
		t.Fatalf("accept by the second target: %d %s", r.Status, r.Body)
	}
	inv = w.listed(conv, o.ID, "ada")
	wantAnswers(t, inv, "grace:declined/busy linus:accepted ")
	if inv.Status != invitation.StatusAccepted {
		t.Fatalf("status %s, want accepted", inv.Status)
	}
}

func TestChain_WindowEnd_ReadExactAtOnce_SweepStoresAndPushesIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada", "grace", "linus")
	conv, _, _ := w.startAsAgent("ada")
	o := w.mustChain(conv, "ada", chainBody("grace", 30, agentTarget("linus", 30)))

	w.clock.Advance(30 * time.Second)
	inv := w.listed(conv, o.ID, "ada")
	wantAnswers(t, inv, "grace:ignored/timeout linus:pending ")
	if inboxHas(w.inbox("grace"), o.ID) || !inboxHas(w.inbox("linus"), o.ID) {
		t.Fatal("at the window's end, the inbox did not follow the chain at once")
	}
	if r := w.accept(o.ID, "grace"); r.Status != 410 {
		t.Fatalf("accept by a target whose window passed: %d %s", r.Status, r.Body)
	}
	// That refusal stored the move; the sweep finds nothing left to do for it.
	w.sweep()
	if got := w.offer(o.ID); got.Stage != 1 || got.TargetAgentID != "linus" {
		t.Fatalf("stored stage %d target %s, want 1 linus", got.Stage, got.TargetAgentID)
	}
	if len(w.pushed("ws-grace", "invitation.taken")) != 1 || len(w.pushed("ws-linus", "invitation.created")) != 1 {
		t.Fatalf("pushes: grace %v, linus %v", w.pushes("ws-grace"), w.pushes("ws-linus"))
	}

	w.clock.Advance(30 * time.Second)
	inv = w.listed(conv, o.ID, "ada")
	if inv.Status != invitation.StatusExpired {
		t.Fatalf("chain ran out: %s, want expired", inv.Status)
	}
	wantAnswers(t, inv, "grace:ignored/timeout linus:ignored/timeout ")
	if rep := w.sweep(); rep.Expired != 1 {
		t.Fatalf("sweep %+v, want one expired", rep)
	}
	if len(w.pushed("ws-ada", "invitation.expired")) != 1 {
		t.Fatalf("the inviter was not told the chain ran out: %v", w.pushes("ws-ada"))
	}
}

func TestChain_SweepMovesAChainNobodyTouched(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada", "grace", "linus", "mia")
	conv, _, _ := w.startAsAgent("ada")
	o := w.mustChain(conv, "ada", chainBody("grace", 30, agentTarget("linus", 30), agentTarget("mia", 60)))
	w.clock.Advance(61 * time.Second)
	if rep := w.sweep(); rep.Advanced != 1 {
		t.Fatalf("sweep %+v, want one chain advanced", rep)
	}
	got := w.offer(o.ID)
	wantAnswers(t, got.Invitation, "grace:ignored/timeout linus:ignored/timeout mia:pending ")
	if !inboxHas(w.inbox("mia"), o.ID) || inboxHas(w.inbox("linus"), o.ID) {
		t.Fatal("the third target does not have it")
	}
	if len(w.pushed("ws-mia", "invitation.created")) != 1 || len(w.pushed("ws-grace", "invitation.taken")) != 1 {
		t.Fatalf("pushes: mia %v grace %v", w.pushes("ws-mia"), w.pushes("ws-grace"))
	}
}

func TestChain_UnavailableAgentSkippedWhileALaterTargetExists(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada", "mia") // grace and linus are offline
	conv, _, _ := w.startAsAgent("ada")
	o := w.mustChain(conv, "ada", chainBody("grace", 0, agentTarget("linus", 0)))
	wantAnswers(t, o.Invitation, "grace:ignored/unavailable linus:pending ")
	if !inboxHas(w.inbox("linus"), o.ID) {
		t.Fatal("the last target, offline, must still get it: nobody comes after them")
	}
	// An agent who is away is skipped like one who is offline.
	w.connect("grace")
	if err := w.st.PutAgent(t.Context(), agentAway("grace")); err != nil {
		t.Fatal(err)
	}
	conv2, _, _ := w.startAsAgent("ada")
	o2 := w.mustChain(conv2, "ada", chainBody("grace", 0, agentTarget("mia", 0)))
	wantAnswers(t, o2.Invitation, "grace:ignored/unavailable mia:pending ")
}

func TestChain_RevokeCancelsEveryOpenTarget_AndWithdrawsTheOffer(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada", "grace", "linus")
	conv, _, _ := w.startAsAgent("ada")
	o := w.mustChain(conv, "ada", chainBody("grace", 30, agentTarget("linus", 0)))
	if r := w.revoke(conv, o.ID, "ada"); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	inv := w.listed(conv, o.ID, "ada")
	wantAnswers(t, inv, "grace:canceled linus:canceled ")
	if len(w.pushed("ws-grace", "invitation.taken")) != 1 {
		t.Fatalf("the target whose offer was withdrawn was not told: %v", w.pushes("ws-grace"))
	}
	if inboxHas(w.inbox("linus"), o.ID) {
		t.Fatal("a revoked chain still reaches a queued target")
	}
}

func TestChain_BadInput_RefusedWithStableCodes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	conv, _, _ := w.startAsAgent("ada")
	for _, c := range []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"window too short", chainBody("grace", 29), 400, "invalid_after_seconds"},
		{"window too long", chainBody("grace", 3601), 400, "invalid_after_seconds"},
		{"fallback window too short", chainBody("grace", 0, agentTarget("linus", 10)), 400, "invalid_after_seconds"},
		{"four fallbacks", chainBody("grace", 0, agentTarget("linus", 0), agentTarget("mia", 0),
			map[string]any{"kind": "team", "id": "billing"}, map[string]any{"kind": "team", "id": "support"}), 400, "too_many_fallbacks"},
		{"a target twice", chainBody("grace", 0, agentTarget("grace", 0)), 400, "duplicate_target"},
		{"unknown kind", chainBody("grace", 0, map[string]any{"kind": "robot", "id": "x"}), 400, "invalid_fallback_target"},
		{"no id", chainBody("grace", 0, map[string]any{"kind": "agent"}), 400, "fallback_id_required"},
		{"bad id", chainBody("grace", 0, map[string]any{"kind": "agent", "id": "../x"}), 400, "invalid_id"},
		{"the inviter", chainBody("grace", 0, agentTarget("ada", 0)), 422, "cannot_invite_self"},
		{"unknown agent", chainBody("grace", 0, agentTarget("nobody", 0)), 404, "agent_not_found"},
		{"unknown team", chainBody("grace", 0, map[string]any{"kind": "team", "id": "nope"}), 404, "team_not_found"},
	} {
		r := w.inviteWith(conv, "ada", c.body)
		if r.Status != c.status || r.ErrorCode() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.Status, r.Body, c.status, c.code)
		}
	}
}

func agentAway(id string) directory.Agent {
	return directory.Agent{ID: id, Name: id, Status: directory.StatusAway}
}

// When the chain runs out, a forward ends as its last target did and comes back to the
// forwarder as §5 says, in both hand-over modes: never orphaned, never looping.
func TestChain_ForwardRunsOut_ComesBackToTheForwarder(t *testing.T) {
	t.Parallel()
	for _, mode := range []handover.Mode{handover.ModeOnAccept, handover.ModeImmediate} {
		for _, end := range []string{"declined", "expired"} {
			w := newWorld(t, mode)
			w.connect("ada", "grace", "linus")
			conv, _, _ := w.startAsAgent("ada")
			f := w.forwardChain(conv, "ada", 30, "grace", "linus")
			if r := w.decline(f.ID, "grace", "on a call"); r.Status != 204 {
				t.Fatalf("%s: decline by grace: %d %s", mode, r.Status, r.Body)
			}
			w.neverOrphaned(conv)
			if end == "declined" {
				if r := w.decline(f.ID, "linus", "off shift"); r.Status != 204 {
					t.Fatalf("%s: decline by linus: %d %s", mode, r.Status, r.Body)
				}
			} else {
				w.clock.Advance(31 * time.Second)
				w.sweep()
			}
			got := w.offer(f.ID)
			if string(got.Status) != end {
				t.Fatalf("%s %s: the forward is %s", mode, end, got.Status)
			}
			if end == "declined" {
				wantAnswers(t, got.Invitation, "grace:declined/on a call linus:declined/off shift ")
				if ds := w.pushed("ws-ada", "invitation.declined"); len(ds) == 0 || ds[len(ds)-1].Data["reason"] != "off shift" {
					t.Fatalf("%s: the forwarder was not told the last decline with its reason: %v", mode, ds)
				}
			} else {
				wantAnswers(t, got.Invitation, "grace:declined/on a call linus:ignored/timeout ")
				if len(w.pushed("ws-ada", "invitation.expired")) != 1 {
					t.Fatalf("%s: the forwarder was not told it expired", mode)
				}
			}
			st := w.state(conv)
			switch mode {
			case handover.ModeOnAccept:
				if st.Conversation.Assignee != "ada" || st.PendingForward != "" {
					t.Fatalf("on-accept %s: assignee %q pending %q, want ada and nothing", end, st.Conversation.Assignee, st.PendingForward)
				}
			case handover.ModeImmediate:
				ret := w.offer(st.PendingForward)
				if ret.Purpose != invitation.PurposeReturn || ret.TargetAgentID != "ada" || !inboxHas(w.inbox("ada"), ret.ID) {
					t.Fatalf("immediate %s: the conversation did not come back to ada: %+v", end, ret)
				}
			}
			w.neverOrphaned(conv)
		}
	}
}

// A team target's turn ends when every member declined; the next target's turn begins then.
func TestChain_TeamTargetMovesOnWhenEveryMemberDeclined(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada", "grace", "mia", "linus")
	conv, _, _ := w.startAsAgent("ada")
	resp := w.do("InviteTeamFunction", "POST", "/conversations/{id}/invitations/team", onConv(conv), map[string]any{
		"teamId": "billing", "fallback": []any{agentTarget("linus", 0)},
	}, w.bearer("ada"))
	if resp.Status != 201 {
		t.Fatalf("invite team: %d %s", resp.Status, resp.Body)
	}
	var o invitation.Offer
	resp.Decode(t, &o)
	if o.Targets[0].AfterSeconds != invitation.DefaultWindowSeconds {
		t.Fatalf("first window %d, want the default 120 with a fallback", o.Targets[0].AfterSeconds)
	}
	if r := w.decline(o.ID, "grace", ""); r.Status != 204 {
		t.Fatalf("grace: %d %s", r.Status, r.Body)
	}
	wantAnswers(t, w.listed(conv, o.ID, "ada"), "billing:pending linus:queued ")
	if r := w.decline(o.ID, "mia", "lunch"); r.Status != 204 {
		t.Fatalf("mia: %d %s", r.Status, r.Body)
	}
	wantAnswers(t, w.listed(conv, o.ID, "ada"), "billing:declined/lunch linus:pending ")
	if !inboxHas(w.inbox("linus"), o.ID) || inboxHas(w.inbox("mia"), o.ID) {
		t.Fatal("the offer did not move from the team to linus")
	}
}

// TestChain_QueuedTargetsSeeTheOfferWithItsContextAndTheirName (SPEC §9.2 with §9.4): when a
// chain's turn comes to a later target — by time, before any write moved it, or stored by
// the sweep — their inbox shows the offer with the context kept current by every message
// while it waited, named for them and for its inviter; the push that offers it carries the
// same context.
func TestChain_QueuedTargetsSeeTheOfferWithItsContextAndTheirName(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada", "grace", "linus", "mia")
	conv, _, visitor := w.startAsAgent("ada")
	w.say(conv, visitor, "my parcel is lost")
	body := chainBody("grace", 30, agentTarget("linus", 30))
	body["fallback"] = []any{agentTarget("linus", 30), map[string]any{"kind": "team", "id": "billing", "afterSeconds": 30}}
	o := w.mustChain(conv, "ada", body)
	w.say(conv, visitor, "still there?") // refreshes the offer and the queued targets' slots

	w.clock.Advance(30 * time.Second) // linus's turn, derived: nothing stored it yet
	e := w.entryOf("linus", o.ID)
	if e.To.Name != "Linus" || e.To.ID != "linus" || e.InvitedBy == nil || e.InvitedBy.Name != "Ada" {
		t.Errorf("linus's entry names: to %+v, invited by %+v", e.To, e.InvitedBy)
	}
	if got, want := texts(e.Context.RecentMessages), "Customer: my parcel is lost | Customer: still there?"; got != want || e.Context.Message != "can you take it?" || e.Context.Topic != "Order 42" {
		t.Errorf("linus sees context %s, want recent %q", mustJSON(t, e.Context), want)
	}
	if inboxHas(w.inbox("grace"), o.ID) || inboxHas(w.inbox("mia"), o.ID) {
		t.Fatal("the offer shows outside the inbox of the target whose turn it is")
	}

	w.sweep() // stores linus's turn; billing's slot stays
	if got := w.offer(o.ID); got.Stage != 1 || got.TargetName != "Linus" {
		t.Fatalf("stored stage %d named %q, want 1 Linus", got.Stage, got.TargetName)
	}
	created := w.pushed("ws-linus", conversation.EventInvitationCreated)
	if len(created) != 1 {
		t.Fatalf("linus got %d invitation.created pushes", len(created))
	}
	if ctx, _ := created[0].Data["context"].(map[string]any); ctx == nil || !strings.Contains(fmt.Sprint(ctx["recentMessages"]), "still there?") {
		t.Errorf("the push that offers it to linus carries context %v", created[0].Data["context"])
	}
	w.say(conv, visitor, "hello?") // refreshes the stored offer and billing's slot

	w.clock.Advance(30 * time.Second) // billing's turn, derived from the slot
	e = w.entryOf("mia", o.ID)
	if e.To.Name != "Billing" || e.To.Kind != invitation.TargetTeam {
		t.Errorf("mia's entry is addressed to %+v, want the Billing team", e.To)
	}
	if got := texts(e.Context.RecentMessages); !strings.HasSuffix(got, "Customer: hello?") {
		t.Errorf("billing's slot was not refreshed: %s", got)
	}
	if inboxHas(w.inbox("linus"), o.ID) {
		t.Fatal("linus still sees it after his window")
	}
	if r := w.accept(o.ID, "mia"); r.Status != 200 {
		t.Fatalf("accept by billing's member: %d %s", r.Status, r.Body)
	}
	for _, a := range []string{"grace", "linus", "mia"} {
		if inboxHas(w.inbox(a), o.ID) {
			t.Errorf("%s still sees the accepted offer", a)
		}
	}
	w.say(conv, visitor, "thanks") // no offer and no slot left to refresh
}
