package handover_test

import (
	"fmt"
	"testing"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
)

const raceIterations = 20

// A forward racing with the forwarder's own leave: whichever wins, the forwarder is out and
// the customer is not alone — the forward is pending, or (the leave won) the conversation
// was handed to its team.
func TestForward_RacingTheForwardersLeave_NeverOrphans(t *testing.T) {
	t.Parallel()
	for _, mode := range []handover.Mode{handover.ModeOnAccept, handover.ModeImmediate} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			w := newQuietWorld(t, mode)
			outcomes := map[string]int{}
			for i := range raceIterations {
				convID, _, _ := w.startAsAgent("ada")
				resps := concurrently(
					func() apitest.Response { return w.forward(convID, "ada", "agent", "grace", "over to you") },
					func() apitest.Response { return w.leave(convID, w.bearer("ada")) },
				)
				fwd, left := resps[0].Status, resps[1].Status
				if (fwd != 201 && fwd != 403) || (left != 204 && left != 403) || (fwd != 201 && left != 204) {
					t.Fatalf("iteration %d: forward %d %s, leave %d %s", i, fwd, resps[0].Body, left, resps[1].Body)
				}
				outcomes[fmt.Sprintf("forward %d, leave %d", fwd, left)]++
				w.neverOrphaned(convID)
				if _, err := w.st.Participant(t.Context(), convID, conversation.AgentParticipantID("ada")); !store.IsNotFound(err) {
					t.Fatalf("iteration %d: the forwarder is still in (%v)", i, err)
				}
				st := w.state(convID)
				if fwd == 201 && w.offer(st.PendingForward).TargetAgentID != "grace" {
					t.Fatalf("iteration %d: the forward succeeded but the conversation waits on %+v", i, w.offer(st.PendingForward))
				}
			}
			t.Logf("outcomes: %v", outcomes)
		})
	}
}

// A forward racing with its own revocation, its accept, and a newer forward: exactly one
// thing happens to it, and the conversation ends in a consistent state.
func TestForward_RacingRevokeAcceptAndANewerForward_ConsistentState(t *testing.T) {
	t.Parallel()
	w := newQuietWorld(t, handover.ModeOnAccept)
	outcomes := map[string]int{}
	for i := range raceIterations {
		convID, _, _ := w.startAsAgent("ada")
		f1 := w.mustForward(convID, "ada", "agent", "grace", "first")
		resps := concurrently(
			func() apitest.Response { return w.revoke(convID, f1.ID, "ada") },
			func() apitest.Response { return w.accept(f1.ID, "grace") },
			func() apitest.Response { return w.forward(convID, "ada", "agent", "linus", "second") },
		)
		revoked, accepted, forwarded := resps[0].Status == 200, resps[1].Status == 200, resps[2].Status == 201
		for j, r := range resps {
			if r.Status >= 500 {
				t.Fatalf("iteration %d: call %d answered %d %s", i, j, r.Status, r.Body)
			}
		}
		if revoked && accepted {
			t.Fatalf("iteration %d: the forward was both revoked and accepted", i)
		}
		o := w.offer(f1.ID)
		st := w.state(convID)
		switch o.Status {
		case invitation.StatusAccepted:
			if !accepted || forwarded || st.Conversation.Assignee != "grace" {
				t.Fatalf("iteration %d: accepted, but revoke=%v forward=%v assignee=%q", i, revoked, forwarded, st.Conversation.Assignee)
			}
			if _, err := w.st.Participant(t.Context(), convID, conversation.AgentParticipantID("ada")); !store.IsNotFound(err) {
				t.Fatalf("iteration %d: the forwarder is still in after the accept", i)
			}
			outcomes["accepted"]++
		case invitation.StatusRevoked:
			if accepted || st.Conversation.Assignee != "ada" || (!revoked && !forwarded) {
				t.Fatalf("iteration %d: revoked (%q), but revoke=%v accept=%v forward=%v assignee=%q", i, o.Reason, revoked, accepted, forwarded, st.Conversation.Assignee)
			}
			if revoked == (o.Reason == "superseded") {
				t.Fatalf("iteration %d: revoke=%v but the reason is %q", i, revoked, o.Reason)
			}
			outcomes["revoked:"+o.Reason]++
		default:
			t.Fatalf("iteration %d: the forward ended %s", i, o.Status)
		}
		if forwarded != (st.PendingForward != "") {
			t.Fatalf("iteration %d: forward=%v but the conversation waits on %q", i, forwarded, st.PendingForward)
		}
		w.neverOrphaned(convID)
	}
	t.Logf("outcomes: %v", outcomes)
}

// An accept racing with the sweep that expires the same forward: one or the other.
func TestForward_RacingItsExpiry_OneOrTheOther(t *testing.T) {
	t.Parallel()
	w := newQuietWorld(t, handover.ModeImmediate)
	for i := range raceIterations {
		convID, _, _ := w.startAsAgent("ada")
		f := w.mustForward(convID, "ada", "agent", "grace", "")
		o := w.offer(f.ID)
		// Just at the deadline: the accept may still be in time, the sweep may not yet.
		w.clock.Advance(o.ExpiresAt.Sub(w.clock.Now()) - 1)
		resps := concurrently(
			func() apitest.Response { return w.accept(f.ID, "grace") },
			func() apitest.Response { w.sweep(); return apitest.Response{Status: 200} },
		)
		if resps[0].Status >= 500 {
			t.Fatalf("iteration %d: accept %d %s", i, resps[0].Status, resps[0].Body)
		}
		w.clock.Advance(invitation.DefaultForwardTimeout)
		w.sweep()
		if got := w.offer(f.ID).Status; (resps[0].Status == 200) != (got == invitation.StatusAccepted) {
			t.Fatalf("iteration %d: accept answered %d but the forward is %s", i, resps[0].Status, got)
		}
		w.neverOrphaned(convID)
	}
}
