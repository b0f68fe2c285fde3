package handover_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

const secretMessage = "VIP customer, angry about invoice 4711"

func TestForward_OnAccept_AccepterHoldsItAndTheForwarderLosesAccessAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada", "grace")
	convID, visitorID, visitor := w.startAsAgent("ada")
	w.connectVisitor(visitorID)

	f := w.mustForward(convID, "ada", "agent", "grace", secretMessage)
	// Until someone accepts, the forwarder stays responsible.
	if v := w.view(convID, w.bearer("ada")); v.Assignee != "ada" {
		t.Fatalf("before the accept the assignee is %q", v.Assignee)
	}
	in := w.inbox("grace")
	if len(in) != 1 || in[0].InvitationID != f.ID || in[0].Kind != invitation.KindForward || in[0].Message != secretMessage {
		t.Fatalf("grace's inbox: %s", mustJSON(t, in))
	}
	if got := w.pushed("ws-grace", conversation.EventInvitationCreated); len(got) != 1 {
		t.Fatalf("grace was not pushed the forward: %+v", w.pushes("ws-grace"))
	}

	seenByAda := len(w.pushes("ws-ada"))
	if r := w.accept(f.ID, "grace"); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	v := w.view(convID, w.bearer("grace"))
	if v.Assignee != "grace" || slices.ContainsFunc(v.Participants, func(p conversation.Participant) bool { return p.AgentID == "ada" }) {
		t.Fatalf("after the accept: %s", mustJSON(t, v))
	}
	ada := w.bearer("ada")
	checks := map[string]int{
		"get":     w.do("GetConversationFunction", "GET", "/conversations/{id}", onConv(convID), nil, ada).Status,
		"history": w.do("ListEventsFunction", "GET", "/conversations/{id}/events", onConv(convID), nil, ada).Status,
		"message": w.do("PostMessageFunction", "POST", "/conversations/{id}/messages", onConv(convID), map[string]any{"text": "still here?"}, ada).Status,
		"invite":  w.inviteAgent(convID, "ada", "linus", "").Status,
		"forward": w.forward(convID, "ada", "agent", "linus", "").Status,
	}
	for action, status := range checks {
		if status != 403 {
			t.Errorf("the forwarder's %s after the accept: %d, want 403", action, status)
		}
	}
	// Life goes on in the conversation; the forwarder hears nothing of it.
	if r := w.do("PostMessageFunction", "POST", "/conversations/{id}/messages", onConv(convID), map[string]any{"text": "hello grace"}, visitor); r.Status != 201 {
		t.Fatal(r.Status)
	}
	if r := w.do("PostMessageFunction", "POST", "/conversations/{id}/messages", onConv(convID), map[string]any{"text": "hi!"}, w.bearer("grace")); r.Status != 201 {
		t.Fatal(r.Status)
	}
	if got := w.pushes("ws-ada"); len(got) != seenByAda {
		t.Fatalf("the forwarder was pushed %d messages after the accept: %+v", len(got)-seenByAda, got[seenByAda:])
	}
	types := eventTypes(w.history(convID, w.bearer("grace")))
	for _, want := range []string{conversation.EventConversationForwarded, conversation.EventParticipantJoined,
		conversation.EventConversationAssigned, conversation.EventInvitationAccepted, conversation.EventParticipantLeft} {
		if !slices.Contains(types, want) {
			t.Errorf("history lacks %s: %v", want, types)
		}
	}
	if got := w.pushed("ws-visitor", conversation.EventConversationAssigned); len(got) != 1 || got[0].Data["displayName"] != "Grace" {
		t.Errorf("the visitor was not told who took over: %+v", got)
	}
}

