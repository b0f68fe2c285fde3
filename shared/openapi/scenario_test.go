package openapi_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/mail"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// TestResponses_MatchTheDocument drives the product through its real handlers — visitors
// and agents, conversations, customer invitations, hand-over, directory, push — and holds
// every answer to openapi.yaml: a status the operation does not document, a body or header
// its schema refuses (objects closed, so an undocumented field fails too), or an error code
// its response does not list, fails. At the end every operation must have had a success
// answer checked.
func TestResponses_MatchTheDocument(t *testing.T) {
	rec := newRecorder(load(t))
	t.Run("every route refuses what it must", func(t *testing.T) { everyRouteRefuses(t, rec) })
	t.Run("a visitor's conversation, offered to a team and taken", func(t *testing.T) { visitorConversation(t, rec) })
	t.Run("customer invitations by PIN and email", func(t *testing.T) { customerInvitations(t, rec) })
	t.Run("an invitation email that cannot be sent", func(t *testing.T) { emailNotSent(t, rec) })
	t.Run("hand-over: invite, decline, team, forward", func(t *testing.T) { handoverScenario(t, rec) })
	t.Run("an invitation nobody answered in time", func(t *testing.T) { expiredInvitation(t, rec) })
	t.Run("directory and credentials", func(t *testing.T) { directoryAndCredentials(t, rec) })
	if !t.Failed() {
		rec.checkCoverage(t)
	}
}

// everyRouteRefuses sends every operation what the HTTP layer refuses before any action
// runs: an unknown body field (strict decoding), an oversized body, a malformed
// Idempotency-Key, and no credentials where they are needed.
func everyRouteRefuses(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	params := []string{"id", "conv_AAAAAAAAAAAAAAAA", "invitationId", "inv_AAAAAAAAAAAAAAAA"}
	for _, o := range rec.l.doc.Operations() {
		req := op(o.Method, o.Path, params...)
		d.refused(413, "body_too_large", as(req, "", `{"text":"`+strings.Repeat("x", 17<<10)+`"}`))
		d.refused(400, "invalid_idempotency_key", as(req, "", nil, "Idempotency-Key", "has spaces"))
		if _, takesBody := o.Raw["requestBody"]; takesBody {
			d.refused(400, "invalid_json", as(req, "", map[string]any{"notAField": true}))
			d.refused(400, "invalid_json", as(req, "", `{} {}`))
		}
		anonymousAllowed := slices.ContainsFunc(asSlice(o.Raw["security"]), func(s any) bool { return len(asMap(s)) == 0 })
		if !anonymousAllowed {
			d.refused(401, "unauthenticated", as(req, "", nil))
		}
	}
}

type started struct {
	ConversationID string `json:"conversationId"`
	ParticipantID  string `json:"participantId"`
	SessionToken   string `json:"sessionToken"`
}

type inbox struct {
	Invitations []struct {
		InvitationID   string `json:"invitationId"`
		ConversationID string `json:"conversationId"`
		Purpose        string `json:"purpose"`
	} `json:"invitations"`
}

// offerFor finds the inbox entry of a conversation.
func (in inbox) offerFor(t *testing.T, conversationID string) string {
	t.Helper()
	for _, e := range in.Invitations {
		if e.ConversationID == conversationID {
			return e.InvitationID
		}
	}
	t.Fatalf("nothing for %s in the inbox %+v", conversationID, in)
	return ""
}

