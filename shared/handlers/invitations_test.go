package handlers_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/faults"
	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

// The invitation routes join the authorization matrix: only an agent participant may invite,
// list, revoke or resend.
func init() {
	matrix = append(matrix,
		route{"invite by PIN", onConversation("CreatePinInvitationFunction", "POST", "/conversations/{id}/invitations/pin", nil), agentParticipantRoute(201)},
		route{"invite by email", onConversation("CreateEmailInvitationFunction", "POST", "/conversations/{id}/invitations/email",
			map[string]any{"email": "matrix-" + randomSuffix() + "@example.com"}), agentParticipantRoute(201)},
		route{"list invitations", onConversation("ListInvitationsFunction", "GET", "/conversations/{id}/invitations", nil), agentParticipantRoute(200)},
		route{"revoke invitation", onInvitation("RevokeInvitationFunction", "DELETE", "/conversations/{id}/invitations/{invitationId}"), agentParticipantRoute(200)},
		route{"resend invitation", onInvitation("ResendInvitationFunction", "POST", "/conversations/{id}/invitations/{invitationId}/resend"), agentParticipantRoute(200)},
		route{"redeem PIN", func(f fixture) apitest.Request {
			pin := createPIN(f.api.T, f.api, f.conversationID, f.authz[agentIn])
			return apitest.Request{Function: "RedeemPinFunction", Method: "POST", Route: "/join/pin", Body: map[string]any{"pin": pin.PIN}}
		}, anyoneRoute(201)},
		route{"redeem join link", func(f fixture) apitest.Request {
			return apitest.Request{Function: "RedeemJoinTokenFunction", Method: "POST", Route: "/join/token",
				Body: map[string]any{"token": joinToken(f.api.T, f.api, f.conversationID, f.authz[agentIn])}}
		}, anyoneRoute(201)},
		route{"connect ticket", func(fixture) apitest.Request {
			return apitest.Request{Function: "CreateConnectTicketFunction", Method: "POST", Route: "/connect-ticket"}
		}, signedInRoute(201)},
	)
}

// onInvitation calls a route on a fresh PIN invitation of the fixture's conversation.
func onInvitation(fn, method, path string) func(f fixture) apitest.Request {
	return func(f fixture) apitest.Request {
		pin := createPIN(f.api.T, f.api, f.conversationID, f.authz[agentIn])
		return apitest.Request{Function: fn, Method: method, Route: path,
			Params: map[string]string{"id": f.conversationID, "invitationId": pin.InvitationID}}
	}
}

func createPIN(t testing.TB, api *apitest.API, conversationID, authz string) invitations.PINIssued {
	t.Helper()
	resp := api.Do(apitest.Request{Function: "CreatePinInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/pin",
		Params: map[string]string{"id": conversationID}, Authorization: authz})
	if resp.Status != 201 {
		t.Fatalf("create PIN: %d %s", resp.Status, resp.Body)
	}
	var out invitations.PINIssued
	resp.Decode(t, &out)
	return out
}

func redeem(api *apitest.API, function, route string, body map[string]any, ip string) apitest.Response {
	return api.Do(apitest.Request{Function: function, Method: "POST", Route: route, Body: body, SourceIP: ip})
}

func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// agentEvent is what API Gateway hands a function after the authorizer accepted agent
// agentID: the principal in the authorizer context.
func agentEvent(agentID, conversationID, key, body string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /conversations/{id}/invitations/email",
		RawPath: "/conversations/" + conversationID + "/invitations/email", Body: body,
		Headers:        map[string]string{"content-type": "application/json", "idempotency-key": key},
		PathParameters: map[string]string{"id": conversationID},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-" + key, HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", SourceIP: "192.0.2.1"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				Lambda: auth.Principal{Kind: auth.Agent, AgentID: agentID}.ToContext(),
			},
		},
	}
}

