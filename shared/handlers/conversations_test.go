package handlers_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// started is what a visitor holds after starting a conversation.
type started struct {
	ConversationID   string    `json:"conversationId"`
	ParticipantID    string    `json:"participantId"`
	SessionToken     string    `json:"sessionToken"`
	SessionExpiresAt time.Time `json:"expiresAt"`
}

func startAsVisitor(t *testing.T, api *apitest.API, body map[string]any) started {
	t.Helper()
	req := apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations"}
	if body != nil {
		req.Body = body
	}
	resp := api.Do(req)
	if resp.Status != 201 {
		t.Fatalf("visitor start: %d %s", resp.Status, resp.Body)
	}
	var s started
	resp.Decode(t, &s)
	return s
}

func startAsAgent(t *testing.T, api *apitest.API, agentID string) started {
	t.Helper()
	resp := api.Do(apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
		Body: map[string]any{"topic": "Callback"}, Authorization: apitest.Bearer(api.AgentToken(agentID))})
	if resp.Status != 201 {
		t.Fatalf("agent start: %d %s", resp.Status, resp.Body)
	}
	var s started
	resp.Decode(t, &s)
	return s
}

func getConversation(api *apitest.API, id, authz string) apitest.Response {
	return api.Do(apitest.Request{Function: "GetConversationFunction", Method: "GET", Route: "/conversations/{id}",
		Params: map[string]string{"id": id}, Authorization: authz})
}

func TestStartConversation_VisitorRoundTrip(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	s := startAsVisitor(t, api, map[string]any{"topic": "Order 42", "displayName": "Ann", "pageUrl": "https://shop.example.com/orders/42"})
	if !strings.HasPrefix(s.ConversationID, "conv_") || s.SessionToken == "" || !s.SessionExpiresAt.After(time.Now()) {
		t.Fatalf("unexpected start answer: %+v", s)
	}

	// The session token is stored only as its SHA-256.
	sess, err := api.Store.Session(t.Context(), ids.Hash(s.SessionToken))
	if err != nil || sess.ConversationID != s.ConversationID || sess.ParticipantID != s.ParticipantID {
		t.Fatalf("session by hash: %+v, %v", sess, err)
	}
	if _, err := api.Store.Session(t.Context(), s.SessionToken); err == nil {
		t.Fatal("the plain session token is a key in the table")
	}

	resp := getConversation(api, s.ConversationID, apitest.Bearer(s.SessionToken))
	if resp.Status != 200 {
		t.Fatalf("GET as the visitor: %d %s", resp.Status, resp.Body)
	}
	var v conversations.View
	resp.Decode(t, &v)
	if v.ID != s.ConversationID || v.Status != conversation.StatusOpen || v.Topic != "Order 42" ||
		len(v.Participants) != 1 || v.Participants[0].DisplayName != "Ann" || v.Participants[0].Kind != conversation.KindVisitor {
		t.Fatalf("unexpected view: %+v", v)
	}
	if strings.Contains(string(resp.Body), "sessionHash") || strings.Contains(string(resp.Body), ids.Hash(s.SessionToken)) {
		t.Fatal("the view exposes the session hash")
	}
}

func TestStartConversation_AgentBecomesAssignee(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	if err := api.Store.PutAgent(t.Context(), directory.Agent{ID: "ada", Name: "Ada Lovelace", Status: directory.StatusAvailable}); err != nil {
		t.Fatal(err)
	}
	s := startAsAgent(t, api, "ada")
	if s.SessionToken != "" {
		t.Fatal("an agent got a visitor session token")
	}
	var v conversations.View
	resp := getConversation(api, s.ConversationID, apitest.Bearer(api.AgentToken("ada")))
	resp.Decode(t, &v)
	if v.Assignee != "ada" || len(v.Participants) != 1 || v.Participants[0].DisplayName != "Ada Lovelace" {
		t.Fatalf("agent start: %+v", v)
	}
}

