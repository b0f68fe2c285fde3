package handover_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

func TestTeamInvitation_FirstAcceptWins(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	var members []string
	for i := range 20 {
		members = append(members, fmt.Sprintf("member%02d", i))
	}
	w.agents(members...)
	w.team("crowd", "Crowd", members...)
	w.connect(members...)
	convID, _, _ := w.startAsAgent("ada")

	resp := w.inviteTeam(convID, "ada", "crowd", "Anyone for a second opinion?")
	if resp.Status != 201 {
		t.Fatalf("invite team: %d %s", resp.Status, resp.Body)
	}
	var inv invitation.Offer
	resp.Decode(t, &inv)
	for _, m := range members {
		if got := w.pushed("ws-"+m, conversation.EventInvitationCreated); len(got) != 1 || got[0].Data["message"] != "Anyone for a second opinion?" {
			t.Fatalf("%s was not pushed the invitation with its message: %+v", m, got)
		}
	}

	var calls []func() apitest.Response
	for _, m := range members {
		calls = append(calls, func() apitest.Response { return w.accept(inv.ID, m) })
	}
	resps := concurrently(calls...)

	var winner string
	for i, r := range resps {
		switch {
		case r.Status == 200:
			if winner != "" {
				t.Fatalf("both %s and %s won", winner, members[i])
			}
			winner = members[i]
		case r.Status != 409 || r.ErrorCode() != "invitation_taken":
			t.Fatalf("%s: %d %s, want 409 invitation_taken", members[i], r.Status, r.Body)
		}
	}
	if winner == "" {
		t.Fatalf("nobody won: %v", statuses(resps))
	}
	v := w.view(convID, w.bearer(winner))
	joined := 0
	for _, p := range v.Participants {
		if slices.Contains(members, p.AgentID) {
			joined++
		}
	}
	if joined != 1 || v.Assignee != "ada" {
		t.Fatalf("%d members joined, assignee %q: %+v", joined, v.Assignee, v.Participants)
	}
	for _, m := range members {
		if m != winner && len(w.pushed("ws-"+m, conversation.EventInvitationTaken)) != 1 {
			t.Errorf("%s was not pushed invitation.taken", m)
		}
		if len(w.inbox(m)) != 0 {
			t.Errorf("%s still has it in the inbox", m)
		}
	}
	// The whole history is the accepter's to read.
	if h := w.history(convID, w.bearer(winner)); len(h) == 0 || h[0].Type != conversation.EventConversationStarted {
		t.Fatalf("the accepter does not see the history from the start: %+v", h)
	}
}

func TestAgentInvitation_AcceptJoinsAndTheInviterStays(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada", "grace")
	convID, _, _ := w.startAsAgent("ada")
	resp := w.inviteAgent(convID, "ada", "grace", "Can you look at this?")
	if resp.Status != 201 {
		t.Fatalf("invite: %d %s", resp.Status, resp.Body)
	}
	var inv invitation.Offer
	resp.Decode(t, &inv)
	in := w.inbox("grace")
	if len(in) != 1 || in[0].InvitationID != inv.ID || in[0].Topic != "Order 42" || in[0].InvitedBy == nil ||
		in[0].InvitedBy.Name != "Ada" || in[0].Message != "Can you look at this?" || in[0].To.Kind != invitation.TargetAgent {
		t.Fatalf("grace's inbox: %s", mustJSON(t, in))
	}
	if r := w.accept(inv.ID, "grace"); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	v := w.view(convID, w.bearer("ada"))
	if v.Assignee != "ada" || len(v.Participants) != 3 {
		t.Fatalf("after accept: %s", mustJSON(t, v))
	}
	if got := w.pushed("ws-ada", conversation.EventInvitationAccepted); len(got) != 1 {
		t.Fatalf("the inviter was not told: %+v", got)
	}
	if r := w.accept(inv.ID, "grace"); r.Status != 409 {
		t.Fatalf("second accept: %d %s", r.Status, r.Body)
	}
}

