package handover_test

import (
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// Races of fallback chains: real concurrent requests against DynamoDB Local, on Lambdas whose
// clocks disagree by seconds, at the moment a window ends.

func (w *world) forwardChain(convID, by string, after int, to, then string) invitation.Offer {
	w.t.Helper()
	resp := w.do("ForwardConversationFunction", "POST", "/conversations/{id}/forward", onConv(convID), map[string]any{
		"to": map[string]any{"kind": "agent", "id": to}, "afterSeconds": after,
		"fallback": []any{agentTarget(then, after)},
	}, w.bearer(by))
	if resp.Status != 201 {
		w.t.Fatalf("forward chain: %d %s", resp.Status, resp.Body)
	}
	var o invitation.Offer
	resp.Decode(w.t, &o)
	return o
}

// toWindowEnd moves the clock to just before the current window of the offer ends.
func (w *world) toWindowEnd(id string) {
	w.clock.Advance(w.offer(id).ExpiresAt.Sub(w.clock.Now()) - time.Millisecond)
}

// Accept racing a hop: the first target accepts as its window ends while the second target
// accepts and the sweep moves the chain on. Exactly one accept wins; the chain says who.
func TestChainRace_AcceptRacingAHop_OneWinnerTheChainAgrees(t *testing.T) {
	t.Parallel()
	for _, mode := range []handover.Mode{handover.ModeOnAccept, handover.ModeImmediate} {
		w := newQuietWorld(t, mode)
		w.connect("ada", "grace", "linus")
		w.clock.skew(-2*time.Second, 0, 2*time.Second)
		wins := map[string]int{}
		for i := range raceIterations {
			conv, _, _ := w.startAsAgent("ada")
			f := w.forwardChain(conv, "ada", 30, "grace", "linus")
			w.toWindowEnd(f.ID)
			resps := concurrently(
				func() apitest.Response { return w.accept(f.ID, "grace") },
				func() apitest.Response { return w.accept(f.ID, "linus") },
				func() apitest.Response { w.sweep(); return apitest.Response{Status: 200} },
			)
			grace, linus := resps[0], resps[1]
			if grace.Status >= 500 || linus.Status >= 500 || (grace.Status == 200 && linus.Status == 200) {
				t.Fatalf("%s round %d: grace %d %s, linus %d %s", mode, i, grace.Status, grace.Body, linus.Status, linus.Body)
			}
			o := w.offer(f.ID)
			var winner, want string
			switch {
			case grace.Status == 200:
				winner, want = "grace", "grace:accepted linus:canceled "
			case linus.Status == 200:
				winner, want = "linus", "grace:ignored/timeout linus:accepted "
			default:
				// Linus asked on a clock still inside grace's window, grace on one past it:
				// neither may take it, and the chain waits on linus.
				wins["nobody"]++
				seen := o.AsOf(o.Deadline().Add(-time.Second)) // past every clock's view of grace's window
				if seen.Status != invitation.StatusPending || answers(seen) != "grace:ignored/timeout linus:pending " {
					t.Fatalf("%s round %d: both refused but the forward is %s, %q", mode, i, seen.Status, answers(seen))
				}
				w.neverOrphaned(conv)
				continue
			}
			wins[winner]++
			if o.Status != invitation.StatusAccepted || o.ResolvedBy != winner || answers(o.Invitation) != want {
				t.Fatalf("%s round %d: %s won but the forward is %s by %s, %q", mode, i, winner, o.Status, o.ResolvedBy, answers(o.Invitation))
			}
			if st := w.state(conv); st.Conversation.Assignee != winner || st.PendingForward != "" {
				t.Fatalf("%s round %d: assignee %q pending %q, want %s", mode, i, st.Conversation.Assignee, st.PendingForward, winner)
			}
			w.neverOrphaned(conv)
		}
		t.Logf("%s: winners %v", mode, wins)
	}
}

// A decline racing the window's end: either the decline counts (declined, with its reason)
// or the window ran out first (ignored, and the decline is refused); the next target is
// offered exactly once either way.
func TestChainRace_DeclineRacingTheWindowsEnd_OneOrTheOther(t *testing.T) {
	t.Parallel()
	w := newQuietWorld(t, handover.ModeOnAccept)
	w.connect("ada", "grace", "linus")
	w.clock.skew(-2*time.Second, 0, 2*time.Second)
	outcomes := map[string]int{}
	for i := range raceIterations {
		conv, _, _ := w.startAsAgent("ada")
		o := w.mustChain(conv, "ada", chainBody("grace", 30, agentTarget("linus", 60)))
		w.toWindowEnd(o.ID)
		resps := concurrently(
			func() apitest.Response { return w.decline(o.ID, "grace", "busy") },
			func() apitest.Response { w.sweep(); return apitest.Response{Status: 200} },
		)
		d := resps[0]
		if d.Status >= 500 {
			t.Fatalf("round %d: decline %d %s", i, d.Status, d.Body)
		}
		// A refused decline may leave the move to the next sweep (every clock that looked
		// still saw grace's window open): read the chain past every clock's view of it.
		got := w.offer(o.ID)
		seen := got.AsOf(o.ExpiresAt.Add(3 * time.Second))
		want := "grace:ignored/timeout linus:pending "
		if d.Status < 300 {
			want = "grace:declined/busy linus:pending "
		}
		outcomes[want]++
		if seen.Status != invitation.StatusPending || answers(seen) != want || (d.Status < 300 && got.Stage != 1) {
			t.Fatalf("round %d: decline %d %s but the chain is %s at %d, %q", i, d.Status, d.Body, got.Status, got.Stage, answers(seen))
		}
		created := 0
		for _, e := range w.history(conv, w.bearer("ada")) {
			if e.Type == "invitation.created" && e.Data["invitationId"] == o.ID && e.Data["targetAgentId"] == "linus" {
				created++
			}
		}
		if created != got.Stage {
			t.Fatalf("round %d: linus was offered it %d times, stored stage %d", i, created, got.Stage)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// Two members of a team in a chain accept at once, as the team's window ends: one wins.
func TestChainRace_TwoTeamMembersAccepting_OneWins(t *testing.T) {
	t.Parallel()
	w := newQuietWorld(t, handover.ModeOnAccept)
	w.connect("ada", "grace", "mia", "linus")
	w.clock.skew(-2*time.Second, 0, 2*time.Second)
	for i := range raceIterations {
		conv, _, _ := w.startAsAgent("ada")
		resp := w.do("InviteTeamFunction", "POST", "/conversations/{id}/invitations/team", onConv(conv), map[string]any{
			"teamId": "billing", "afterSeconds": 30, "fallback": []any{agentTarget("linus", 0)},
		}, w.bearer("ada"))
		if resp.Status != 201 {
			t.Fatalf("invite team: %d %s", resp.Status, resp.Body)
		}
		var o invitation.Offer
		resp.Decode(t, &o)
		w.toWindowEnd(o.ID)
		resps := concurrently(
			func() apitest.Response { return w.accept(o.ID, "grace") },
			func() apitest.Response { return w.accept(o.ID, "mia") },
			func() apitest.Response { w.sweep(); return apitest.Response{Status: 200} },
		)
		if ok := statuses(resps[:2])[200]; ok > 1 {
			t.Fatalf("round %d: %d members accepted", i, ok)
		}
		for _, r := range resps[:2] {
			if r.Status >= 500 {
				t.Fatalf("round %d: %d %s", i, r.Status, r.Body)
			}
		}
		got := w.offer(o.ID)
		accepted := statuses(resps[:2])[200] == 1
		if accepted != (got.Status == invitation.StatusAccepted) {
			t.Fatalf("round %d: an accept answered %v but the invitation is %s", i, accepted, got.Status)
		}
		if seen := got.AsOf(o.ExpiresAt.Add(3 * time.Second)); !accepted && (seen.Status != invitation.StatusPending || seen.TargetAgentID != "linus") {
			t.Fatalf("round %d: nobody won, yet past the team's window the chain is %s at %s (%s)", i, seen.Status, seen.TargetAgentID, answers(seen))
		}
	}
}