func TestStartConversation_RejectsBadInput(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	cases := map[string]struct {
		body   any
		status int
		code   string
	}{
		"unknown field":   {map[string]any{"topic": "x", "admin": true}, 400, "invalid_json"},
		"trailing data":   {`{"topic":"x"} {}`, 400, "invalid_json"},
		"foreign scheme":  {map[string]any{"pageUrl": "javascript:alert(1)"}, 400, "invalid_page_url"},
		"topic too long":  {map[string]any{"topic": strings.Repeat("x", 201)}, 400, "topic_too_long"},
		"body too large":  {`{"topic":"` + strings.Repeat("x", 20000) + `"}`, 413, "body_too_large"},
		"not json object": {`"hello"`, 400, "invalid_json"},
	}
	for name, tc := range cases {
		resp := api.Do(apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations", Body: tc.body})
		if resp.Status != tc.status || resp.ErrorCode() != tc.code {
			t.Errorf("%s: got %d %s, want %d %s", name, resp.Status, resp.Body, tc.status, tc.code)
		}
	}
}

func TestStartConversation_IdempotencyKeyReturnsFirstResponse(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	req := apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
		Body: map[string]any{"topic": "retry me"}, Headers: map[string]string{"Idempotency-Key": "start-1-key-made-unguessable"}}
	first := api.Do(req)
	second := api.Do(req)
	if first.Status != 201 || second.Status != 201 || string(first.Body) != string(second.Body) {
		t.Fatalf("retry differs: %d %s / %d %s", first.Status, first.Body, second.Status, second.Body)
	}
	if second.Headers["Idempotency-Replayed"] != "true" {
		t.Fatal("the replay is not marked")
	}
	req.Body = map[string]any{"topic": "something else"}
	if other := api.Do(req); other.Status != 422 || other.ErrorCode() != "idempotency_key_reused" {
		t.Fatalf("same key, other body: %d %s", other.Status, other.Body)
	}
	req.Headers = map[string]string{"Idempotency-Key": "start-2-key-made-unguessable"}
	if third := api.Do(req); third.Status != 201 || string(third.Body) == string(first.Body) {
		t.Fatalf("a new key must start a new conversation: %s", third.Body)
	}
}

func postMessage(api *apitest.API, id, authz, text string) apitest.Response {
	return api.Do(apitest.Request{Function: "PostMessageFunction", Method: "POST", Route: "/conversations/{id}/messages",
		Params: map[string]string{"id": id}, Body: map[string]any{"text": text}, Authorization: authz})
}

func history(t *testing.T, api *apitest.API, id, authz, after string) conversations.HistoryPage {
	t.Helper()
	q := map[string]string{}
	if after != "" {
		q["after"] = after
	}
	resp := api.Do(apitest.Request{Function: "ListEventsFunction", Method: "GET", Route: "/conversations/{id}/events",
		Params: map[string]string{"id": id}, Query: q, Authorization: authz})
	if resp.Status != 200 {
		t.Fatalf("history: %d %s", resp.Status, resp.Body)
	}
	var page conversations.HistoryPage
	resp.Decode(t, &page)
	return page
}