func TestCreateEmailInvitation_RetriedWithTheSameIdempotencyKey_SendsOneEmail(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	conv := startAsAgent(t, api, "ada")
	to := "idem-" + randomSuffix() + "@example.com"
	h := handlers.CreateEmailInvitation(api.Deps)
	ev := agentEvent("ada", conv.ConversationID, "key-"+randomSuffix(), `{"email":"`+to+`","name":"Carl"}`)

	first, err := h(context.Background(), ev)
	if err != nil || first.StatusCode != 201 {
		t.Fatalf("first: %d %s %v", first.StatusCode, first.Body, err)
	}
	second, err := h(context.Background(), ev)
	if err != nil || second.StatusCode != 201 || second.Body != first.Body || second.Headers["Idempotency-Replayed"] != "true" {
		t.Fatalf("retry: %d %v %s, want the first answer replayed", second.StatusCode, second.Headers, second.Body)
	}
	if n := len(testenv.MailTo(t, to)); n != 1 {
		t.Fatalf("%d emails sent for one request retried, want 1", n)
	}
	list, err := api.Store.ConversationInvitations(t.Context(), conv.ConversationID)
	if err != nil || len(list) != 1 {
		t.Fatalf("%d invitations recorded, want 1 (%v)", len(list), err)
	}
	// A new key is a new request.
	third, _ := h(context.Background(), agentEvent("ada", conv.ConversationID, "key-"+randomSuffix(), `{"email":"`+to+`"}`))
	if third.StatusCode != 201 || len(testenv.MailTo(t, to)) != 2 {
		t.Fatalf("a new key: %d, %d mails", third.StatusCode, len(testenv.MailTo(t, to)))
	}
}

func TestCreatePinInvitation_ReplayedAnswerIsTheSamePIN_NeverStoredInTheClear(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	conv := startAsAgent(t, api, "ada")
	req := apitest.Request{Function: "CreatePinInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/pin",
		Params: map[string]string{"id": conv.ConversationID}, Authorization: apitest.Bearer(api.AgentToken("ada")),
		Headers: map[string]string{"Idempotency-Key": "pin-" + randomSuffix()}}
	first, second := api.Do(req), api.Do(req)
	var a, b invitations.PINIssued
	first.Decode(t, &a)
	second.Decode(t, &b)
	if first.Status != 201 || a.PIN == "" || a != b {
		t.Fatalf("first %d %+v, replay %d %+v", first.Status, a, second.Status, b)
	}
	// The idempotency record keeps the answer sealed; no item holds the PIN.
	out, err := testenv.DynamoDB(t).Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(api.Store.Table())})
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range out.Items {
		if strings.Contains(itemText(t, item), a.PIN) {
			t.Fatalf("an item holds the PIN in the clear: %v", item)
		}
	}
}

// itemText is every value of an item, for searching.
func itemText(t *testing.T, item map[string]types.AttributeValue) string {
	t.Helper()
	var m map[string]any
	if err := attributevalue.UnmarshalMap(item, &m); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(m)
}

func TestJoinLink_AGetChangesNothing_APostJoins_ASecondPostIsRefused(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	conv := startAsAgent(t, api, "ada")
	to := "link-" + randomSuffix() + "@example.com"
	resp := api.Do(apitest.Request{Function: "CreateEmailInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/email",
		Params: map[string]string{"id": conv.ConversationID}, Authorization: apitest.Bearer(api.AgentToken("ada")),
		Body: map[string]any{"email": to}})
	if resp.Status != 201 {
		t.Fatalf("invite: %d %s", resp.Status, resp.Body)
	}
	mails := testenv.MailTo(t, to)
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	link := ""
	for _, f := range strings.Fields(mails[0].Text) {
		if strings.Contains(f, "#join=") {
			link = f
		}
	}
	// The link is the web page (the conversation had no pageUrl: the default join page), and
	// the token is in the fragment, which a GET never sends to any server.
	if !strings.HasPrefix(link, apitest.JoinPage+"#join=") {
		t.Fatalf("link = %q", link)
	}
	token := link[strings.Index(link, "#join=")+len("#join="):]

	// The API has no GET route that could consume a token or a PIN.
	tpl := loadTemplate(t)
	for _, r := range tpl.HTTPRoutes() {
		if strings.HasPrefix(r.Path, "/join") && r.Method != "POST" {
			t.Errorf("%s %s: redemption must be POST only", r.Method, r.Path)
		}
	}
	inv, _ := api.Store.ConversationInvitations(t.Context(), conv.ConversationID)
	if len(inv) != 1 || inv[0].Status != invitation.StatusPending {
		t.Fatalf("after the mail went out: %+v", inv)
	}

	joined := redeem(api, "RedeemJoinTokenFunction", "/join/token", map[string]any{"token": token, "displayName": "Carl"}, "198.51.100.1")
	if joined.Status != 201 {
		t.Fatalf("POST /join/token: %d %s", joined.Status, joined.Body)
	}
	var j invitations.Joined
	joined.Decode(t, &j)
	if j.ConversationID != conv.ConversationID || j.SessionToken == "" {
		t.Fatalf("joined = %+v", j)
	}
	if got := getConversation(api, conv.ConversationID, apitest.Bearer(j.SessionToken)); got.Status != 200 {
		t.Fatalf("the customer cannot read the conversation: %d %s", got.Status, got.Body)
	}
	again := redeem(api, "RedeemJoinTokenFunction", "/join/token", map[string]any{"token": token}, "198.51.100.1")
	if again.Status != 400 || again.ErrorCode() != "join_token_invalid" {
		t.Fatalf("second POST: %d %s, want 400 join_token_invalid", again.Status, again.Body)
	}
}

