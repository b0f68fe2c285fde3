package handlers_test

import (
	"testing"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/directory"
)

// seedHandover puts the agents and the team the hand-over routes address into the directory.
func seedHandover(t *testing.T, api *apitest.API) {
	t.Helper()
	for _, a := range []string{"ada", "grace", "linus", "mia"} {
		if err := api.Store.PutAgent(t.Context(), directory.Agent{ID: a, Name: a, Status: directory.StatusAvailable}); err != nil {
			t.Fatal(err)
		}
	}
	if err := api.Store.PutTeam(t.Context(), directory.Team{ID: "billing", Name: "Billing", Members: []string{"mia"}}); err != nil {
		t.Fatal(err)
	}
}

var handoverMatrix = []route{
	{"invite agent", onConversation("InviteAgentFunction", "POST", "/conversations/{id}/invitations/agent",
		map[string]any{"agentId": "mia", "message": "help?"}), agentParticipantRoute(201)},
	{"invite team", onConversation("InviteTeamFunction", "POST", "/conversations/{id}/invitations/team",
		map[string]any{"teamId": "billing"}), agentParticipantRoute(201)},
	{"forward", onConversation("ForwardConversationFunction", "POST", "/conversations/{id}/forward",
		map[string]any{"to": map[string]any{"kind": "agent", "id": "mia"}, "message": "yours"}), agentParticipantRoute(201)},
	{"accept", onOfferToLinus("AcceptInvitationFunction", "/invitations/{invitationId}/accept"), invitedRoute(200)},
	{"decline", onOfferToLinus("DeclineInvitationFunction", "/invitations/{invitationId}/decline"), invitedRoute(204)},
	{"inbox", func(fixture) apitest.Request {
		return apitest.Request{Function: "GetInboxFunction", Method: "GET", Route: "/inbox"}
	}, agentRoute(200)},
}

// onOfferToLinus answers a fresh invitation of the fixture's conversation addressed to linus,
// who is agentOut of the matrix: the one caller who may answer it.
func onOfferToLinus(fn, path string) func(f fixture) apitest.Request {
	return func(f fixture) apitest.Request {
		resp := f.api.Do(apitest.Request{Function: "InviteAgentFunction", Method: "POST", Route: "/conversations/{id}/invitations/agent",
			Params: map[string]string{"id": f.conversationID}, Authorization: f.authz[agentIn], Body: map[string]any{"agentId": "linus"}})
		var inv struct {
			ID string `json:"invitationId"`
		}
		resp.Decode(f.api.T, &inv)
		return apitest.Request{Function: fn, Method: "POST", Route: path, Params: map[string]string{"invitationId": inv.ID}}
	}
}

// invitedRoute: only the invited agent (linus, agentOut) answers.
func invitedRoute(ok int) map[caller]int {
	return withBadCredentials(map[caller]int{anonymous: 401, visitorOfThis: 403, visitorOfOther: 403, agentIn: 403, agentOut: ok, agentWhoLeft: 403,
		waitingInvitee: 403})
}

// TestHandoverAuthorization_OnlyAgentParticipantsInviteAndForward runs the hand-over routes
// of a conversation for every kind of caller against a fresh conversation.
func TestHandoverAuthorization_OnlyAgentParticipantsInviteAndForward(t *testing.T) {
	t.Parallel()
	for _, r := range handoverMatrix {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			api := apitest.NewWithoutPushes(t)
			seedHandover(t, api)
			for _, c := range allCallers {
				f := newFixture(t, api)
				req := r.req(f)
				req.Authorization = f.authz[c]
				resp := api.Do(req)
				if want := r.expect[c]; resp.Status != want {
					t.Errorf("%s as %s: got %d %s, want %d", r.name, c, resp.Status, resp.Body, want)
				}
				if resp.Status >= 400 && resp.ErrorCode() == "" {
					t.Errorf("%s as %s: error without a stable code: %s", r.name, c, resp.Body)
				}
			}
		})
	}
}

// TestHandoverAuthorization_OnlyTheInvitedAnswer: only the invited agent, or a member of the
// invited team, accepts or declines; everyone else is refused, whatever they hold.
func TestHandoverAuthorization_OnlyTheInvitedAnswer(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	seedHandover(t, api)
	invite := func(route, body string) (string, string) {
		t.Helper()
		conv := startAsAgent(t, api, "ada")
		req := apitest.Request{Function: "InviteAgentFunction", Method: "POST", Route: "/conversations/{id}/invitations/agent",
			Params: map[string]string{"id": conv.ConversationID}, Authorization: apitest.Bearer(api.AgentToken("ada"))}
		switch route {
		case "agent":
			req.Body = map[string]any{"agentId": body}
		case "team":
			req.Function, req.Route, req.Body = "InviteTeamFunction", "/conversations/{id}/invitations/team", map[string]any{"teamId": body}
		case "forward":
			req.Function, req.Route, req.Body = "ForwardConversationFunction", "/conversations/{id}/forward",
				map[string]any{"to": map[string]any{"kind": "team", "id": body}}
		}
		resp := api.Do(req)
		if resp.Status != 201 {
			t.Fatalf("%s invitation: %d %s", route, resp.Status, resp.Body)
		}
		var inv struct {
			ID string `json:"invitationId"`
		}
		resp.Decode(t, &inv)
		return conv.ConversationID, inv.ID
	}
	agent := func(id string) string { return apitest.Bearer(api.AgentToken(id)) }
	cases := []struct {
		name     string
		kind     string // agent, team or forward (to a team)
		target   string
		caller   func(conversationID string) string
		accept   int
		decline  int
		wantCode string
	}{
		{"the invited agent", "agent", "mia", func(string) string { return agent("mia") }, 200, 204, ""},
		{"another agent", "agent", "mia", func(string) string { return agent("linus") }, 403, 403, "not_invited"},
		{"the inviter", "agent", "mia", func(string) string { return agent("ada") }, 403, 403, "not_invited"},
		{"a team member", "team", "billing", func(string) string { return agent("mia") }, 200, 204, ""},
		{"not a team member", "team", "billing", func(string) string { return agent("grace") }, 403, 403, "not_invited"},
		{"a member of the forward's team", "forward", "billing", func(string) string { return agent("mia") }, 200, 204, ""},
		{"not a member of the forward's team", "forward", "billing", func(string) string { return agent("linus") }, 403, 403, "not_invited"},
		{"the conversation's visitor", "agent", "mia", func(c string) string { return apitest.Bearer(addVisitor(t, api, c)) }, 403, 403, "agent_only"},
		{"anonymous", "agent", "mia", func(string) string { return "" }, 401, 401, "unauthenticated"},
		{"a forged JWT", "agent", "mia", func(string) string { return "Bearer not.a.jwt" }, 401, 401, ""},
	}
	for _, c := range cases {
		for _, action := range []string{"accept", "decline"} {
			conv, inv := invite(c.kind, c.target)
			want := c.accept
			if action == "decline" {
				want = c.decline
			}
			resp := api.Do(apitest.Request{Function: map[string]string{"accept": "AcceptInvitationFunction", "decline": "DeclineInvitationFunction"}[action],
				Method: "POST", Route: "/invitations/{invitationId}/" + action, Params: map[string]string{"invitationId": inv},
				Authorization: c.caller(conv)})
			if resp.Status != want || (c.wantCode != "" && resp.ErrorCode() != c.wantCode) {
				t.Errorf("%s: %s as %s: got %d %s, want %d %s", c.kind, action, c.name, resp.Status, resp.Body, want, c.wantCode)
			}
		}
	}
}