func visitorConversation(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	start := op("POST", "/conversations")
	body := map[string]any{"topic": "Order 42 has not arrived", "pageUrl": apitest.AppOrigin + "/orders/42", "displayName": "Ann", "teamId": "billing"}
	first := d.ok(201, as(start, "", body, "Idempotency-Key", "start-1"))
	again := d.ok(201, as(start, "", body, "Idempotency-Key", "start-1"))
	if string(again.Body) != string(first.Body) || again.Headers["Idempotency-Replayed"] != "true" {
		t.Fatalf("a retry must replay the first answer: %s %v", again.Body, again.Headers)
	}
	d.refused(422, "idempotency_key_reused", as(start, "", map[string]any{"topic": "other"}, "Idempotency-Key", "start-1"))
	ann := decode[started](t, first)
	visitor := apitest.Bearer(ann.SessionToken)

	d.refused(403, "already_in_conversation", as(start, visitor, nil))
	d.refused(404, "team_not_found", as(start, "", map[string]any{"teamId": "nobody"}))
	d.refused(400, "topic_too_long", as(start, "", map[string]any{"topic": strings.Repeat("t", 201)}))
	d.refused(400, "invalid_page_url", as(start, "", map[string]any{"pageUrl": "javascript:alert(1)"}))
	d.refused(400, "invalid_field", as(start, "", map[string]any{"topic": 42}))
	// A start without a team goes to the default team.
	d.ok(201, as(start, "", nil))

	d.connect("ws-ann", visitor)
	d.connect("ws-mia", d.agent("mia"))
	d.say("ws-ann", `{"action":"ping"}`)
	d.say("ws-ann", `{"action":"dance"}`)

	offer := decode[inbox](t, d.ok(200, as(op("GET", "/inbox"), d.agent("mia"), nil))).offerFor(t, ann.ConversationID)
	d.ok(200, as(op("GET", "/inbox"), d.agent("linus"), nil))
	d.refused(403, "agent_only", as(op("GET", "/inbox"), visitor, nil))
	d.refused(409, "offer_not_declinable", as(op("POST", "/invitations/{invitationId}/decline", "invitationId", offer), d.agent("mia"), nil))
	d.refused(403, "not_invited", as(op("POST", "/invitations/{invitationId}/accept", "invitationId", offer), d.agent("grace"), nil))
	d.refused(404, "invitation_not_found", as(op("POST", "/invitations/{invitationId}/accept", "invitationId", "inv_nonenonenonenone"), d.agent("mia"), nil))
	d.ok(200, as(op("POST", "/invitations/{invitationId}/accept", "invitationId", offer), d.agent("mia"), nil, "Idempotency-Key", "take-it"))
	d.refused(409, "invitation_taken", as(op("POST", "/invitations/{invitationId}/accept", "invitationId", offer), d.agent("linus"), map[string]any{}))

	conv := func(route string) apitest.Request { return op("GET", route, "id", ann.ConversationID) }
	msg := op("POST", "/conversations/{id}/messages", "id", ann.ConversationID)
	d.ok(201, as(msg, visitor, map[string]any{"text": "Where is my order?"}, "Idempotency-Key", "msg-1"))
	d.ok(201, as(msg, d.agent("mia"), map[string]any{"text": "Let me look."}))
	d.refused(400, "text_required", as(msg, visitor, map[string]any{"text": "  "}))
	d.refused(400, "text_too_long", as(msg, visitor, map[string]any{"text": strings.Repeat("x", 4001)}))
	d.refused(403, "not_participant", as(msg, d.agent("ada"), map[string]any{"text": "hi"}))

	d.ok(200, as(conv("/conversations/{id}"), visitor, nil))
	d.ok(200, as(conv("/conversations/{id}"), d.agent("mia"), nil))
	d.refused(403, "not_participant", as(conv("/conversations/{id}"), d.agent("ada"), nil))
	d.refused(404, "conversation_not_found", as(op("GET", "/conversations/{id}", "id", "conv_nonenonenonenone"), d.agent("ada"), nil))
	d.history(ann.ConversationID, visitor)
	d.history(ann.ConversationID, d.agent("mia"))
	bad := as(conv("/conversations/{id}/events"), visitor, nil)
	bad.Query = map[string]string{"after": "yesterday"}
	d.refused(400, "invalid_cursor", bad)
	bad.Query = map[string]string{"limit": "0"}
	d.refused(400, "invalid_limit", bad)
	d.ok(201, as(op("POST", "/connect-ticket"), visitor, nil))

	leave := op("POST", "/conversations/{id}/leave", "id", ann.ConversationID)
	d.ok(204, as(leave, visitor, nil, "Idempotency-Key", "bye"))
	// A retry after the session ended is not replayed: the key belongs to the session, and
	// the session token is refused before the key is looked at.
	d.refused(401, "session_invalid", as(leave, visitor, nil, "Idempotency-Key", "bye"))
	d.refused(401, "session_invalid", as(conv("/conversations/{id}"), visitor, nil))

	end := op("POST", "/conversations/{id}/end", "id", ann.ConversationID)
	d.ok(204, as(end, d.agent("mia"), nil))
	d.refused(409, "conversation_ended", as(end, d.agent("mia"), nil))
	d.refused(409, "conversation_ended", as(msg, d.agent("mia"), map[string]any{"text": "still there?"}))

	types := d.checkPushes()
	for _, want := range []string{"message.created", "participant.joined", "participant.left", "conversation.assigned", "conversation.ended", "invitation.created", "invitation.accepted", "pong", "error"} {
		if !slices.Contains(types, want) {
			t.Errorf("no %s pushed; the scenario means to check its shape (pushed: %v)", want, types)
		}
	}
}

