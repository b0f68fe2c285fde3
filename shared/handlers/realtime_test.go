package handlers_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

// invoke runs a function's handler on an event the way the Lambda runtime does: JSON in,
// JSON out.
func invoke(t *testing.T, api *apitest.API, function string, event, out any) {
	t.Helper()
	raw, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := lambda.NewHandler(gateway.ByLogicalID[function](api.Deps)).Invoke(t.Context(), raw)
	if err != nil {
		t.Fatalf("%s: %v", function, err)
	}
	if err := json.Unmarshal(answer, out); err != nil {
		t.Fatalf("%s answered %s: %v", function, answer, err)
	}
}

type ticketAnswer struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func connectTicket(t *testing.T, api *apitest.API, authorization string) (apitest.Response, ticketAnswer) {
	t.Helper()
	resp := api.Do(apitest.Request{Function: "CreateConnectTicketFunction", Method: "POST", Route: "/connect-ticket", Authorization: authorization})
	var tk ticketAnswer
	if resp.Status == 201 {
		resp.Decode(t, &tk)
	}
	return resp, tk
}

// authorize runs the $connect authorizer on a ticket.
func authorize(t *testing.T, api *apitest.API, ticket string) events.APIGatewayCustomAuthorizerResponse {
	t.Helper()
	var out events.APIGatewayCustomAuthorizerResponse
	invoke(t, api, "WsAuthorizerFunction", events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:ws/test/$connect",
		QueryStringParameters: map[string]string{"ticket": ticket},
	}, &out)
	return out
}

func effect(r events.APIGatewayCustomAuthorizerResponse) string {
	if len(r.PolicyDocument.Statement) != 1 {
		return "none"
	}
	return r.PolicyDocument.Statement[0].Effect
}

// wsEvent is a WebSocket route event for a connection whose $connect was authorized with
// the given context, as API Gateway sends it (context plus principalId).
func wsEvent(route, connectionID string, authorizer events.APIGatewayCustomAuthorizerResponse, body string) events.APIGatewayWebsocketProxyRequest {
	ctx := map[string]any{"principalId": authorizer.PrincipalID, "integrationLatency": 7}
	for k, v := range authorizer.Context {
		ctx[k] = v
	}
	return events.APIGatewayWebsocketProxyRequest{
		Body: body,
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: route, ConnectionID: connectionID, RequestID: "req-" + connectionID, Stage: "test",
			Authorizer: ctx,
		},
	}
}

func wsCall(t *testing.T, api *apitest.API, function string, ev events.APIGatewayWebsocketProxyRequest) int {
	t.Helper()
	var out events.APIGatewayProxyResponse
	invoke(t, api, function, ev, &out)
	return out.StatusCode
}