// TestRedeemPin_TheRedemptionRecordsItsAnswer_ReplayedSealed (#13): a keyed redemption's
// answer is written by the redemption's own transaction (httpapi.AnswersAhead), sealed as
// Complete would have sealed it: a retry from another network gets the same session, and no
// item holds the session token in the clear.
func TestRedeemPin_TheRedemptionRecordsItsAnswer_ReplayedSealed(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	conv := startAsAgent(t, api, "ada")
	pin := createPIN(t, api, conv.ConversationID, apitest.Bearer(api.AgentToken("ada")))
	req := func(ip string) apitest.Request {
		return apitest.Request{Function: "RedeemPinFunction", Method: "POST", Route: "/join/pin", SourceIP: ip,
			Body: map[string]any{"pin": pin.PIN, "displayName": "Carl"}, Headers: map[string]string{"Idempotency-Key": ids.Token()}}
	}
	first := req("198.51.100.30")
	joined := api.Do(first)
	if joined.Status != 201 {
		t.Fatalf("redeem: %d %s", joined.Status, joined.Body)
	}
	first.SourceIP = "203.0.113.31" // the phone changed networks
	again := api.Do(first)
	if again.Status != 201 || string(again.Body) != string(joined.Body) || again.Headers["Idempotency-Replayed"] != "true" {
		t.Fatalf("retry: %d %v %s, want the first answer %s replayed", again.Status, again.Headers, again.Body, joined.Body)
	}
	var j invitations.Joined
	joined.Decode(t, &j)
	if strings.Contains(scanTable(t, api), j.SessionToken) {
		t.Fatal("the redemption's answer rests with the session token in the clear")
	}
	if other := api.Do(req("198.51.100.30")); other.Status != 400 || other.ErrorCode() != "pin_invalid" {
		t.Fatalf("a second redemption (another key): %d %s, want 400 pin_invalid", other.Status, other.Body)
	}
}

// TestRedeemPin_OverTheLimit_ARightPINIsRefusedWithoutWaitingForItsInvitation: a right PIN's
// invitation is read beside the rate-limit slot, a wrong one's is not (there is none). A
// client over its limit must not learn which it sent from when the 429 comes, so the refusal
// does not wait for that read: here the read is held until the test ends, and the 429 comes
// while it is held.
func TestRedeemPin_OverTheLimit_ARightPINIsRefusedWithoutWaitingForItsInvitation(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t, func(o *setup.Overrides) { o.Invitations.Limits.PINFailuresPerIP.Limit = 1 })
	conv := startAsAgent(t, api, "ada")
	pin := createPIN(t, api, conv.ConversationID, apitest.Bearer(api.AgentToken("ada")))
	if resp := redeem(api, "RedeemPinFunction", "/join/pin", map[string]any{"pin": "000000000"}, "203.0.113.9"); resp.ErrorCode() != "pin_invalid" {
		t.Fatalf("wrong PIN: %d %s", resp.Status, resp.Body)
	}
	held, release := context.WithCancel(t.Context())
	defer release()
	ctx, _ := faults.Inject(held, faults.Plan{Operation: "BatchGetItem", Mode: faults.Delay, Delay: time.Hour})
	answered := make(chan apitest.Response, 1)
	go func() {
		answered <- api.DoContext(ctx, apitest.Request{Function: "RedeemPinFunction", Method: "POST", Route: "/join/pin",
			Body: map[string]any{"pin": pin.PIN}, SourceIP: "203.0.113.9"})
	}()
	select {
	case resp := <-answered:
		if resp.Status != 429 || resp.ErrorCode() != "rate_limited" {
			t.Fatalf("the right PIN over the limit: %d %s, want 429", resp.Status, resp.Body)
		}
	case <-time.After(30 * time.Second): // a guard against a hang, not a measure: the read is held for an hour
		t.Fatal("the 429 waited for the read of the right PIN's invitation")
	}
}