type pinIssued struct {
	InvitationID string `json:"invitationId"`
	PIN          string `json:"pin"`
}

func customerInvitations(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	ada := d.agent("ada")
	conv := decode[started](t, d.ok(201, as(op("POST", "/conversations"), ada,
		map[string]any{"topic": "Mortgage offer", "pageUrl": apitest.AppOrigin + "/mortgage"})))
	id := conv.ConversationID
	d.connect("ws-ada", ada)

	pinRoute := op("POST", "/conversations/{id}/invitations/pin", "id", id)
	pin := decode[pinIssued](t, d.ok(201, as(pinRoute, ada, nil, "Idempotency-Key", "pin-1")))
	if replay := decode[pinIssued](t, d.ok(201, as(pinRoute, ada, nil, "Idempotency-Key", "pin-1"))); replay != pin {
		t.Fatalf("a retry must get the same PIN: %+v, %+v", replay, pin)
	}
	d.refused(403, "not_participant", as(pinRoute, d.agent("grace"), map[string]any{}))
	d.ok(200, as(op("GET", "/conversations/{id}/invitations", "id", id), ada, nil))
	d.ok(200, as(op("GET", "/conversations/{id}", "id", id), ada, nil)) // with the pending invitation

	inv := func(method, route, invitationID string) apitest.Request {
		return op(method, route, "id", id, "invitationId", invitationID)
	}
	const resendRoute, revokeRoute = "/conversations/{id}/invitations/{invitationId}/resend", "/conversations/{id}/invitations/{invitationId}"
	renewed := decode[pinIssued](t, d.ok(200, as(inv("POST", resendRoute, pin.InvitationID), ada, nil, "Idempotency-Key", "renew-1")))
	join := op("POST", "/join/pin")
	d.refused(400, "pin_invalid", as(join, "", map[string]any{"pin": pin.PIN}))
	grouped := renewed.PIN[:3] + " " + renewed.PIN[3:6] + "-" + renewed.PIN[6:]
	carl := decode[started](t, d.ok(201, as(join, "", map[string]any{"pin": grouped, "displayName": "Carl"}, "Idempotency-Key", "join-1")))
	d.refused(400, "pin_invalid", as(join, "", map[string]any{"pin": renewed.PIN}))
	d.refused(400, "display_name_too_long", as(join, "", map[string]any{"pin": renewed.PIN, "displayName": strings.Repeat("n", 81)}))
	carlAuth := apitest.Bearer(carl.SessionToken)
	d.ok(200, as(op("GET", "/conversations/{id}", "id", id), carlAuth, nil))
	d.refused(403, "agent_only", as(op("GET", "/conversations/{id}/invitations", "id", id), carlAuth, nil))
	d.refused(403, "agent_only", as(pinRoute, carlAuth, nil))
	d.connect("ws-carl", carlAuth)

	second := decode[pinIssued](t, d.ok(201, as(pinRoute, ada, nil)))
	d.ok(200, as(inv("DELETE", revokeRoute, second.InvitationID), ada, nil))
	d.refused(409, "invitation_not_pending", as(inv("DELETE", revokeRoute, second.InvitationID), ada, nil))
	d.refused(409, "invitation_not_pending", as(inv("POST", resendRoute, second.InvitationID), ada, nil))
	d.refused(404, "invitation_not_found", as(inv("DELETE", revokeRoute, "inv_nonenonenonenone"), ada, nil))
	d.refused(404, "invitation_not_found", as(inv("POST", resendRoute, "inv_nonenonenonenone"), ada, nil))

	// By email: sent, sent again with a new link, the old link refused, the new one joins.
	to := "dora-" + strings.ReplaceAll(id, "_", "-") + "@example.com"
	emailRoute := op("POST", "/conversations/{id}/invitations/email", "id", id)
	sent := decode[pinIssued](t, d.ok(201, as(emailRoute, ada, map[string]any{"email": "Dora <" + to + ">", "name": "Dora", "note": "As promised, the link."}, "Idempotency-Key", "mail-1")))
	d.refused(400, "invalid_email", as(emailRoute, ada, map[string]any{"email": "a@example.com, b@example.com"}))
	d.refused(400, "note_too_long", as(emailRoute, ada, map[string]any{"email": to, "note": strings.Repeat("n", 1001)}))
	oldToken := joinToken(t, to, 1)
	d.ok(200, as(inv("POST", resendRoute, sent.InvitationID), ada, nil))
	newToken := joinToken(t, to, 2)
	byLink := op("POST", "/join/token")
	d.refused(400, "join_token_invalid", as(byLink, "", map[string]any{"token": oldToken}))
	d.ok(201, as(byLink, "", map[string]any{"token": newToken}, "Idempotency-Key", "link-1"))
	d.refused(400, "join_token_invalid", as(byLink, "", map[string]any{"token": newToken}))

	// Only customer invitations are sent again.
	agentInv := decode[pinIssued](t, d.ok(201, as(op("POST", "/conversations/{id}/invitations/agent", "id", id), ada, map[string]any{"agentId": "grace", "message": "Mortgage question"})))
	d.refused(409, "invitation_not_resendable", as(inv("POST", resendRoute, agentInv.InvitationID), ada, nil))

	// Guessing PINs: the tenth failure from one address is the last one answered.
	guesser := as(join, "", map[string]any{"pin": "000000000"})
	guesser.SourceIP = "203.0.113.7"
	for range 10 {
		d.refused(400, "pin_invalid", guesser)
	}
	d.refused(429, "rate_limited", guesser)

	// Ending revokes what is pending; the list says so.
	d.ok(201, as(pinRoute, ada, nil))
	d.ok(204, as(op("POST", "/conversations/{id}/end", "id", id), ada, nil, "Idempotency-Key", "end-1"))
	d.refused(409, "conversation_ended", as(pinRoute, ada, nil))
	d.refused(409, "conversation_ended", as(emailRoute, ada, map[string]any{"email": to}))
	d.ok(200, as(op("GET", "/conversations/{id}/invitations", "id", id), ada, nil))
	types := d.history(id, ada)
	for _, want := range []string{"invitation.created", "invitation.resent", "invitation.redeemed", "invitation.revoked", "conversation.ended"} {
		if !slices.Contains(types, want) {
			t.Errorf("no %s in history; the scenario means to check its shape (history: %v)", want, types)
		}
	}
	d.checkPushes()
}