func TestWebSocket_VisitorConnectsWithATicketAndReceivesPushes(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	s := startAsVisitor(t, api, map[string]any{"displayName": "Ann"})

	resp, tk := connectTicket(t, api, apitest.Bearer(s.SessionToken))
	if resp.Status != 201 || len(tk.Ticket) != 43 || !tk.ExpiresAt.After(time.Now()) || tk.ExpiresAt.After(time.Now().Add(time.Minute)) {
		t.Fatalf("connect ticket: %d %s", resp.Status, resp.Body)
	}
	allowed := authorize(t, api, tk.Ticket)
	if effect(allowed) != "Allow" || allowed.Context["kind"] != "visitor" || allowed.Context["participantId"] != s.ParticipantID {
		t.Fatalf("authorizer answered %+v, want Allow for the visitor", allowed)
	}
	for k, v := range allowed.Context {
		if _, ok := v.(string); !ok {
			t.Errorf("context %s = %v: API Gateway takes only strings here", k, v)
		}
	}
	if again := authorize(t, api, tk.Ticket); effect(again) != "Deny" || again.Context != nil {
		t.Fatalf("second use of a ticket: %+v, want Deny", again)
	}

	const conn = "visConn="
	if status := wsCall(t, api, "WsConnectFunction", wsEvent("$connect", conn, allowed, "")); status != 200 {
		t.Fatalf("$connect = %d", status)
	}
	msg := api.Do(apitest.Request{Function: "PostMessageFunction", Method: "POST", Route: "/conversations/{id}/messages",
		Params: map[string]string{"id": s.ConversationID}, Body: map[string]any{"text": "Where is my order?"},
		Authorization: apitest.Bearer(s.SessionToken)})
	if msg.Status != 201 {
		t.Fatalf("post message: %d %s", msg.Status, msg.Body)
	}
	api.AwaitStream() // the push function reads the commit from the table's stream
	// Recipients are decided when the push is sent: if the stream is read after the socket
	// opened, the visitor also gets the opening events they had access to. The message is
	// what this test is about.
	var got []wsapi.Message
	for _, m := range api.Push.Messages(t, conn) {
		if m.Type == conversation.EventMessageCreated {
			got = append(got, m)
		}
	}
	if len(got) != 1 || got[0].ConversationID != s.ConversationID || got[0].Data["text"] != "Where is my order?" || got[0].Seq == 0 {
		t.Fatalf("pushed %+v, want the message.created event", got)
	}

	if status := wsCall(t, api, "WsDisconnectFunction", wsEvent("$disconnect", conn, allowed, "")); status != 200 {
		t.Fatalf("$disconnect = %d", status)
	}
	if _, err := api.Store.ConnectionByID(t.Context(), conn); !store.IsNotFound(err) {
		t.Fatalf("connection after $disconnect: %v", err)
	}
	if strings.Contains(api.Logs.String(), tk.Ticket) || strings.Contains(api.Logs.String(), s.SessionToken) {
		t.Fatal("a ticket or session token reached the log")
	}
}

func TestWebSocket_AgentConnectionIsFoundForPresence(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	_, tk := connectTicket(t, api, apitest.Bearer(api.AgentToken("agent-ada")))
	allowed := authorize(t, api, tk.Ticket)
	if effect(allowed) != "Allow" || allowed.PrincipalID != "agent-ada" || allowed.Context["agentId"] != "agent-ada" {
		t.Fatalf("authorizer answered %+v", allowed)
	}
	if status := wsCall(t, api, "WsConnectFunction", wsEvent("$connect", "adaConn=", allowed, "")); status != 200 {
		t.Fatalf("$connect = %d", status)
	}
	online, err := api.Store.Connected(t.Context(), []string{"agent-ada", "agent-bob"})
	if err != nil || !online["agent-ada"] || online["agent-bob"] {
		t.Fatalf("connected = %v, %v", online, err)
	}
}

func TestConnectTicket_OnlyForCurrentAgentsAndVisitors(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	if resp, _ := connectTicket(t, api, ""); resp.Status != 401 {
		t.Errorf("anonymous: %d %s, want 401", resp.Status, resp.Body)
	}
	s := startAsVisitor(t, api, nil)
	leave := api.Do(apitest.Request{Function: "LeaveConversationFunction", Method: "POST", Route: "/conversations/{id}/leave",
		Params: map[string]string{"id": s.ConversationID}, Authorization: apitest.Bearer(s.SessionToken)})
	if leave.Status != 204 {
		t.Fatalf("leave: %d %s", leave.Status, leave.Body)
	}
	if resp, _ := connectTicket(t, api, apitest.Bearer(s.SessionToken)); resp.Status != 401 {
		t.Errorf("visitor who left: %d %s, want 401", resp.Status, resp.Body)
	}
}

func TestWsAuthorizer_RefusesMalformedAndUnknownTickets(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	for _, ticket := range []string{"", "short", strings.Repeat("A", 43), strings.Repeat("!", 43)} {
		if got := authorize(t, api, ticket); effect(got) != "Deny" {
			t.Errorf("ticket %q: %+v, want Deny", ticket, got)
		}
	}
}