func TestHistory_PaginatesAndHidesAgentOnlyEventsFromVisitors(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	s := startAsVisitor(t, api, nil)
	visitor := apitest.Bearer(s.SessionToken)
	for i := 0; i < 3; i++ {
		if resp := postMessage(api, s.ConversationID, visitor, "hello "+string(rune('a'+i))); resp.Status != 201 {
			t.Fatalf("post: %d %s", resp.Status, resp.Body)
		}
	}
	// An agents-only note, as invitations and forwards write them.
	now := time.Now()
	note := conversation.Event{ConversationID: s.ConversationID,
		Type: conversation.EventConversationForwarded, At: now, Audience: conversation.AudienceAgents,
		Data: map[string]any{"message": "VIP, handle with care"}}
	agent := conversation.Participant{ConversationID: s.ConversationID, ID: conversation.AgentParticipantID("anna"),
		Kind: conversation.KindAgent, AgentID: "anna", JoinedAt: now}
	if err := api.Store.AddParticipant(t.Context(), agent, nil, []conversation.Event{note}); err != nil {
		t.Fatal(err)
	}
	if resp := postMessage(api, s.ConversationID, visitor, "last"); resp.Status != 201 {
		t.Fatal(resp.Status)
	}

	all := history(t, api, s.ConversationID, visitor, "")
	var types []string
	for _, e := range all.Events {
		types = append(types, e.Type)
		if e.Audience != conversation.AudienceEveryone {
			t.Fatalf("visitor sees %s event %s", e.Audience, e.Type)
		}
	}
	want := "conversation.started participant.joined message.created message.created message.created message.created"
	if strings.Join(types, " ") != want {
		t.Fatalf("history = %v, want %s", types, want)
	}
	// Page by page from a cursor: no gaps, no repeats.
	resp := api.Do(apitest.Request{Function: "ListEventsFunction", Method: "GET", Route: "/conversations/{id}/events",
		Params: map[string]string{"id": s.ConversationID}, Query: map[string]string{"limit": "4"}, Authorization: visitor})
	var first conversations.HistoryPage
	resp.Decode(t, &first)
	if len(first.Events) != 4 || first.Next == 0 {
		t.Fatalf("first page: %d events, next %d", len(first.Events), first.Next)
	}
	rest := history(t, api, s.ConversationID, visitor, strconv.FormatInt(first.Next, 10))
	if len(rest.Events) != 2 || rest.Next != 0 || rest.Events[1].Data["text"] != "last" {
		t.Fatalf("second page: %+v", rest)
	}
	if bad := api.Do(apitest.Request{Function: "ListEventsFunction", Method: "GET", Route: "/conversations/{id}/events",
		Params: map[string]string{"id": s.ConversationID}, Query: map[string]string{"after": "x' OR 1=1"}, Authorization: visitor}); bad.Status != 400 || bad.ErrorCode() != "invalid_cursor" {
		t.Fatalf("bad cursor: %d %s", bad.Status, bad.Body)
	}
}

func TestLeave_VisitorSessionIsRevokedAtOnce(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	s := startAsVisitor(t, api, nil)
	visitor := apitest.Bearer(s.SessionToken)
	leave := api.Do(apitest.Request{Function: "LeaveConversationFunction", Method: "POST", Route: "/conversations/{id}/leave",
		Params: map[string]string{"id": s.ConversationID}, Authorization: visitor})
	if leave.Status != 204 {
		t.Fatalf("leave: %d %s", leave.Status, leave.Body)
	}
	for _, resp := range []apitest.Response{getConversation(api, s.ConversationID, visitor), postMessage(api, s.ConversationID, visitor, "still here?")} {
		if resp.Status != 401 || resp.ErrorCode() != "session_invalid" {
			t.Fatalf("after leaving: %d %s, want 401 session_invalid", resp.Status, resp.Body)
		}
	}
}

func TestLeave_AssigneeLeavesConversationUnassignedVisibly(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	s := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	if resp := api.Do(apitest.Request{Function: "LeaveConversationFunction", Method: "POST", Route: "/conversations/{id}/leave",
		Params: map[string]string{"id": s.ConversationID}, Authorization: ada}); resp.Status != 204 {
		t.Fatalf("leave: %d %s", resp.Status, resp.Body)
	}
	conv, err := api.Store.Conversation(t.Context(), s.ConversationID)
	if err != nil || conv.Assignee != "" {
		t.Fatalf("after the assignee left: %+v %v", conv, err)
	}
	page, err := api.Store.Events(t.Context(), s.ConversationID, 0, 50, conversation.KindVisitor)
	if err != nil {
		t.Fatal(err)
	}
	last := page.Events[len(page.Events)-1]
	if last.Type != conversation.EventConversationUnassigned || last.Audience != conversation.AudienceEveryone {
		t.Fatalf("last event = %s/%s, want a visible conversation.unassigned", last.Type, last.Audience)
	}
	if resp := getConversation(api, s.ConversationID, ada); resp.Status != 403 || resp.ErrorCode() != "not_participant" {
		t.Fatalf("agent after leaving: %d %s", resp.Status, resp.Body)
	}
}