// failingMailer stands in for SES refusing a message.
type failingMailer struct{}

func (failingMailer) Send(context.Context, string, mail.Message) (string, error) {
	return "", errors.New("MessageRejected: Email address is not verified")
}

func emailNotSent(t *testing.T, rec *recorder) {
	d := rec.deploy(t, func(o *setup.Overrides) { o.Mailer = failingMailer{} })
	ada := d.agent("ada")
	id := decode[started](t, d.ok(201, as(op("POST", "/conversations"), ada, nil))).ConversationID
	failed := d.refused(502, "email_not_sent", as(op("POST", "/conversations/{id}/invitations/email", "id", id), ada,
		map[string]any{"email": "eve@example.com"}, "Idempotency-Key", "mail-1"))
	if failed.Headers["Idempotency-Replayed"] != "" {
		t.Fatal("a failure of ours must not be remembered")
	}
	list := decode[struct {
		Invitations []struct {
			InvitationID string `json:"invitationId"`
			Status       string `json:"status"`
		} `json:"invitations"`
	}](t, d.ok(200, as(op("GET", "/conversations/{id}/invitations", "id", id), ada, nil)))
	if len(list.Invitations) != 1 || list.Invitations[0].Status != "failed" {
		t.Fatalf("the invitation must be recorded as failed: %+v", list)
	}
	d.refused(502, "email_not_sent", as(op("POST", "/conversations/{id}/invitations/{invitationId}/resend", "id", id, "invitationId", list.Invitations[0].InvitationID), ada, nil))
	if types := d.history(id, ada); !slices.Contains(types, "invitation.failed") {
		t.Errorf("no invitation.failed in history: %v", types)
	}
}