func TestForward_TheVisitorSeesOnlyANeutralNotice(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	convID, visitorID, visitor := w.startAsAgent("ada")
	w.connectVisitor(visitorID)
	f := w.mustForward(convID, "ada", "team", "billing", secretMessage)
	if r := w.accept(f.ID, "mia"); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	hist := w.history(convID, visitor)
	for _, e := range hist {
		if strings.Contains(mustJSON(t, e), secretMessage) || e.Audience != conversation.AudienceEveryone {
			t.Fatalf("the visitor's history shows %s: %s", e.Type, mustJSON(t, e))
		}
	}
	w.api.AwaitStream()
	for _, raw := range w.api.Push.Raw("ws-visitor") {
		if strings.Contains(string(raw), secretMessage) || strings.Contains(string(raw), "invitation.") {
			t.Fatalf("the visitor was pushed %s", raw)
		}
	}
	notice := w.pushed("ws-visitor", conversation.EventConversationForwarded)
	if len(notice) != 1 || notice[0].Data["to"] != "Billing" || len(notice[0].Data) != 2 {
		t.Fatalf("the visitor's notice: %+v", notice)
	}
	if joined := w.pushed("ws-visitor", conversation.EventParticipantJoined); len(joined) != 1 || joined[0].Data["displayName"] != "Mia" {
		t.Fatalf("the visitor was not told who joined: %+v", joined)
	}
	// Agents have the whole story, message included.
	if !strings.Contains(mustJSON(t, w.history(convID, w.bearer("mia"))), secretMessage) {
		t.Fatal("the agents' history lacks the forward's message")
	}
}

func TestForward_ANewerForwardReplacesTheOlder(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("grace")
	convID, _, _ := w.startAsAgent("ada")
	first := w.mustForward(convID, "ada", "agent", "grace", "first")
	second := w.mustForward(convID, "ada", "agent", "linus", "second")
	if o := w.offer(first.ID); o.Status != invitation.StatusRevoked || o.Reason != "superseded" {
		t.Fatalf("the older forward: %s %q", o.Status, o.Reason)
	}
	if len(w.inbox("grace")) != 0 || !inboxHas(w.inbox("linus"), second.ID) {
		t.Fatal("the inboxes do not show only the newer forward")
	}
	if got := w.pushed("ws-grace", conversation.EventInvitationRevoked); len(got) != 1 || got[0].Data["reason"] != "superseded" {
		t.Fatalf("grace was not told the forward was withdrawn: %+v", got)
	}
	if r := w.accept(first.ID, "grace"); r.Status != 409 || r.ErrorCode() != "invitation_not_pending" {
		t.Fatalf("accepting the replaced forward: %d %s", r.Status, r.Body)
	}
	if st := w.state(convID); st.PendingForward != second.ID {
		t.Fatalf("the conversation waits on %q, want %q", st.PendingForward, second.ID)
	}
	w.neverOrphaned(convID)
}

func TestForward_RefusesTheWrongForwardsAndAnswers(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	convID, _, visitor := w.startAsAgent("ada")
	type check struct {
		name   string
		resp   apitest.Response
		status int
		code   string
	}
	checks := []check{
		{"to oneself", w.forward(convID, "ada", "agent", "ada", ""), 422, "cannot_forward_to_self"},
		{"not a participant", w.forward(convID, "grace", "agent", "linus", ""), 403, "not_participant"},
		{"visitor", w.do("ForwardConversationFunction", "POST", "/conversations/{id}/forward", onConv(convID),
			map[string]any{"to": map[string]any{"kind": "agent", "id": "linus"}}, visitor), 403, "agent_only"},
		{"bad kind", w.forward(convID, "ada", "robot", "linus", ""), 400, "invalid_forward_target"},
		{"unknown agent", w.forward(convID, "ada", "agent", "nemo", ""), 404, "agent_not_found"},
		{"unknown team", w.forward(convID, "ada", "team", "nemo", ""), 404, "team_not_found"},
	}
	// Forwarding to one's own team: the forwarder never answers their own forward.
	f := w.mustForward(convID, "ada", "team", "support", "")
	if inboxHas(w.inbox("ada"), f.ID) {
		t.Error("the forwarder's inbox shows their own forward")
	}
	checks = append(checks,
		check{"own forward", w.accept(f.ID, "ada"), 409, "own_forward"},
		check{"not a member", w.accept(f.ID, "mia"), 403, "not_invited"},
		check{"not a member declines", w.decline(f.ID, "mia", ""), 403, "not_invited"},
		check{"unknown invitation", w.accept("inv_nothing", "grace"), 404, "invitation_not_found"},
	)
	for _, c := range checks {
		if c.resp.Status != c.status || c.resp.ErrorCode() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, c.resp.Status, c.resp.Body, c.status, c.code)
		}
	}
}