func TestAgentInvitation_DeclineTellsTheInviterWithTheReason(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada")
	convID, _, _ := w.startAsAgent("ada")
	var inv invitation.Offer
	w.inviteAgent(convID, "ada", "grace", "").Decode(t, &inv)
	if r := w.decline(inv.ID, "grace", "in a call"); r.Status != 204 {
		t.Fatalf("decline: %d %s", r.Status, r.Body)
	}
	got := w.pushed("ws-ada", conversation.EventInvitationDeclined)
	if len(got) != 1 || got[0].Data["reason"] != "in a call" || got[0].Data["final"] != true {
		t.Fatalf("inviter's push: %+v", got)
	}
	if o := w.offer(inv.ID); o.Status != invitation.StatusDeclined || o.Reason != "in a call" {
		t.Fatalf("invitation after decline: %+v", o)
	}
	if r := w.accept(inv.ID, "grace"); r.Status != 409 || r.ErrorCode() != "invitation_not_pending" {
		t.Fatalf("accept after decline: %d %s", r.Status, r.Body)
	}
}

func TestTeamInvitation_MemberDeclineHidesItUntilEveryMemberDeclined(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada")
	convID, _, _ := w.startAsAgent("ada")
	var inv invitation.Offer
	w.inviteTeam(convID, "ada", "billing", "invoice question").Decode(t, &inv)

	if r := w.decline(inv.ID, "grace", "busy"); r.Status != 204 {
		t.Fatalf("grace declines: %d %s", r.Status, r.Body)
	}
	if inboxHas(w.inbox("grace"), inv.ID) || !inboxHas(w.inbox("mia"), inv.ID) {
		t.Fatal("a member's decline must hide it from them only")
	}
	if o := w.offer(inv.ID); o.Status != invitation.StatusPending {
		t.Fatalf("after one of two declines: %s", o.Status)
	}
	if r := w.decline(inv.ID, "grace", "again"); r.Status != 409 || r.ErrorCode() != "already_declined" {
		t.Fatalf("declining twice: %d %s", r.Status, r.Body)
	}
	if r := w.decline(inv.ID, "mia", ""); r.Status != 204 {
		t.Fatalf("mia declines: %d %s", r.Status, r.Body)
	}
	if o := w.offer(inv.ID); o.Status != invitation.StatusDeclined || len(o.DeclinedBy) != 2 {
		t.Fatalf("after every member declined: %+v", o)
	}
	got := w.pushed("ws-ada", conversation.EventInvitationDeclined)
	if len(got) != 2 || got[0].Data["final"] != false || got[0].Data["reason"] != "busy" || got[1].Data["final"] != true {
		t.Fatalf("the inviter is told of every decline: %+v", got)
	}
}

func TestTeamInvitation_LastTwoMembersDecliningAtOnceEndIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	for i := range 10 {
		convID, _, _ := w.startAsAgent("ada")
		var inv invitation.Offer
		w.inviteTeam(convID, "ada", "billing", "").Decode(t, &inv)
		resps := concurrently(
			func() apitest.Response { return w.decline(inv.ID, "grace", "") },
			func() apitest.Response { return w.decline(inv.ID, "mia", "") },
		)
		if resps[0].Status != 204 || resps[1].Status != 204 {
			t.Fatalf("iteration %d: %d %s / %d %s", i, resps[0].Status, resps[0].Body, resps[1].Status, resps[1].Body)
		}
		if o := w.offer(inv.ID); o.Status != invitation.StatusDeclined {
			t.Fatalf("iteration %d: both members declined, invitation is %s", i, o.Status)
		}
	}
}

