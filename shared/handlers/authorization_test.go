package handlers_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/devkeys"
)

// caller is one kind of caller of the authorization matrix.
type caller string

const (
	anonymous      caller = "anonymous"
	visitorOfThis  caller = "visitor of this conversation"
	visitorOfOther caller = "visitor of another conversation"
	agentIn        caller = "agent participant"
	agentOut       caller = "agent not participant"
	forgedJWT      caller = "forged JWT"
	expiredJWT     caller = "expired JWT"
	wrongIssuerJWT caller = "JWT with wrong issuer"
	wrongAudience  caller = "JWT with wrong audience"
	garbageToken   caller = "garbage bearer"
	unknownSession caller = "unknown session token"
	revokedVisitor caller = "visitor who left"
	agentWhoLeft   caller = "agent who left"
	// The lobby (SPEC §9.3): an invitee of this conversation still waiting to be let in, and
	// one who was refused.
	waitingInvitee caller = "waiting invitee"
	refusedInvitee caller = "refused invitee"
)

var allCallers = []caller{anonymous, visitorOfThis, visitorOfOther, agentIn, agentOut, forgedJWT, expiredJWT,
	wrongIssuerJWT, wrongAudience, garbageToken, unknownSession, revokedVisitor, agentWhoLeft, waitingInvitee, refusedInvitee}

// fixture is a fresh conversation with an agent assignee, a visitor, an invitee waiting in
// its lobby, and people around it.
type fixture struct {
	api            *apitest.API
	conversationID string
	// waitingID is the participant id of the invitee waiting to be let in (admit "agent").
	waitingID string
	authz     map[caller]string
}

func newFixture(t *testing.T, api *apitest.API) fixture {
	t.Helper()
	conv := startAsAgent(t, api, "ada")
	visitor := joinVisitor(t, api, conv.ConversationID)
	leaver := joinVisitor(t, api, conv.ConversationID)
	leave(t, api, conv.ConversationID, apitest.Bearer(leaver))
	agentAuthz := apitest.Bearer(api.AgentToken("ada"))
	waiting := joinLobby(t, api, conv.ConversationID, agentAuthz, "agent")
	refused := joinLobby(t, api, conv.ConversationID, agentAuthz, "agent")
	answerLobby(t, api, conv.ConversationID, refused.ParticipantID, "refuse", agentAuthz, 204)
	other := startAsVisitor(t, api, nil)
	// grace was in the conversation and left.
	graceConv := startAsAgent(t, api, "grace")
	leave(t, api, graceConv.ConversationID, apitest.Bearer(api.AgentToken("grace")))

	stranger, err := devkeys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := stranger.Mint("ada", apitest.Issuer, apitest.Audience, time.Hour)
	now := time.Now()
	claims := func(iss, aud string, exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"sub": "ada", "iss": iss, "aud": aud, "iat": now.Add(-2 * time.Hour).Unix(), "exp": exp.Unix()}
	}
	return fixture{api: api, conversationID: conv.ConversationID, waitingID: waiting.ParticipantID, authz: map[caller]string{
		anonymous:      "",
		visitorOfThis:  apitest.Bearer(visitor),
		visitorOfOther: apitest.Bearer(other.SessionToken),
		agentIn:        apitest.Bearer(api.AgentToken("ada")),
		agentOut:       apitest.Bearer(api.AgentToken("linus")),
		forgedJWT:      apitest.Bearer(forged),
		expiredJWT:     apitest.Bearer(api.SignedToken(claims(apitest.Issuer, apitest.Audience, now.Add(-time.Hour)))),
		wrongIssuerJWT: apitest.Bearer(api.SignedToken(claims("https://evil.test", apitest.Audience, now.Add(time.Hour)))),
		wrongAudience:  apitest.Bearer(api.SignedToken(claims(apitest.Issuer, "someone-else", now.Add(time.Hour)))),
		garbageToken:   "Bearer not.a.jwt",
		unknownSession: apitest.Bearer("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		revokedVisitor: apitest.Bearer(leaver),
		agentWhoLeft:   apitest.Bearer(api.AgentToken("grace")),
		waitingInvitee: apitest.Bearer(waiting.SessionToken),
		refusedInvitee: apitest.Bearer(refused.SessionToken),
	}}
}

// The visitor who "left" in the matrix must have been in this conversation; grace left her
// own. Both must be refused everywhere.

func joinVisitor(t *testing.T, api *apitest.API, conversationID string) string {
	t.Helper()
	// Until customer invitations exist, a visitor joins through the store the way a PIN
	// redemption does: participant + session.
	return addVisitor(t, api, conversationID)
}

func leave(t *testing.T, api *apitest.API, conversationID, authz string) {
	t.Helper()
	resp := api.Do(apitest.Request{Function: "LeaveConversationFunction", Method: "POST", Route: "/conversations/{id}/leave",
		Params: map[string]string{"id": conversationID}, Authorization: authz})
	if resp.Status != 204 {
		t.Fatalf("leave: %d %s", resp.Status, resp.Body)
	}
}

// route is one row of the matrix: how to call it, and the expected status per caller.
type route struct {
	name   string
	req    func(f fixture) apitest.Request
	expect map[caller]int
}

// badCredentials: every refused credential is 401, wherever it is presented.
func withBadCredentials(m map[caller]int) map[caller]int {
	for _, c := range []caller{forgedJWT, expiredJWT, wrongIssuerJWT, wrongAudience, garbageToken, unknownSession, revokedVisitor, refusedInvitee} {
		m[c] = 401
	}
	return m
}