func TestEnd_EndsVisitorSessionsAndRefusesMessages(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	s := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	end := api.Do(apitest.Request{Function: "EndConversationFunction", Method: "POST", Route: "/conversations/{id}/end",
		Params: map[string]string{"id": s.ConversationID}, Authorization: ada})
	if end.Status != 204 {
		t.Fatalf("end: %d %s", end.Status, end.Body)
	}
	if resp := postMessage(api, s.ConversationID, ada, "anyone?"); resp.Status != 409 || resp.ErrorCode() != "conversation_ended" {
		t.Fatalf("message after end: %d %s", resp.Status, resp.Body)
	}
	if resp := getConversation(api, s.ConversationID, ada); resp.Status != 200 {
		t.Fatalf("agents can still read an ended conversation: %d", resp.Status)
	}
}

func TestLogs_NeverContainTokensOrMessageText(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	s := startAsVisitor(t, api, map[string]any{"displayName": "Secret Name"})
	jwt := api.AgentToken("ada")
	// The card number is long enough that no timestamp or random id in the logs contains it
	// by chance ("4111" alone did, now and then).
	postMessage(api, s.ConversationID, apitest.Bearer(s.SessionToken), "my card number is 4111 1111 1111 1111")
	getConversation(api, s.ConversationID, apitest.Bearer(jwt))
	getConversation(api, s.ConversationID, "Bearer "+strings.Repeat("A", 43))
	logs := api.Logs.String()
	if !strings.Contains(logs, `"action":"post_message"`) || !strings.Contains(logs, s.ConversationID) {
		t.Fatalf("expected request logs, got: %s", logs)
	}
	for _, secret := range []string{s.SessionToken, ids.Hash(s.SessionToken), jwt, "4111 1111 1111 1111", "Secret Name"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret %q", secret[:min(len(secret), 12)])
		}
	}
}

func TestStartConversation_AnonymousStartsAreLimitedPerClientIP(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t, func(o *setup.Overrides) { o.Invitations.Limits.ConversationStartsPerIP.Limit = 3 })
	start := func(ip, authz, key string) apitest.Response {
		req := apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations", SourceIP: ip, Authorization: authz}
		if key != "" {
			req.Headers = map[string]string{"Idempotency-Key": key}
		}
		return api.Do(req)
	}
	for i := 0; i < 3; i++ {
		if resp := start("198.51.100.7", "", ""); resp.Status != 201 {
			t.Fatalf("start %d: %d %s", i, resp.Status, resp.Body)
		}
	}
	over := start("198.51.100.7", "", "over-the-limit-key-unguessable")
	if over.Status != 429 || over.ErrorCode() != "rate_limited" || over.Headers["Retry-After"] == "" {
		t.Fatalf("fourth start from one IP: %d %v %s, want 429 with Retry-After", over.Status, over.Headers, over.Body)
	}
	// A 429 is not remembered under its Idempotency-Key: the retry is limited afresh, not
	// replayed (after the window it would succeed).
	if again := start("198.51.100.7", "", "over-the-limit-key-unguessable"); again.Status != 429 || again.Headers["Idempotency-Replayed"] != "" {
		t.Fatalf("retry of a limited start: %d %v", again.Status, again.Headers)
	}
	if other := start("198.51.100.8", "", ""); other.Status != 201 {
		t.Fatalf("another client is not limited: %d %s", other.Status, other.Body)
	}
	if agent := start("198.51.100.7", apitest.Bearer(api.AgentToken("ada")), ""); agent.Status != 201 {
		t.Fatalf("agents are not limited by the anonymous rule: %d %s", agent.Status, agent.Body)
	}
}

