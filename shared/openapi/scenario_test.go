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
	t.Run("the lobby: admitted, refused, timed out", func(t *testing.T) { lobbyScenario(t, rec) })
	t.Run("directory and credentials", func(t *testing.T) { directoryAndCredentials(t, rec) })
	t.Run("rate limits", func(t *testing.T) { rateLimits(t, rec) })
	if !t.Failed() {
		rec.checkCoverage(t)
	}
}

// everyRouteRefuses sends every operation what the HTTP layer refuses before any action
// runs: an oversized body, a malformed Idempotency-Key, no credentials where the document
// says they are needed (and only there), and unknown body fields (strict decoding).
func everyRouteRefuses(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	for _, o := range rec.l.doc.Operations() {
		var params []string
		for name, value := range map[string]string{"id": "conv_AAAAAAAAAAAAAAAA", "invitationId": "inv_AAAAAAAAAAAAAAAA", "participantId": "vis_AAAAAAAAAAAAAAAA"} {
			if strings.Contains(o.Path, "{"+name+"}") {
				params = append(params, name, value)
			}
		}
		req := op(o.Method, o.Path, params...)
		d.refused(413, "body_too_large", as(req, "", `{"text":"`+strings.Repeat("x", 17<<10)+`"}`))
		d.refused(400, "invalid_idempotency_key", as(req, "", nil, "Idempotency-Key", "has spaces"))
		caller := ""
		if anonymousAllowed := slices.ContainsFunc(asSlice(o.Raw["security"]), func(s any) bool { return len(asMap(s)) == 0 }); !anonymousAllowed {
			d.refused(401, "unauthenticated", as(req, "", map[string]any{"notAField": true}))
			caller = d.agent("ada")
		}
		if _, takesBody := o.Raw["requestBody"]; takesBody {
			// Anonymous routes decode before anything else; the others once the caller
			// is known: either way the body is refused before the action runs.
			d.refused(400, "invalid_json", as(req, caller, map[string]any{"notAField": true}))
			d.refused(400, "invalid_json", as(req, caller, `{} {}`))
		}
	}
}

// started is what a start or a redemption answers, as far as the scenario needs it.
type started struct {
	ConversationID string `json:"conversationId"`
	ParticipantID  string `json:"participantId"`
	SessionToken   string `json:"sessionToken"`
}