func TestForward_OnAccept_DeclinedComesBackToTheForwarder(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada")
	convID, _, _ := w.startAsAgent("ada")
	f := w.mustForward(convID, "ada", "agent", "grace", "please")
	if r := w.decline(f.ID, "grace", "off in 5 minutes"); r.Status != 204 {
		t.Fatalf("decline: %d %s", r.Status, r.Body)
	}
	got := w.pushed("ws-ada", conversation.EventInvitationDeclined)
	if len(got) != 1 || got[0].Data["reason"] != "off in 5 minutes" {
		t.Fatalf("the forwarder's push: %+v", got)
	}
	st := w.state(convID)
	if st.Conversation.Assignee != "ada" || st.PendingForward != "" {
		t.Fatalf("after the decline: %+v", st)
	}
	// The forwarder can act: forward again.
	w.mustForward(convID, "ada", "agent", "linus", "")
	w.neverOrphaned(convID)
}

func TestForward_Immediate_TheForwarderLeavesAndADeclineReturnsIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeImmediate)
	w.connect("ada")
	convID, _, _ := w.startAsAgent("ada")
	f := w.mustForward(convID, "ada", "agent", "grace", "please take it")
	if r := w.do("GetConversationFunction", "GET", "/conversations/{id}", onConv(convID), nil, w.bearer("ada")); r.Status != 403 {
		t.Fatalf("the forwarder right after an immediate forward: %d", r.Status)
	}
	st := w.state(convID)
	if st.Conversation.Assignee != "" || st.PendingForward != f.ID {
		t.Fatalf("after an immediate forward: %+v", st)
	}
	w.neverOrphaned(convID)

	if r := w.decline(f.ID, "grace", "not my topic"); r.Status != 204 {
		t.Fatalf("decline: %d %s", r.Status, r.Body)
	}
	w.neverOrphaned(convID)
	in := w.inbox("ada")
	if len(in) != 1 || in[0].Purpose != invitation.PurposeReturn || in[0].ReturnedBecause != invitation.ReturnedDeclined ||
		in[0].ReturnedReason != "not my topic" || in[0].Message != "please take it" {
		t.Fatalf("the forwarder's inbox: %s", mustJSON(t, in))
	}
	if got := w.pushed("ws-ada", conversation.EventInvitationDeclined); len(got) != 1 || got[0].Data["reason"] != "not my topic" {
		t.Fatalf("the forwarder was not pushed the decline: %+v", w.pushes("ws-ada"))
	}
	if got := w.pushed("ws-ada", conversation.EventInvitationCreated); len(got) != 1 || got[0].Data["purpose"] != "return" {
		t.Fatalf("the forwarder was not pushed the return: %+v", got)
	}
	// A returned conversation is taken back, not declined.
	if r := w.decline(in[0].InvitationID, "ada", ""); r.Status != 409 || r.ErrorCode() != "offer_not_declinable" {
		t.Fatalf("declining the return: %d %s", r.Status, r.Body)
	}
	if r := w.accept(in[0].InvitationID, "ada"); r.Status != 200 {
		t.Fatalf("taking it back: %d %s", r.Status, r.Body)
	}
	if v := w.view(convID, w.bearer("ada")); v.Assignee != "ada" {
		t.Fatalf("after taking it back: %s", mustJSON(t, v))
	}
}

func TestForward_Immediate_AcceptAssignsTheAccepter(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeImmediate)
	convID, _, _ := w.startAsAgent("ada")
	f := w.mustForward(convID, "ada", "team", "billing", "")
	if r := w.accept(f.ID, "grace"); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	if v := w.view(convID, w.bearer("grace")); v.Assignee != "grace" {
		t.Fatalf("after the accept: %s", mustJSON(t, v))
	}
	w.neverOrphaned(convID)
}