func TestWsDefault_PingGetsPongAnythingElseAnError(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	agent := events.APIGatewayCustomAuthorizerResponse{PrincipalID: "agent-ada", Context: map[string]any{"kind": "agent", "agentId": "agent-ada"}}
	for _, body := range []string{`{"action":"ping"}`, `{"action":"sendmessage"}`, `not json`} {
		if status := wsCall(t, api, "WsDefaultFunction", wsEvent("$default", "pingConn=", agent, body)); status != 200 {
			t.Fatalf("$default %s = %d", body, status)
		}
	}
	got := api.Push.Messages(t, "pingConn=")
	want := []wsapi.Message{{Type: "pong"}, wsapi.ErrorMessage("unknown_action"), wsapi.ErrorMessage("unknown_action")}
	if len(got) != len(want) || got[0].Type != "pong" || got[0].Data != nil {
		t.Fatalf("replies = %+v, want %+v", got, want)
	}
	for i := 1; i < len(want); i++ {
		if got[i].Type != "error" || got[i].Data["code"] != "unknown_action" {
			t.Errorf("reply %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A connect ticket stands for access at the moment it is redeemed, not when it was issued: a
// visitor who left, or whose conversation ended, cannot open a socket with a ticket asked for
// before.
func TestConnectTicket_IssuedBeforeLeaveOrEndStopsWorking(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	leaver := startAsVisitor(t, api, nil)
	_, tk := connectTicket(t, api, apitest.Bearer(leaver.SessionToken))
	leave := api.Do(apitest.Request{Function: "LeaveConversationFunction", Method: "POST", Route: "/conversations/{id}/leave",
		Params: map[string]string{"id": leaver.ConversationID}, Authorization: apitest.Bearer(leaver.SessionToken)})
	if leave.Status != 204 {
		t.Fatalf("leave: %d %s", leave.Status, leave.Body)
	}
	if got := effect(authorize(t, api, tk.Ticket)); got == "Allow" {
		t.Error("a ticket issued before the visitor left opened a socket")
	}

	agent := apitest.Bearer(api.AgentToken("anna"))
	s := startAsAgent(t, api, "anna")
	visitor := redeemFreshPIN(t, api, s.ConversationID, agent)
	_, visitorTicket := connectTicket(t, api, apitest.Bearer(visitor))
	_, agentTicket := connectTicket(t, api, agent)
	end := api.Do(apitest.Request{Function: "EndConversationFunction", Method: "POST", Route: "/conversations/{id}/end",
		Params: map[string]string{"id": s.ConversationID}, Authorization: agent})
	if end.Status != 204 {
		t.Fatalf("end: %d %s", end.Status, end.Body)
	}
	if got := effect(authorize(t, api, visitorTicket.Ticket)); got == "Allow" {
		t.Error("a ticket issued before the end opened a visitor socket")
	}
	if got := effect(authorize(t, api, agentTicket.Ticket)); got != "Allow" {
		t.Errorf("the agent's ticket: %s, want Allow (an agent keeps their socket)", got)
	}
}

// redeemFreshPIN invites a customer by PIN and redeems it; it returns their session token.
func redeemFreshPIN(t *testing.T, api *apitest.API, conversationID, agent string) string {
	t.Helper()
	resp := api.Do(apitest.Request{Function: "CreatePinInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/pin",
		Params: map[string]string{"id": conversationID}, Body: map[string]any{}, Authorization: agent})
	var pin struct {
		PIN string `json:"pin"`
	}
	resp.Decode(t, &pin)
	resp = api.Do(apitest.Request{Function: "RedeemPinFunction", Method: "POST", Route: "/join/pin", Body: map[string]any{"pin": pin.PIN}})
	var j struct {
		SessionToken string `json:"sessionToken"`
	}
	resp.Decode(t, &j)
	if j.SessionToken == "" {
		t.Fatalf("redeem: %d %s", resp.Status, resp.Body)
	}
	return j.SessionToken
}