func TestInvite_RefusesWithClearErrors(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.team("nobody", "Nobody")
	convID, _, visitor := w.startAsAgent("ada")
	var first invitation.Offer
	w.inviteAgent(convID, "ada", "linus", "").Decode(t, &first)
	if r := w.accept(first.ID, "linus"); r.Status != 200 {
		t.Fatal(r.Status)
	}
	ended, _, _ := w.startAsAgent("ada")
	if r := w.do("EndConversationFunction", "POST", "/conversations/{id}/end", onConv(ended), nil, w.bearer("ada")); r.Status != 204 {
		t.Fatalf("end: %d %s", r.Status, r.Body)
	}
	w.inviteAgent(convID, "ada", "grace", "").Decode(t, &invitation.Offer{})

	cases := []struct {
		name   string
		resp   apitest.Response
		status int
		code   string
	}{
		{"already in", w.inviteAgent(convID, "ada", "linus", ""), 409, "already_participant"},
		{"oneself", w.inviteAgent(convID, "ada", "ada", ""), 422, "cannot_invite_self"},
		{"invited twice", w.inviteAgent(convID, "ada", "grace", ""), 409, "already_invited"},
		{"unknown agent", w.inviteAgent(convID, "ada", "nemo", ""), 404, "agent_not_found"},
		{"unknown team", w.inviteTeam(convID, "ada", "nemo", ""), 404, "team_not_found"},
		{"empty team", w.inviteTeam(convID, "ada", "nobody", ""), 422, "team_empty"},
		{"ended", w.inviteAgent(ended, "ada", "grace", ""), 409, "conversation_ended"},
		{"not a participant", w.inviteAgent(convID, "mia", "grace", ""), 403, "not_participant"},
		{"visitor", w.do("InviteAgentFunction", "POST", "/conversations/{id}/invitations/agent", onConv(convID),
			map[string]any{"agentId": "grace"}, visitor), 403, "agent_only"},
		{"message too long", w.inviteAgent(convID, "ada", "mia", strings.Repeat("x", invitation.MaxMessageLen+1)), 400, "message_too_long"},
		{"bad id", w.inviteAgent(convID, "ada", "../x", ""), 400, "invalid_id"},
	}
	for _, c := range cases {
		if c.resp.Status != c.status || c.resp.ErrorCode() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, c.resp.Status, c.resp.Body, c.status, c.code)
		}
	}
}

func TestEnd_RevokesPendingAgentTeamAndForwardInvitations(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	convID, _, _ := w.startAsAgent("ada")
	w.connect("mia", "grace", "linus")
	var agentInv, teamInv invitation.Offer
	w.inviteAgent(convID, "ada", "mia", "").Decode(t, &agentInv)
	w.inviteTeam(convID, "ada", "billing", "").Decode(t, &teamInv)
	fwd := w.mustForward(convID, "ada", "agent", "linus", "please take over")
	if r := w.do("EndConversationFunction", "POST", "/conversations/{id}/end", onConv(convID), nil, w.bearer("ada")); r.Status != 204 {
		t.Fatalf("end: %d %s", r.Status, r.Body)
	}
	if r := w.accept(agentInv.ID, "mia"); r.Status != 409 { // before the cleanup: the status decides
		t.Fatalf("accepting an invitation of an ended conversation: %d %s", r.Status, r.Body)
	}
	w.api.AwaitStream() // the end's cleanup follows its commit through the stream
	for _, id := range []string{agentInv.ID, teamInv.ID, fwd.ID} {
		if o := w.offer(id); o.Status != invitation.StatusRevoked {
			t.Errorf("%s (%s) after the end: %s", id, o.Kind, o.Status)
		}
	}
	// Each addressee is told the offer left their inbox; they were never in the conversation,
	// so conversation.ended does not reach them.
	withdrawn := map[string]string{"mia": agentInv.ID, "grace": teamInv.ID, "linus": fwd.ID}
	for _, a := range []string{"mia", "grace", "linus"} {
		if in := w.inbox(a); len(in) != 0 {
			t.Errorf("%s's inbox after the end: %s", a, mustJSON(t, in))
		}
		var told []string
		for _, m := range w.pushed("ws-"+a, conversation.EventInvitationTaken) {
			if m.Data["reason"] == invitation.ReasonConversationEnded {
				told = append(told, fmt.Sprint(m.Data["invitationId"]))
			}
		}
		if !slices.Contains(told, withdrawn[a]) {
			t.Errorf("%s was not told %s left their inbox: %v", a, withdrawn[a], told)
		}
	}
	if r := w.accept(fwd.ID, "linus"); r.Status != 409 {
		t.Fatalf("accepting a forward of an ended conversation: %d %s", r.Status, r.Body)
	}
}