func TestForward_UnansweredComesBackWhenItTimesOut(t *testing.T) {
	t.Parallel()
	for _, mode := range []handover.Mode{handover.ModeOnAccept, handover.ModeImmediate} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, mode)
			w.connect("ada", "grace")
			convID, _, _ := w.startAsAgent("ada")
			f := w.mustForward(convID, "ada", "agent", "grace", "")
			w.clock.Advance(invitation.DefaultForwardTimeout + time.Second)

			// Read time: expired at once, whether or not the sweep has run.
			if len(w.inbox("grace")) != 0 {
				t.Fatal("an expired forward is still in the inbox")
			}
			if rep := w.sweep(); rep.Expired != 1 {
				t.Fatalf("sweep: %+v", rep)
			}
			if o := w.offer(f.ID); o.Status != invitation.StatusExpired {
				t.Fatalf("after the sweep: %s", o.Status)
			}
			if got := w.pushed("ws-ada", conversation.EventInvitationExpired); len(got) != 1 {
				t.Fatalf("the forwarder was not pushed the expiry: %+v", w.pushes("ws-ada"))
			}
			if got := w.pushed("ws-grace", conversation.EventInvitationExpired); len(got) != 1 {
				t.Fatalf("the target was not pushed the expiry: %+v", w.pushes("ws-grace"))
			}
			if r := w.accept(f.ID, "grace"); r.Status != 410 || r.ErrorCode() != "invitation_expired" {
				t.Fatalf("accepting an expired forward: %d %s", r.Status, r.Body)
			}
			w.neverOrphaned(convID)
			st := w.state(convID)
			switch mode {
			case handover.ModeOnAccept:
				if st.Conversation.Assignee != "ada" || st.PendingForward != "" {
					t.Fatalf("on-accept after the time-out: %+v", st)
				}
			case handover.ModeImmediate:
				in := w.inbox("ada")
				if len(in) != 1 || in[0].ReturnedBecause != invitation.ReturnedExpired || st.PendingForward != in[0].InvitationID {
					t.Fatalf("immediate after the time-out: %+v / %s", st, mustJSON(t, in))
				}
			}
		})
	}
}

func TestForward_AcceptAfterTheTimeIsGoneEvenBeforeTheSweep(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeImmediate)
	convID, _, _ := w.startAsAgent("ada")
	f := w.mustForward(convID, "ada", "agent", "grace", "")
	w.clock.Advance(invitation.DefaultForwardTimeout)
	if r := w.accept(f.ID, "grace"); r.Status != 410 || r.ErrorCode() != "invitation_expired" {
		t.Fatalf("accept at the deadline: %d %s", r.Status, r.Body)
	}
	// The refused accept brought it back at once.
	if in := w.inbox("ada"); len(in) != 1 || in[0].Purpose != invitation.PurposeReturn {
		t.Fatalf("the forwarder's inbox: %s", mustJSON(t, in))
	}
	w.neverOrphaned(convID)
}

func TestSweep_ExpiresByTheDueIndexAndPushes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada")
	convID, _, _ := w.startAsAgent("ada")
	var inv, later invitation.Offer
	w.inviteAgent(convID, "ada", "grace", "").Decode(t, &inv)
	w.clock.Advance(30 * time.Minute)
	w.inviteTeam(convID, "ada", "billing", "").Decode(t, &later)
	if rep := w.sweep(); rep.Expired != 0 {
		t.Fatalf("nothing is due yet: %+v", rep)
	}
	w.clock.Advance(31 * time.Minute)
	if rep := w.sweep(); rep.Expired != 1 {
		t.Fatalf("one is due: %+v", rep)
	}
	if o := w.offer(inv.ID); o.Status != invitation.StatusExpired {
		t.Fatalf("the due one: %s", o.Status)
	}
	if o := w.offer(later.ID); o.Status != invitation.StatusPending {
		t.Fatalf("the later one: %s", o.Status)
	}
	if got := w.pushed("ws-ada", conversation.EventInvitationExpired); len(got) != 1 || got[0].Data["invitationId"] != inv.ID {
		t.Fatalf("the inviter's push: %+v", got)
	}
	if rep := w.sweep(); rep.Expired != 0 {
		t.Fatalf("a second sweep found more: %+v", rep)
	}
}

func TestSweep_RunsFromItsScheduledHandler(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	convID, _, _ := w.startAsAgent("ada")
	f := w.mustForward(convID, "ada", "agent", "grace", "")
	w.clock.Advance(time.Hour)
	out := invokeSweep(t, w)
	if out.Expired != 1 || w.offer(f.ID).Status != invitation.StatusExpired {
		t.Fatalf("scheduled sweep: %+v", out)
	}
}

func eventTypes(events []conversation.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}

// invokeSweep runs the scheduled function's handler as EventBridge would.
func invokeSweep(t *testing.T, w *world) handover.SweepReport {
	t.Helper()
	h := handlers.ExpireInvitations(w.api.Deps)
	rep, err := h(t.Context(), events.EventBridgeEvent{ID: "test-sweep", DetailType: "Scheduled Event", Source: "aws.events"})
	if err != nil {
		t.Fatal(err)
	}
	return rep.SweepReport
}