func TestRedeemPin_OverTheLimit_429WithRetryAfter(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t, func(o *setup.Overrides) { o.Invitations.Limits.PINFailuresPerIP.Limit = 5 })
	conv := startAsAgent(t, api, "ada")
	pin := createPIN(t, api, conv.ConversationID, apitest.Bearer(api.AgentToken("ada")))
	for range 5 {
		resp := redeem(api, "RedeemPinFunction", "/join/pin", map[string]any{"pin": "000000000"}, "203.0.113.5")
		if resp.Status != 400 || resp.ErrorCode() != "pin_invalid" {
			t.Fatalf("wrong PIN: %d %s", resp.Status, resp.Body)
		}
	}
	resp := redeem(api, "RedeemPinFunction", "/join/pin", map[string]any{"pin": pin.PIN}, "203.0.113.5")
	if resp.Status != 429 || resp.Headers["Retry-After"] == "" || resp.ErrorCode() != "rate_limited" {
		t.Fatalf("the right PIN over the limit: %d %v %s, want 429 with Retry-After", resp.Status, resp.Headers, resp.Body)
	}
}

func TestGetConversation_ShowsPendingInvitationsToAgentsOnly(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	conv := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	used := createPIN(t, api, conv.ConversationID, ada)
	pending := createPIN(t, api, conv.ConversationID, ada)
	resp := redeem(api, "RedeemPinFunction", "/join/pin", map[string]any{"pin": used.PIN}, "198.51.100.2")
	if resp.Status != 201 {
		t.Fatalf("redeem: %d %s", resp.Status, resp.Body)
	}
	var j invitations.Joined
	resp.Decode(t, &j)

	var agentView struct {
		conversations.View
		Invitations []invitation.Invitation `json:"invitations"`
	}
	getConversation(api, conv.ConversationID, ada).Decode(t, &agentView)
	if len(agentView.Invitations) != 1 || agentView.Invitations[0].ID != pending.InvitationID || agentView.Invitations[0].Status != invitation.StatusPending {
		t.Fatalf("agent sees invitations %+v, want the one pending", agentView.Invitations)
	}
	visitorView := getConversation(api, conv.ConversationID, apitest.Bearer(j.SessionToken))
	if visitorView.Status != 200 || strings.Contains(string(visitorView.Body), "invitation") {
		t.Fatalf("the visitor sees invitations: %s", visitorView.Body)
	}
}

func TestInvitationFlow_LogsNeverCarryPINsTokensOrAddresses(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	conv := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	pin := createPIN(t, api, conv.ConversationID, ada)
	resp := redeem(api, "RedeemPinFunction", "/join/pin", map[string]any{"pin": pin.PIN}, "198.51.100.3")
	var j invitations.Joined
	resp.Decode(t, &j)
	to := "logs-" + randomSuffix() + "@example.com"
	api.Do(apitest.Request{Function: "CreateEmailInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/email",
		Params: map[string]string{"id": conv.ConversationID}, Authorization: ada, Body: map[string]any{"email": to, "note": "secret note"}})

	logs := api.Logs.String()
	if !strings.Contains(logs, `"action":"redeem_pin"`) || !strings.Contains(logs, `"conversationId":"`+conv.ConversationID+`"`) {
		t.Fatalf("the redemption is not logged with its conversation:\n%s", logs)
	}
	for name, secret := range map[string]string{"PIN": pin.PIN, "session token": j.SessionToken, "address": to, "note": "secret note"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs carry the %s", name)
		}
	}
}

func loadTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// joinToken invites a fresh address to the conversation by email and returns the join token
// its link carries.
func joinToken(t testing.TB, api *apitest.API, conversationID, authz string) string {
	t.Helper()
	to := "token-" + randomSuffix() + "@example.com"
	resp := api.Do(apitest.Request{Function: "CreateEmailInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/email",
		Params: map[string]string{"id": conversationID}, Authorization: authz, Body: map[string]any{"email": to}})
	if resp.Status != 201 {
		t.Fatalf("email invitation: %d %s", resp.Status, resp.Body)
	}
	for _, m := range testenv.MailTo(t, to) {
		for _, f := range strings.Fields(m.Text) {
			if _, token, ok := strings.Cut(f, "#join="); ok {
				return token
			}
		}
	}
	t.Fatalf("no join link in the mail to %s", to)
	return ""
}