// inbox is GET /inbox as far as the scenario needs it.
type inbox struct {
	Invitations []struct {
		InvitationID   string `json:"invitationId"`
		ConversationID string `json:"conversationId"`
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

// visitorConversation: a visitor starts (retried), the team's members see the offer, one
// takes it, both write, read and page history, the visitor leaves and the agent ends.
func visitorConversation(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	d.connect("ws-mia", d.agent("mia")) // before the start: its offer is pushed to the team
	start := op("POST", "/conversations")
	body := map[string]any{"topic": "Order 42 has not arrived", "pageUrl": apitest.AppOrigin + "/orders/42", "displayName": "Ann", "teamId": "billing"}
	first := d.twice(201, as(start, "", body, "Idempotency-Key", "3f2b8c1e-9d4a-4e6f-8b7c-0a1d2e3f4a5b"))
	d.refused(422, "idempotency_key_reused", as(start, "", map[string]any{"topic": "other"}, "Idempotency-Key", "3f2b8c1e-9d4a-4e6f-8b7c-0a1d2e3f4a5b"))
	ann := decode[started](t, first)
	visitor := apitest.Bearer(ann.SessionToken)
	d.connect("ws-ann", visitor)

	d.refused(403, "already_in_conversation", as(start, visitor, nil))
	d.refused(404, "team_not_found", as(start, "", map[string]any{"teamId": "nobody"}))
	d.refused(400, "topic_too_long", as(start, "", map[string]any{"topic": strings.Repeat("t", 201)}))
	d.refused(400, "invalid_page_url", as(start, "", map[string]any{"pageUrl": "javascript:alert(1)"}))
	d.refused(400, "invalid_field", as(start, "", map[string]any{"topic": 42}))
	// A start without a team goes to the default team.
	d.ok(201, as(start, "", nil))

	d.say("ws-ann", `{"action":"ping"}`)
	d.say("ws-ann", `{"action":"dance"}`)

	offer := decode[inbox](t, d.ok(200, as(op("GET", "/inbox"), d.agent("mia"), nil))).offerFor(t, ann.ConversationID)
	d.ok(200, as(op("GET", "/inbox"), d.agent("linus"), nil))
	d.refused(403, "agent_only", as(op("GET", "/inbox"), visitor, nil))
	d.refused(409, "offer_not_declinable", as(op("POST", "/invitations/{invitationId}/decline", "invitationId", offer), d.agent("mia"), nil))
	d.refused(403, "not_invited", as(op("POST", "/invitations/{invitationId}/accept", "invitationId", offer), d.agent("grace"), nil))
	d.refused(404, "invitation_not_found", as(op("POST", "/invitations/{invitationId}/accept", "invitationId", "inv_nonenonenonenone"), d.agent("mia"), nil))
	d.twice(200, as(op("POST", "/invitations/{invitationId}/accept", "invitationId", offer), d.agent("mia"), nil))
	d.refused(409, "invitation_taken", as(op("POST", "/invitations/{invitationId}/accept", "invitationId", offer), d.agent("linus"), map[string]any{}))

	conv := func(route string) apitest.Request { return op("GET", route, "id", ann.ConversationID) }
	msg := op("POST", "/conversations/{id}/messages", "id", ann.ConversationID)
	d.twice(201, as(msg, visitor, map[string]any{"text": "Where is my order?"}))
	d.ok(201, as(msg, d.agent("mia"), map[string]any{"text": "Let me look."}))
	d.refused(400, "text_required", as(msg, visitor, map[string]any{"text": "  "}))
	d.refused(400, "text_too_long", as(msg, visitor, map[string]any{"text": strings.Repeat("x", 4001)}))
	d.refused(403, "not_participant", as(msg, d.agent("ada"), map[string]any{"text": "hi"}))

	d.ok(200, as(conv("/conversations/{id}"), visitor, nil))
	d.ok(200, as(conv("/conversations/{id}"), d.agent("mia"), nil))
	d.refused(403, "not_participant", as(conv("/conversations/{id}"), d.agent("ada"), nil))
	d.refused(403, "not_participant", as(conv("/conversations/{id}/events"), d.agent("ada"), nil))
	d.refused(403, "not_participant", as(op("POST", "/conversations/{id}/leave", "id", ann.ConversationID), d.agent("ada"), nil))
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

// invitationAnswer is what creating or renewing any invitation answers, as far as the
// scenario needs it: the id, and the PIN for PIN invitations.
type invitationAnswer struct {
	InvitationID string `json:"invitationId"`
	PIN          string `json:"pin"`
}

// customerInvitations: an agent's conversation, a PIN renewed and redeemed, another revoked,
// an email sent, resent and redeemed by its link, PIN guessing stopped, the end revoking
// what is pending.
func customerInvitations(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	ada := d.agent("ada")
	conv := decode[started](t, d.ok(201, as(op("POST", "/conversations"), ada,
		map[string]any{"topic": "Mortgage offer", "pageUrl": apitest.AppOrigin + "/mortgage"})))
	id := conv.ConversationID
	d.connect("ws-ada", ada)

	pinRoute := op("POST", "/conversations/{id}/invitations/pin", "id", id)
	pin := decode[invitationAnswer](t, d.twice(201, as(pinRoute, ada, nil)))
	d.refused(403, "not_participant", as(pinRoute, d.agent("grace"), map[string]any{}))
	d.ok(200, as(op("GET", "/conversations/{id}/invitations", "id", id), ada, nil))
	d.ok(200, as(op("GET", "/conversations/{id}", "id", id), ada, nil)) // with the pending invitation

	inv := func(method, route, invitationID string) apitest.Request {
		return op(method, route, "id", id, "invitationId", invitationID)
	}
	const resendRoute, revokeRoute = "/conversations/{id}/invitations/{invitationId}/resend", "/conversations/{id}/invitations/{invitationId}"
	renewed := decode[invitationAnswer](t, d.twice(200, as(inv("POST", resendRoute, pin.InvitationID), ada, nil)))
	join := op("POST", "/join/pin")
	d.refused(400, "pin_invalid", as(join, "", map[string]any{"pin": pin.PIN}))
	grouped := renewed.PIN[:3] + " " + renewed.PIN[3:6] + "-" + renewed.PIN[6:]
	carl := decode[started](t, d.twice(201, as(join, "", map[string]any{"pin": grouped, "displayName": "Carl"})))
	d.refused(400, "pin_invalid", as(join, "", map[string]any{"pin": renewed.PIN}))
	d.refused(400, "display_name_too_long", as(join, "", map[string]any{"pin": renewed.PIN, "displayName": strings.Repeat("n", 81)}))
	carlAuth := apitest.Bearer(carl.SessionToken)
	d.ok(200, as(op("GET", "/conversations/{id}", "id", id), carlAuth, nil))
	d.refused(403, "agent_only", as(op("GET", "/conversations/{id}/invitations", "id", id), carlAuth, nil))
	d.refused(403, "agent_only", as(pinRoute, carlAuth, nil))
	d.connect("ws-carl", carlAuth)

	second := decode[invitationAnswer](t, d.ok(201, as(pinRoute, ada, nil)))
	d.twice(200, as(inv("DELETE", revokeRoute, second.InvitationID), ada, nil))
	d.refused(409, "invitation_not_pending", as(inv("DELETE", revokeRoute, second.InvitationID), ada, nil))
	d.refused(409, "invitation_not_pending", as(inv("POST", resendRoute, second.InvitationID), ada, nil))
	d.refused(404, "invitation_not_found", as(inv("DELETE", revokeRoute, "inv_nonenonenonenone"), ada, nil))
	d.refused(404, "invitation_not_found", as(inv("POST", resendRoute, "inv_nonenonenonenone"), ada, nil))

	// By email: sent, sent again with a new link, the old link refused, the new one joins.
	to := "dora-" + strings.ReplaceAll(id, "_", "-") + "@example.com"
	emailRoute := op("POST", "/conversations/{id}/invitations/email", "id", id)
	sent := decode[invitationAnswer](t, d.twice(201, as(emailRoute, ada, map[string]any{"email": "Dora <" + to + ">", "name": "Dora", "note": "As promised, the link."})))
	d.refused(400, "invalid_email", as(emailRoute, ada, map[string]any{"email": "a@example.com, b@example.com"}))
	d.refused(400, "note_too_long", as(emailRoute, ada, map[string]any{"email": to, "note": strings.Repeat("n", 1001)}))
	oldToken := joinToken(t, to, 1) // the retry sent no second email
	d.ok(200, as(inv("POST", resendRoute, sent.InvitationID), ada, nil))
	newToken := joinToken(t, to, 2)
	byLink := op("POST", "/join/token")
	d.refused(400, "join_token_invalid", as(byLink, "", map[string]any{"token": oldToken}))
	d.twice(201, as(byLink, "", map[string]any{"token": newToken}))
	d.refused(400, "join_token_invalid", as(byLink, "", map[string]any{"token": newToken}))

	// Only customer invitations are sent again.
	agentInv := decode[invitationAnswer](t, d.ok(201, as(op("POST", "/conversations/{id}/invitations/agent", "id", id), ada, map[string]any{"agentId": "grace", "message": "Mortgage question"})))
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
	d.twice(204, as(op("POST", "/conversations/{id}/end", "id", id), ada, nil))
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

// emailNotSent: SES refuses; the caller is told, the invitation is recorded failed, and a
// resend is tried again.
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

// handoverScenario: an agent invites an agent (declined) and a team (first accept wins),
// forwards twice (the newer replaces the older), the accepter holds the conversation and the
// forwarder is out; the holder leaves and the default team takes it.
func handoverScenario(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	ada, grace, linus, mia := d.agent("ada"), d.agent("grace"), d.agent("linus"), d.agent("mia")
	conv := decode[started](t, d.ok(201, as(op("POST", "/conversations"), ada, map[string]any{"topic": "Refund", "displayName": "Ada"})))
	id := conv.ConversationID
	d.connect("ws-ada", ada)
	d.connect("ws-grace", grace)
	d.connect("ws-linus", linus)
	// A customer joins, to see what customers are shown of a hand-over.
	pin := decode[invitationAnswer](t, d.ok(201, as(op("POST", "/conversations/{id}/invitations/pin", "id", id), ada, nil)))
	cust := decode[started](t, d.ok(201, as(op("POST", "/join/pin"), "", map[string]any{"pin": pin.PIN})))
	d.connect("ws-customer", apitest.Bearer(cust.SessionToken))

	inviteAgent := op("POST", "/conversations/{id}/invitations/agent", "id", id)
	invited := decode[invitationAnswer](t, d.twice(201, as(inviteAgent, ada, map[string]any{"agentId": "grace", "message": "Can you check the refund?"})))
	d.refused(409, "already_invited", as(inviteAgent, ada, map[string]any{"agentId": "grace"}))
	d.refused(422, "cannot_invite_self", as(inviteAgent, ada, map[string]any{"agentId": "ada"}))
	d.refused(404, "agent_not_found", as(inviteAgent, ada, map[string]any{"agentId": "nobody"}))
	d.refused(400, "invalid_id", as(inviteAgent, ada, map[string]any{"agentId": "not an id!"}))
	d.refused(400, "agent_id_required", as(inviteAgent, ada, map[string]any{}))
	d.refused(403, "agent_only", as(inviteAgent, apitest.Bearer(cust.SessionToken), map[string]any{"agentId": "grace"}))

	d.ok(200, as(op("GET", "/inbox"), grace, nil))
	answer := func(action, invitationID string) apitest.Request {
		return op("POST", "/invitations/{invitationId}/"+action, "invitationId", invitationID)
	}
	d.refused(403, "not_invited", as(answer("accept", invited.InvitationID), linus, nil))
	d.refused(400, "reason_too_long", as(answer("decline", invited.InvitationID), grace, map[string]any{"reason": strings.Repeat("r", 501)}))
	d.twice(204, as(answer("decline", invited.InvitationID), grace, map[string]any{"reason": "Off shift in five minutes."}))
	d.refused(409, "invitation_not_pending", as(answer("decline", invited.InvitationID), grace, nil))

	inviteTeam := op("POST", "/conversations/{id}/invitations/team", "id", id)
	team := decode[invitationAnswer](t, d.twice(201, as(inviteTeam, ada, map[string]any{"teamId": "billing", "message": "Refund, anyone?"})))
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
	first := decode[invitationAnswer](t, d.twice(201, as(forward, ada, map[string]any{"to": map[string]any{"kind": "agent", "id": "grace"}, "message": "Yours: refund for order 42."})))
	// A newer forward replaces the pending one.
	d.ok(201, as(forward, ada, map[string]any{"to": map[string]any{"kind": "agent", "id": "linus"}, "message": "Linus rather."}))
	d.refused(409, "invitation_not_pending", as(answer("accept", first.InvitationID), grace, nil))
	fw := decode[inbox](t, d.ok(200, as(op("GET", "/inbox"), linus, nil))).offerFor(t, id)
	d.ok(200, as(answer("accept", fw), linus, nil))
	d.refused(403, "not_participant", as(op("GET", "/conversations/{id}", "id", id), ada, nil))
	d.refused(403, "not_participant", as(forward, ada, map[string]any{"to": map[string]any{"kind": "agent", "id": "grace"}}))

	// Your own forward to your own team is not yours to take.
	own := decode[invitationAnswer](t, d.ok(201, as(forward, linus, map[string]any{"to": map[string]any{"kind": "team", "id": "billing"}})))
	d.refused(409, "own_forward", as(answer("accept", own.InvitationID), linus, nil))
	d.ok(200, as(op("GET", "/conversations/{id}/invitations", "id", id), linus, nil))
	d.ok(200, as(op("GET", "/conversations/{id}", "id", id), linus, nil))
	// Revoking the pending forward leaves linus holding the conversation.
	d.ok(200, as(op("DELETE", "/conversations/{id}/invitations/{invitationId}", "id", id, "invitationId", own.InvitationID), linus, nil))

	// The assignee leaves: the conversation goes to its (default) team, and a member takes it.
	d.twice(204, as(op("POST", "/conversations/{id}/leave", "id", id), linus, nil))
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

// expiredInvitation: time passes an agent invitation's and a PIN's expiry.
func expiredInvitation(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	ada, grace := d.agent("ada"), d.agent("grace")
	id := decode[started](t, d.ok(201, as(op("POST", "/conversations"), ada, nil))).ConversationID
	inv := decode[invitationAnswer](t, d.ok(201, as(op("POST", "/conversations/{id}/invitations/agent", "id", id), ada, map[string]any{"agentId": "grace"})))
	pin := decode[invitationAnswer](t, d.ok(201, as(op("POST", "/conversations/{id}/invitations/pin", "id", id), ada, nil)))
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

// directoryAndCredentials: the directory with availability, and every way credentials are
// refused.
func directoryAndCredentials(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	d.connect("ws-ada", d.agent("ada")) // online: connected and available
	type listedAgent struct {
		AgentID string `json:"agentId"`
		Online  bool   `json:"online"`
	}
	agents := decode[struct {
		Agents []listedAgent `json:"agents"`
	}](t, d.ok(200, as(op("GET", "/agents"), d.agent("grace"), nil)))
	if !slices.Contains(agents.Agents, listedAgent{AgentID: "ada", Online: true}) {
		t.Errorf("ada is connected and available, so online: %+v", agents)
	}
	d.ok(200, as(op("GET", "/teams"), d.agent("grace"), nil))

	visitor := decode[started](t, d.ok(201, as(op("POST", "/conversations"), "", nil)))
	d.refused(403, "agent_only", as(op("GET", "/agents"), apitest.Bearer(visitor.SessionToken), nil))
	d.refused(403, "agent_only", as(op("GET", "/teams"), apitest.Bearer(visitor.SessionToken), nil))

	agents0 := op("GET", "/agents")
	expired := d.api.SignedToken(jwt.MapClaims{
		"sub": "ada", "iss": apitest.Issuer, "aud": apitest.Audience, "exp": time.Now().Add(-time.Hour).Unix(),
	})
	d.refused(401, "token_expired", as(agents0, apitest.Bearer(expired), nil))
	d.refused(401, "token_wrong_audience", as(agents0, apitest.Bearer(d.api.SignedToken(jwt.MapClaims{
		"sub": "ada", "iss": apitest.Issuer, "aud": "someone-else", "exp": time.Now().Add(time.Hour).Unix(),
	})), nil))
	d.refused(401, "token_malformed", as(agents0, "Basic YWRhOnNlY3JldA==", nil))
	d.refused(401, "session_invalid", as(agents0, apitest.Bearer(strings.Repeat("A", 43)), nil))
	d.refused(401, "token_malformed", as(op("POST", "/join/pin"), "Bearer x", map[string]any{"pin": "123"}))
	d.refused(401, "token_invalid", as(op("POST", "/conversations"), apitest.Bearer(forged(d.api.AgentToken("ada"))), nil))
	d.refused(401, "token_malformed", as(op("POST", "/conversations"), "Bearer a.b.c", nil))
	// Not idempotent by key, as documented: a retry gets a fresh ticket.
	ticket := as(op("POST", "/connect-ticket"), d.agent("linus"), nil, "Idempotency-Key", "ticket-1")
	if a, b := d.ok(201, ticket), d.ok(201, ticket); string(a.Body) == string(b.Body) || b.Headers["Idempotency-Replayed"] != "" {
		t.Errorf("POST /connect-ticket replayed a ticket: %s", b.Body)
	}
}

// rateLimits: a client over a limit is told when to come back — anonymous starts per client,
// failed join-link redemptions per client, invitation emails per agent (limits lowered
// where the defaults would take many requests to reach).
func rateLimits(t *testing.T, rec *recorder) {
	d := rec.deploy(t, func(o *setup.Overrides) {
		o.Invitations.Limits.ConversationStartsPerIP.Limit = 2
		o.Invitations.Limits.EmailsPerAgent.Limit = 1
	})
	start := op("POST", "/conversations")
	start.SourceIP = "2001:db8::7"
	d.ok(201, start)
	d.ok(201, start)
	d.refused(429, "rate_limited", start)
	id := decode[started](t, d.ok(201, as(start, d.agent("ada"), nil))).ConversationID // agents are not limited

	email := op("POST", "/conversations/{id}/invitations/email", "id", id)
	d.ok(201, as(email, d.agent("ada"), map[string]any{"email": "fay-" + strings.ReplaceAll(id, "_", "-") + "@example.com"}))
	d.refused(429, "rate_limited", as(email, d.agent("ada"), map[string]any{"email": "gus@example.com"}))

	byLink := as(op("POST", "/join/token"), "", map[string]any{"token": strings.Repeat("x", 43)})
	byLink.SourceIP = "198.51.100.99"
	for range 20 {
		d.refused(400, "join_token_invalid", byLink)
	}
	d.refused(429, "rate_limited", byLink)
	d.refused(401, "token_malformed", as(op("POST", "/join/token"), "Bearer x", map[string]any{"token": "t"}))
}

// forged changes one character in the middle of a JWT's signature: well-formed, but not
// signed by the trusted key. (The last character may only carry padding bits.)
func forged(token string) string {
	i := strings.LastIndex(token, ".") + 10
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}

// lobbyScenario: invitees who must wait to be let in (SPEC §9.3) — one admitted by the agent,
// one refused by a customer present, one whose wait runs out; the waiting see nothing.
func lobbyScenario(t *testing.T, rec *recorder) {
	d := rec.deploy(t)
	ada := d.agent("ada")
	id := decode[started](t, d.ok(201, as(op("POST", "/conversations"), ada, map[string]any{"topic": "Joint account"}))).ConversationID
	d.connect("ws-ada", ada)
	pinRoute := op("POST", "/conversations/{id}/invitations/pin", "id", id)
	d.refused(400, "invalid_admit", as(pinRoute, ada, map[string]any{"admit": "anyone"}))
	d.refused(400, "invalid_admit", as(op("POST", "/conversations/{id}/invitations/email", "id", id), ada,
		map[string]any{"email": "lou@example.com", "admit": "everybody"}))
	join := func(admit string) started {
		pin := decode[invitationAnswer](t, d.ok(201, as(pinRoute, ada, map[string]any{"admit": admit})))
		return decode[started](t, d.ok(201, as(op("POST", "/join/pin"), "", map[string]any{"pin": pin.PIN})))
	}
	sam := join("none")
	d.connect("ws-sam", apitest.Bearer(sam.SessionToken))
	lou := join("agent")
	louAuthz := apitest.Bearer(lou.SessionToken)
	d.connect("ws-lou", louAuthz)
	d.refused(403, "waiting_for_admission", as(op("GET", "/conversations/{id}", "id", id), louAuthz, nil))
	d.refused(403, "waiting_for_admission", as(op("GET", "/conversations/{id}/events", "id", id), louAuthz, nil))
	d.refused(403, "waiting_for_admission", as(op("POST", "/conversations/{id}/messages", "id", id), louAuthz, map[string]any{"text": "hi"}))
	d.ok(200, as(op("GET", "/conversations/{id}", "id", id), ada, nil)) // lists Lou waiting
	answer := func(verb, participantID string) apitest.Request {
		return op("POST", "/conversations/{id}/participants/{participantId}/"+verb, "id", id, "participantId", participantID)
	}
	d.refused(403, "not_admitter", as(answer("admit", lou.ParticipantID), apitest.Bearer(sam.SessionToken), nil))
	d.refused(403, "waiting_for_admission", as(answer("admit", lou.ParticipantID), louAuthz, nil))
	d.refused(403, "not_participant", as(answer("refuse", lou.ParticipantID), d.agent("grace"), nil))
	d.refused(404, "participant_not_found", as(answer("admit", "vis_nonenonenonenone"), ada, nil))
	d.refused(409, "not_waiting", as(answer("admit", sam.ParticipantID), ada, nil))
	d.twice(200, as(answer("admit", lou.ParticipantID), ada, nil))
	d.refused(409, "not_waiting", as(answer("refuse", lou.ParticipantID), ada, nil))
	d.history(id, louAuthz)

	rex := join("customer")
	d.connect("ws-rex", apitest.Bearer(rex.SessionToken))
	d.ok(200, as(op("GET", "/conversations/{id}", "id", id), apitest.Bearer(sam.SessionToken), nil)) // lists Rex waiting
	d.twice(204, as(answer("refuse", rex.ParticipantID), apitest.Bearer(sam.SessionToken), nil))
	d.refused(401, "session_invalid", as(op("GET", "/conversations/{id}", "id", id), apitest.Bearer(rex.SessionToken), nil))
	d.refused(404, "participant_not_found", as(answer("admit", rex.ParticipantID), ada, nil))

	ted := join("agent")
	d.clock.Advance(11 * time.Minute)
	d.refused(401, "session_revoked", as(op("GET", "/conversations/{id}", "id", id), apitest.Bearer(ted.SessionToken), nil))
	d.refused(409, "not_waiting", as(answer("admit", ted.ParticipantID), ada, nil))

	types := d.checkPushes()
	for _, want := range []string{"participant.waiting", "participant.admitted", "participant.refused"} {
		if !slices.Contains(types, want) {
			t.Errorf("no %s pushed; the scenario means to check its shape (pushed: %v)", want, types)
		}
	}
}