func TestStartConversation_SessionTokenIsNotStoredInTheIdempotencyRecord(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	resp := api.Do(apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
		Headers: map[string]string{"Idempotency-Key": "sealed-1-key-made-unguessable"}})
	var s started
	resp.Decode(t, &s)
	items := scanTable(t, api)
	if strings.Contains(items, s.SessionToken) {
		t.Fatal("the visitor's session token is stored in the table in plain text")
	}
}

func TestStartConversation_VisitorNamingAnEmptyTeamIsRefused(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	if err := api.Store.PutTeam(t.Context(), directory.Team{ID: "night", Name: "Night shift"}); err != nil {
		t.Fatal(err)
	}
	before := countItems(t, api)
	resp := api.Do(apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
		Body: map[string]any{"teamId": "night"}})
	if resp.Status != 422 || resp.ErrorCode() != "team_empty" {
		t.Fatalf("start for an empty team: %d %s, want 422 team_empty", resp.Status, resp.Body)
	}
	if after := countItems(t, api); after != before {
		t.Fatalf("a refused start wrote to the table: %d items, before %d", after, before)
	}
}

// TestStartConversation_AnonymousStartsAreLimitedPerTeam: the public cannot grow one team's
// inbox without bound by spreading starts over many addresses; other teams are not affected,
// and an agent's own starts are not counted.
func TestStartConversation_AnonymousStartsAreLimitedPerTeam(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t, func(o *setup.Overrides) { o.Invitations.Limits.ConversationStartsPerTeam.Limit = 3 })
	seedHandover(t, api)
	if err := api.Store.PutTeam(t.Context(), directory.Team{ID: "sales", Name: "Sales", Members: []string{"linus"}}); err != nil {
		t.Fatal(err)
	}
	start := func(ip, team string) apitest.Response {
		return api.Do(apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
			SourceIP: ip, Body: map[string]any{"teamId": team}})
	}
	for i := range 3 {
		if r := start(fmt.Sprintf("198.51.100.%d", 60+i), "billing"); r.Status != 201 {
			t.Fatalf("start %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := start("198.51.100.99", "billing"); r.Status != 429 || r.Headers["Retry-After"] == "" {
		t.Fatalf("fourth start for billing from a fresh address: %d %s, want 429 with Retry-After", r.Status, r.Body)
	}
	if r := start("198.51.100.98", "sales"); r.Status != 201 {
		t.Fatalf("a start for another team: %d %s", r.Status, r.Body)
	}
	if r := api.Do(apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
		Authorization: apitest.Bearer(api.AgentToken("ada")), Body: map[string]any{"topic": "Callback"}}); r.Status != 201 {
		t.Fatalf("an agent's start: %d %s", r.Status, r.Body)
	}
}

// TestStartConversation_AClientOverItsLimitCostsTheTeamNothing: both windows are counted at
// once, and a start refused per client gives the team's slot back — one noisy address cannot
// use up a team's starts for everyone else.
func TestStartConversation_AClientOverItsLimitCostsTheTeamNothing(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t, func(o *setup.Overrides) {
		o.Invitations.Limits.ConversationStartsPerIP.Limit = 1
		o.Invitations.Limits.ConversationStartsPerTeam.Limit = 2
	})
	seedHandover(t, api)
	start := func(ip string) apitest.Response {
		return api.Do(apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
			SourceIP: ip, Body: map[string]any{"teamId": "billing"}})
	}
	if r := start("198.51.100.70"); r.Status != 201 {
		t.Fatalf("first start: %d %s", r.Status, r.Body)
	}
	for i := range 5 {
		if r := start("198.51.100.70"); r.Status != 429 {
			t.Fatalf("start %d from the same address: %d %s, want 429", i+2, r.Status, r.Body)
		}
	}
	if r := start("198.51.100.71"); r.Status != 201 {
		t.Fatalf("another address, the team's second start: %d %s, want 201 (the refused starts counted against the team)", r.Status, r.Body)
	}
	if r := start("198.51.100.72"); r.Status != 429 {
		t.Fatalf("the team's third start: %d %s, want 429", r.Status, r.Body)
	}
}