func handoverScenario(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	ada, grace, linus, mia := d.agent("ada"), d.agent("grace"), d.agent("linus"), d.agent("mia")
	conv := decode[started](t, d.ok(201, as(op("POST", "/conversations"), ada, map[string]any{"topic": "Refund", "displayName": "Ada"})))
	id := conv.ConversationID
	d.connect("ws-ada", ada)
	d.connect("ws-grace", grace)
	d.connect("ws-linus", linus)
	// A customer joins, to see what customers are shown of a hand-over.
	pin := decode[pinIssued](t, d.ok(201, as(op("POST", "/conversations/{id}/invitations/pin", "id", id), ada, nil)))
	cust := decode[started](t, d.ok(201, as(op("POST", "/join/pin"), "", map[string]any{"pin": pin.PIN})))
	d.connect("ws-customer", apitest.Bearer(cust.SessionToken))

	inviteAgent := op("POST", "/conversations/{id}/invitations/agent", "id", id)
	invited := decode[pinIssued](t, d.ok(201, as(inviteAgent, ada, map[string]any{"agentId": "grace", "message": "Can you check the refund?"}, "Idempotency-Key", "inv-grace")))
	d.ok(201, as(inviteAgent, ada, map[string]any{"agentId": "grace", "message": "Can you check the refund?"}, "Idempotency-Key", "inv-grace"))
	d.refused(409, "already_invited", as(inviteAgent, ada, map[string]any{"agentId": "grace"}))
	d.refused(422, "cannot_invite_self", as(inviteAgent, ada, map[string]any{"agentId": "ada"}))
	d.refused(404, "agent_not_found", as(inviteAgent, ada, map[string]any{"agentId": "nobody"}))
	d.refused(400, "invalid_agent_id", as(inviteAgent, ada, map[string]any{"agentId": "not an id!"}))
	d.refused(400, "agent_id_required", as(inviteAgent, ada, map[string]any{}))
	d.refused(403, "agent_only", as(inviteAgent, apitest.Bearer(cust.SessionToken), map[string]any{"agentId": "grace"}))

	d.ok(200, as(op("GET", "/inbox"), grace, nil))
	answer := func(action, invitationID string) apitest.Request {
		return op("POST", "/invitations/{invitationId}/"+action, "invitationId", invitationID)
	}
	d.refused(403, "not_invited", as(answer("accept", invited.InvitationID), linus, nil))
	d.refused(400, "reason_too_long", as(answer("decline", invited.InvitationID), grace, map[string]any{"reason": strings.Repeat("r", 501)}))
	d.ok(204, as(answer("decline", invited.InvitationID), grace, map[string]any{"reason": "Off shift in five minutes."}, "Idempotency-Key", "no-thanks"))
	d.refused(409, "invitation_not_pending", as(answer("decline", invited.InvitationID), grace, nil))

	inviteTeam := op("POST", "/conversations/{id}/invitations/team", "id", id)
	team := decode[pinIssued](t, d.ok(201, as(inviteTeam, ada, map[string]any{"teamId": "billing", "message": "Refund, anyone?"})))
	d.refused(422, "team_empty", as(inviteTeam, ada, map[string]any{"teamId": "night"}))
	d.refused(404, "team_not_found", as(inviteTeam, ada, map[string]any{"teamId": "nobody"}))
	d.refused(400, "team_id_required", as(inviteTeam, ada, map[string]any{"message": "no team"}))
	d.ok(200, as(answer("accept", team.InvitationID), mia, nil))
	d.refused(409, "invitation_taken", as(answer("accept", team.InvitationID), linus, nil))
	d.refused(409, "invitation_taken", as(answer("decline", team.InvitationID), linus, nil))
	d.refused(409, "already_participant", as(inviteAgent, ada, map[string]any{"agentId": "mia"}))

	forward := op("POST", "/conversations/{id}/forward", "id", id)
	d.refused(422, "cannot_forward_to_self", as(forward, ada, map[string]any{"to": map[string]any{"kind": "agent", "id": "ada"}}))
	d.refused(400, "invalid_forward_target", as(forward, ada, map[string]any{"to": map[string]any{"kind": "robot", "id": "r2"}}))
	d.refused(422, "team_empty", as(forward, ada, map[string]any{"to": map[string]any{"kind": "team", "id": "night"}}))
	first := decode[pinIssued](t, d.ok(201, as(forward, ada, map[string]any{"to": map[string]any{"kind": "agent", "id": "grace"}, "message": "Yours: refund for order 42."}, "Idempotency-Key", "fw-1")))
	// A newer forward replaces the pending one.
	d.ok(201, as(forward, ada, map[string]any{"to": map[string]any{"kind": "agent", "id": "linus"}, "message": "Linus rather."}))
	d.refused(409, "invitation_not_pending", as(answer("accept", first.InvitationID), grace, nil))
	fw := decode[inbox](t, d.ok(200, as(op("GET", "/inbox"), linus, nil))).offerFor(t, id)
	d.ok(200, as(answer("accept", fw), linus, nil))
	d.refused(403, "not_participant", as(op("GET", "/conversations/{id}", "id", id), ada, nil))
	d.refused(403, "not_participant", as(forward, ada, map[string]any{"to": map[string]any{"kind": "agent", "id": "grace"}}))

	// Your own forward to your own team is not yours to take.
	own := decode[pinIssued](t, d.ok(201, as(forward, linus, map[string]any{"to": map[string]any{"kind": "team", "id": "billing"}})))
	d.refused(409, "own_forward", as(answer("accept", own.InvitationID), linus, nil))
	d.ok(200, as(op("GET", "/conversations/{id}/invitations", "id", id), linus, nil))
	d.ok(200, as(op("GET", "/conversations/{id}", "id", id), linus, nil))
	// Revoking the pending forward leaves linus holding the conversation.
	d.ok(200, as(op("DELETE", "/conversations/{id}/invitations/{invitationId}", "id", id, "invitationId", own.InvitationID), linus, nil))

	// The assignee leaves: the conversation goes to its (default) team, and a member takes it.
	d.ok(204, as(op("POST", "/conversations/{id}/leave", "id", id), linus, nil))
	back := decode[inbox](t, d.ok(200, as(op("GET", "/inbox"), grace, nil))).offerFor(t, id)
	d.ok(200, as(answer("accept", back), grace, nil))
	d.ok(204, as(op("POST", "/conversations/{id}/end", "id", id), grace, nil))

	types := d.history(id, mia)
	for _, want := range []string{"invitation.declined", "invitation.accepted", "conversation.forwarded", "conversation.assigned", "conversation.unassigned", "invitation.revoked"} {
		if !slices.Contains(types, want) {
			t.Errorf("no %s in history; the scenario means to check its shape (history: %v)", want, types)
		}
	}
	if pushed := d.checkPushes(); !slices.Contains(pushed, "invitation.taken") {
		t.Errorf("no invitation.taken pushed; the scenario means to check its shape (pushed: %v)", pushed)
	}
}