// participantRoute: any active participant; an invitee still in the lobby is refused.
func participantRoute(ok int) map[caller]int {
	return withBadCredentials(map[caller]int{anonymous: 401, visitorOfThis: ok, visitorOfOther: 403, agentIn: ok, agentOut: 403, agentWhoLeft: 403,
		waitingInvitee: 403})
}

func agentParticipantRoute(ok int) map[caller]int {
	return withBadCredentials(map[caller]int{anonymous: 401, visitorOfThis: 403, visitorOfOther: 403, agentIn: ok, agentOut: 403, agentWhoLeft: 403,
		waitingInvitee: 403})
}

func agentRoute(ok int) map[caller]int {
	return withBadCredentials(map[caller]int{anonymous: 401, visitorOfThis: 403, visitorOfOther: 403, agentIn: ok, agentOut: ok, agentWhoLeft: ok,
		waitingInvitee: 403})
}

// anyoneRoute: anonymous callers are welcome; credentials that are sent are checked all the
// same (bad ones 401), and valid ones of any kind are served.
func anyoneRoute(ok int) map[caller]int {
	return withBadCredentials(map[caller]int{anonymous: ok, visitorOfThis: ok, visitorOfOther: ok, agentIn: ok, agentOut: ok, agentWhoLeft: ok,
		waitingInvitee: ok})
}

// signedInRoute: any valid credential, agent or visitor; a waiting invitee too (the connect
// ticket: they hear their answer on the WebSocket).
func signedInRoute(ok int) map[caller]int {
	return withBadCredentials(map[caller]int{anonymous: 401, visitorOfThis: ok, visitorOfOther: ok, agentIn: ok, agentOut: ok, agentWhoLeft: ok,
		waitingInvitee: ok})
}

func onConversation(fn, method, path string, body any) func(f fixture) apitest.Request {
	return func(f fixture) apitest.Request {
		return apitest.Request{Function: fn, Method: method, Route: path, Params: map[string]string{"id": f.conversationID}, Body: body}
	}
}

var matrix = []route{
	{"start conversation", func(fixture) apitest.Request {
		return apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations"}
	}, withBadCredentials(map[caller]int{anonymous: 201, visitorOfThis: 403, visitorOfOther: 403, agentIn: 201, agentOut: 201, agentWhoLeft: 201,
		waitingInvitee: 403})},
	{"get conversation", onConversation("GetConversationFunction", "GET", "/conversations/{id}", nil), participantRoute(200)},
	{"history", onConversation("ListEventsFunction", "GET", "/conversations/{id}/events", nil), participantRoute(200)},
	{"post message", onConversation("PostMessageFunction", "POST", "/conversations/{id}/messages", map[string]any{"text": "hi"}), participantRoute(201)},
	{"leave", onConversation("LeaveConversationFunction", "POST", "/conversations/{id}/leave", nil), participantRoute(204)},
	{"end", onConversation("EndConversationFunction", "POST", "/conversations/{id}/end", nil), agentParticipantRoute(204)},
	// Only the side the invitation names answers a wait ("agent" here), never the invitee.
	{"admit", onWaiting("AdmitParticipantFunction", "admit"), agentParticipantRoute(200)},
	{"refuse", onWaiting("RefuseParticipantFunction", "refuse"), agentParticipantRoute(204)},
	{"list agents", func(fixture) apitest.Request {
		return apitest.Request{Function: "ListAgentsFunction", Method: "GET", Route: "/agents"}
	}, agentRoute(200)},
	{"list teams", func(fixture) apitest.Request {
		return apitest.Request{Function: "ListTeamsFunction", Method: "GET", Route: "/teams"}
	}, agentRoute(200)},
}

// TestAuthorization_EveryRouteRefusesTheWrongCaller runs every route for every kind of
// caller against a fresh conversation (so state-changing calls don't affect each other).
func TestAuthorization_EveryRouteRefusesTheWrongCaller(t *testing.T) {
	t.Parallel()
	for _, r := range matrix {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			api := apitest.NewWithoutPushes(t)
			for _, c := range allCallers {
				want, ok := r.expect[c]
				if !ok {
					t.Fatalf("matrix row %q has no expectation for %q", r.name, c)
				}
				f := newFixture(t, api)
				req := r.req(f)
				req.Authorization = f.authz[c]
				resp := api.Do(req)
				if resp.Status != want {
					t.Errorf("%s as %s: got %d %s, want %d", r.name, c, resp.Status, resp.Body, want)
				}
				if resp.Status >= 400 && resp.ErrorCode() == "" {
					t.Errorf("%s as %s: error without a stable code: %s", r.name, c, resp.Body)
				}
			}
		})
	}
}

// TestAuthorization_TheMatrixCoversEveryRouteOfTheTemplate: a route added to template.yaml
// without a row (and so without a wrong-caller test) fails here.
func TestAuthorization_TheMatrixCoversEveryRouteOfTheTemplate(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	f := newFixture(t, api)
	covered := map[string]bool{}
	for _, rows := range [][]route{matrix, handoverMatrix} {
		for _, r := range rows {
			req := r.req(f)
			covered[req.Method+" "+req.Route] = true
		}
	}
	for _, rt := range loadTemplate(t).HTTPRoutes() {
		if !covered[rt.Method+" "+rt.Path] {
			t.Errorf("%s %s (%s) has no row in the authorization matrix", rt.Method, rt.Path, rt.FunctionLogicalID)
		}
	}
}