func expiredInvitation(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	ada, grace := d.agent("ada"), d.agent("grace")
	id := decode[started](t, d.ok(201, as(op("POST", "/conversations"), ada, nil))).ConversationID
	inv := decode[pinIssued](t, d.ok(201, as(op("POST", "/conversations/{id}/invitations/agent", "id", id), ada, map[string]any{"agentId": "grace"})))
	pin := decode[pinIssued](t, d.ok(201, as(op("POST", "/conversations/{id}/invitations/pin", "id", id), ada, nil)))
	d.clock.Advance(2 * time.Hour)
	d.refused(410, "invitation_expired", as(op("POST", "/invitations/{invitationId}/accept", "invitationId", inv.InvitationID), grace, nil))
	d.refused(410, "invitation_expired", as(op("POST", "/invitations/{invitationId}/decline", "invitationId", inv.InvitationID), grace, nil))
	d.refused(400, "pin_invalid", as(op("POST", "/join/pin"), "", map[string]any{"pin": pin.PIN}))
	d.ok(200, as(op("GET", "/inbox"), grace, nil))
	d.ok(200, as(op("GET", "/conversations/{id}/invitations", "id", id), ada, nil))
	// An expired PIN invitation can be renewed.
	d.ok(200, as(op("POST", "/conversations/{id}/invitations/{invitationId}/resend", "id", id, "invitationId", pin.InvitationID), ada, nil))
	d.history(id, ada)
}

func directoryAndCredentials(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	d.connect("ws-ada", d.agent("ada")) // online: connected and available
	agents := decode[struct {
		Agents []struct {
			AgentID string `json:"agentId"`
			Online  bool   `json:"online"`
		} `json:"agents"`
	}](t, d.ok(200, as(op("GET", "/agents"), d.agent("grace"), nil)))
	if !slices.ContainsFunc(agents.Agents, func(a struct {
		AgentID string `json:"agentId"`
		Online  bool   `json:"online"`
	}) bool {
		return a.AgentID == "ada" && a.Online
	}) {
		t.Errorf("ada is connected and available, so online: %+v", agents)
	}
	d.ok(200, as(op("GET", "/teams"), d.agent("grace"), nil))

	visitor := decode[started](t, d.ok(201, as(op("POST", "/conversations"), "", nil)))
	d.refused(403, "agent_only", as(op("GET", "/agents"), apitest.Bearer(visitor.SessionToken), nil))
	d.refused(403, "agent_only", as(op("GET", "/teams"), apitest.Bearer(visitor.SessionToken), nil))

	agents0 := op("GET", "/agents")
	expired, err := d.api.Keys.Mint("ada", apitest.Issuer, apitest.Audience, -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	d.refused(401, "token_expired", as(agents0, apitest.Bearer(expired), nil))
	d.refused(401, "token_wrong_audience", as(agents0, apitest.Bearer(d.api.SignedToken(jwt.MapClaims{
		"sub": "ada", "iss": apitest.Issuer, "aud": "someone-else", "exp": time.Now().Add(time.Hour).Unix(),
	})), nil))
	d.refused(401, "token_malformed", as(agents0, "Basic YWRhOnNlY3JldA==", nil))
	d.refused(401, "session_invalid", as(agents0, apitest.Bearer(strings.Repeat("A", 43)), nil))
	d.refused(401, "token_malformed", as(op("POST", "/join/pin"), "Bearer x", map[string]any{"pin": "123"}))
	d.refused(401, "token_invalid", as(op("POST", "/conversations"), "Bearer a.b.c", nil))
	d.ok(201, as(op("POST", "/connect-ticket"), d.agent("linus"), nil))
}
