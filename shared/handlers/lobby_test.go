package handlers_test

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/sweep"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

// The lobby (SPEC §9.3), end to end through the handlers against DynamoDB Local, pushing to a
// recording @connections endpoint.

type lobbyJoined struct {
	ConversationID string    `json:"conversationId"`
	ParticipantID  string    `json:"participantId"`
	SessionToken   string    `json:"sessionToken"`
	State          string    `json:"state"`
	WaitingUntil   time.Time `json:"waitingUntil"`
}

// joinLobby invites a customer by PIN with the given admit and redeems it.
func joinLobby(t testing.TB, api *apitest.API, conversationID, agentAuthz, admit string) lobbyJoined {
	t.Helper()
	resp := api.Do(apitest.Request{Function: "CreatePinInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/pin",
		Params: map[string]string{"id": conversationID}, Authorization: agentAuthz, Body: map[string]any{"admit": admit}})
	if resp.Status != 201 {
		t.Fatalf("create PIN with admit %q: %d %s", admit, resp.Status, resp.Body)
	}
	var pin struct {
		PIN string `json:"pin"`
	}
	resp.Decode(t, &pin)
	joined := api.Do(apitest.Request{Function: "RedeemPinFunction", Method: "POST", Route: "/join/pin",
		Body: map[string]any{"pin": pin.PIN, "displayName": "Lou"}})
	if joined.Status != 201 {
		t.Fatalf("redeem PIN: %d %s", joined.Status, joined.Body)
	}
	var out lobbyJoined
	joined.Decode(t, &out)
	return out
}

// answerLobby admits or refuses a waiting participant and checks the status.
func answerLobby(t testing.TB, api *apitest.API, conversationID, participantID, verb, authz string, want int) apitest.Response {
	t.Helper()
	resp := lobbyAnswer(api, conversationID, participantID, verb, authz)
	if resp.Status != want {
		t.Fatalf("%s %s: %d %s, want %d", verb, participantID, resp.Status, resp.Body, want)
	}
	return resp
}

func lobbyAnswer(api *apitest.API, conversationID, participantID, verb, authz string) apitest.Response {
	fn := map[string]string{"admit": "AdmitParticipantFunction", "refuse": "RefuseParticipantFunction"}[verb]
	return api.Do(apitest.Request{Function: fn, Method: "POST", Route: "/conversations/{id}/participants/{participantId}/" + verb,
		Params: map[string]string{"id": conversationID, "participantId": participantID}, Authorization: authz})
}

// onWaiting answers the fixture's waiting invitee (the authorization matrix).
func onWaiting(fn, verb string) func(f fixture) apitest.Request {
	return func(f fixture) apitest.Request {
		return apitest.Request{Function: fn, Method: "POST", Route: "/conversations/{id}/participants/{participantId}/" + verb,
			Params: map[string]string{"id": f.conversationID, "participantId": f.waitingID}}
	}
}

// connectAs records an open WebSocket connection of a visitor or an agent.
// connectAs connects once what was committed before is pushed: the connection hears only what
// comes after.
func connectAs(t testing.TB, api *apitest.API, connectionID, principalKey string) {
	t.Helper()
	api.AwaitStream()
	if err := api.Store.PutConnection(t.Context(), store.Connection{ID: connectionID, PrincipalKey: principalKey, Kind: "visitor"}); err != nil {
		t.Fatal(err)
	}
}

// pushed is what a connection received once everything committed so far is pushed.
func pushed(t testing.TB, api *apitest.API, connectionID string) []wsapi.Message {
	t.Helper()
	api.AwaitStream()
	return api.Push.Messages(t, connectionID)
}

func pushTypes(msgs []wsapi.Message) []string {
	out := []string{}
	for _, m := range msgs {
		out = append(out, m.Type)
	}
	return out
}

// lobbyTypes are the lobby's pushes among msgs.
func lobbyTypes(msgs []wsapi.Message) []string {
	out := []string{}
	for _, typ := range pushTypes(msgs) {
		switch typ {
		case conversation.EventParticipantWaiting, conversation.EventParticipantAdmitted, conversation.EventParticipantRefused:
			out = append(out, typ)
		}
	}
	return out
}

// call runs a conversation route as the caller.
func call(api *apitest.API, fn, method, route, conversationID, authz string, body any) apitest.Response {
	return api.Do(apitest.Request{Function: fn, Method: method, Route: route, Params: map[string]string{"id": conversationID},
		Authorization: authz, Body: body})
}

// waitingSeesNothing checks that a waiting invitee reads and writes nothing.
func waitingSeesNothing(t *testing.T, api *apitest.API, conversationID, authz string) {
	t.Helper()
	for _, r := range []struct {
		fn, method, route string
		body              any
	}{
		{"GetConversationFunction", "GET", "/conversations/{id}", nil},
		{"ListEventsFunction", "GET", "/conversations/{id}/events", nil},
		{"PostMessageFunction", "POST", "/conversations/{id}/messages", map[string]any{"text": "let me in"}},
		{"LeaveConversationFunction", "POST", "/conversations/{id}/leave", nil},
	} {
		resp := call(api, r.fn, r.method, r.route, conversationID, authz, r.body)
		if resp.Status != 403 || resp.ErrorCode() != "waiting_for_admission" {
			t.Errorf("waiting invitee %s %s: %d %s, want 403 waiting_for_admission", r.method, r.route, resp.Status, resp.Body)
		}
	}
	// The agents' routes too: the invitee hears that they wait, not that they are no agent.
	for _, r := range []struct{ fn, method, route string }{
		{"ListInvitationsFunction", "GET", "/conversations/{id}/invitations"},
		{"CreatePinInvitationFunction", "POST", "/conversations/{id}/invitations/pin"},
		{"EndConversationFunction", "POST", "/conversations/{id}/end"},
	} {
		resp := call(api, r.fn, r.method, r.route, conversationID, authz, nil)
		if resp.Status != 403 || resp.ErrorCode() != "waiting_for_admission" {
			t.Errorf("waiting invitee %s %s: %d %s, want 403 waiting_for_admission", r.method, r.route, resp.Status, resp.Body)
		}
	}
}

func participantStates(t *testing.T, api *apitest.API, conversationID, authz string) map[string]string {
	t.Helper()
	resp := call(api, "GetConversationFunction", "GET", "/conversations/{id}", conversationID, authz, nil)
	if resp.Status != 200 {
		t.Fatalf("get conversation: %d %s", resp.Status, resp.Body)
	}
	var v struct {
		Participants []struct {
			ID    string `json:"participantId"`
			State string `json:"state"`
		} `json:"participants"`
	}
	resp.Decode(t, &v)
	out := map[string]string{}
	for _, p := range v.Participants {
		out[p.ID] = p.State
	}
	return out
}

func TestLobby_AdmitAgent_TheInviteeWaitsSeesNothingAndIsLetInByAnAgent(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	conv := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	sam := joinLobby(t, api, conv.ConversationID, ada, "none")
	if sam.State != "active" || !sam.WaitingUntil.IsZero() {
		t.Fatalf("admit none: %+v, want an active participant", sam)
	}
	connectAs(t, api, "ada=", store.AgentPrincipal("ada"))
	connectAs(t, api, "sam=", store.VisitorPrincipal(sam.ParticipantID))

	lou := joinLobby(t, api, conv.ConversationID, ada, "agent")
	if lou.State != "waiting" || time.Until(lou.WaitingUntil) < 9*time.Minute || time.Until(lou.WaitingUntil) > 10*time.Minute {
		t.Fatalf("admit agent: %+v, want waiting for 10 minutes", lou)
	}
	connectAs(t, api, "lou=", store.VisitorPrincipal(lou.ParticipantID))
	louAuthz := apitest.Bearer(lou.SessionToken)
	waitingSeesNothing(t, api, conv.ConversationID, louAuthz)
	if resp, _ := connectTicket(t, api, louAuthz); resp.Status != 201 {
		t.Errorf("waiting invitee asks for a connect ticket: %d %s, want 201", resp.Status, resp.Body)
	}
	if got := participantStates(t, api, conv.ConversationID, ada)[lou.ParticipantID]; got != "waiting" {
		t.Errorf("the agent sees the invitee as %q, want waiting", got)
	}
	if _, listed := participantStates(t, api, conv.ConversationID, apitest.Bearer(sam.SessionToken))[lou.ParticipantID]; listed {
		t.Error("a customer sees an invitee whom only agents let in")
	}
	call(api, "PostMessageFunction", "POST", "/conversations/{id}/messages", conv.ConversationID, apitest.Bearer(sam.SessionToken), map[string]any{"text": "secret"})

	// Nobody but an agent participant answers: not the customer, not the invitee, not an agent outside.
	for who, authz := range map[string]string{"customer": apitest.Bearer(sam.SessionToken), "invitee": louAuthz, "agent outside": apitest.Bearer(api.AgentToken("linus"))} {
		for _, verb := range []string{"admit", "refuse"} {
			if resp := lobbyAnswer(api, conv.ConversationID, lou.ParticipantID, verb, authz); resp.Status != 403 {
				t.Errorf("%s %ss: %d %s, want 403", who, verb, resp.Status, resp.Body)
			}
		}
	}
	if resp := lobbyAnswer(api, conv.ConversationID, "vis_nobody", "admit", ada); resp.Status != 404 || resp.ErrorCode() != "participant_not_found" {
		t.Errorf("admit an unknown participant: %d %s, want 404 participant_not_found", resp.Status, resp.Body)
	}
	if resp := lobbyAnswer(api, conv.ConversationID, sam.ParticipantID, "admit", ada); resp.Status != 409 || resp.ErrorCode() != "not_waiting" {
		t.Errorf("admit an active participant: %d %s, want 409 not_waiting", resp.Status, resp.Body)
	}
	api.AwaitStream()
	if got := api.Push.Raw("lou="); len(got) != 0 {
		t.Fatalf("the waiting invitee was pushed %d messages: %s", len(got), got)
	}

	admitted := answerLobby(t, api, conv.ConversationID, lou.ParticipantID, "admit", ada, 200)
	var p conversation.Participant
	admitted.Decode(t, &p)
	if p.State != conversation.StateActive || p.ID != lou.ParticipantID {
		t.Fatalf("admitted: %+v", p)
	}
	if again := lobbyAnswer(api, conv.ConversationID, lou.ParticipantID, "refuse", ada); again.Status != 409 {
		t.Errorf("refuse after admit: %d %s, want 409", again.Status, again.Body)
	}
	history := call(api, "ListEventsFunction", "GET", "/conversations/{id}/events", conv.ConversationID, louAuthz, nil)
	var page struct {
		Events []conversation.Event `json:"events"`
	}
	history.Decode(t, &page)
	var seen []string
	for _, e := range page.Events {
		seen = append(seen, e.Type)
	}
	if history.Status != 200 || !slices.Contains(seen, conversation.EventMessageCreated) || !slices.Contains(seen, conversation.EventParticipantAdmitted) ||
		slices.Contains(seen, conversation.EventParticipantWaiting) {
		t.Errorf("admitted invitee's history: %d %v, want the whole customer-visible history", history.Status, seen)
	}
	if got := pushTypes(pushed(t, api, "lou=")); !slices.Equal(got, []string{conversation.EventParticipantAdmitted}) {
		t.Errorf("the invitee was pushed %v, want only participant.admitted", got)
	}
	if got := pushTypes(pushed(t, api, "ada=")); !slices.Contains(got, conversation.EventParticipantWaiting) || !slices.Contains(got, conversation.EventParticipantAdmitted) {
		t.Errorf("the agent was pushed %v, want participant.waiting and participant.admitted", got)
	}
	if got := pushTypes(pushed(t, api, "sam=")); slices.Contains(got, conversation.EventParticipantWaiting) || !slices.Contains(got, conversation.EventParticipantAdmitted) {
		t.Errorf("the customer was pushed %v, want participant.admitted and no participant.waiting", got)
	}
	if resp := call(api, "PostMessageFunction", "POST", "/conversations/{id}/messages", conv.ConversationID, louAuthz, map[string]any{"text": "hello"}); resp.Status != 201 {
		t.Errorf("the admitted invitee posts: %d %s", resp.Status, resp.Body)
	}
}

func TestLobby_AdmitCustomer_ACustomerPresentRefusesAndTheInviteesSessionEnds(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	conv := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	sam := joinLobby(t, api, conv.ConversationID, ada, "none")
	connectAs(t, api, "ada=", store.AgentPrincipal("ada"))
	connectAs(t, api, "sam=", store.VisitorPrincipal(sam.ParticipantID))
	lou := joinLobby(t, api, conv.ConversationID, ada, "customer")
	connectAs(t, api, "lou=", store.VisitorPrincipal(lou.ParticipantID))
	louAuthz := apitest.Bearer(lou.SessionToken)
	waitingSeesNothing(t, api, conv.ConversationID, louAuthz)
	if got := participantStates(t, api, conv.ConversationID, apitest.Bearer(sam.SessionToken))[lou.ParticipantID]; got != "waiting" {
		t.Errorf("the customer who lets them in sees the invitee as %q, want waiting", got)
	}
	if got := pushTypes(pushed(t, api, "sam=")); !slices.Equal(got, []string{conversation.EventParticipantWaiting}) {
		t.Errorf("the customer present was pushed %v, want participant.waiting", got)
	}
	if resp := lobbyAnswer(api, conv.ConversationID, lou.ParticipantID, "refuse", louAuthz); resp.Status != 403 {
		t.Errorf("the invitee refuses themselves: %d %s, want 403", resp.Status, resp.Body)
	}

	answerLobby(t, api, conv.ConversationID, lou.ParticipantID, "refuse", apitest.Bearer(sam.SessionToken), 204)

	for _, r := range []struct{ fn, method, route string }{
		{"GetConversationFunction", "GET", "/conversations/{id}"},
		{"ListEventsFunction", "GET", "/conversations/{id}/events"},
		{"CreateConnectTicketFunction", "POST", "/connect-ticket"},
	} {
		if resp := call(api, r.fn, r.method, r.route, conv.ConversationID, louAuthz, nil); resp.Status != 401 {
			t.Errorf("refused invitee %s %s: %d %s, want 401", r.method, r.route, resp.Status, resp.Body)
		}
	}
	if got := pushed(t, api, "lou="); len(got) != 1 || got[0].Type != conversation.EventParticipantRefused || got[0].Data["reason"] != "refused" {
		t.Errorf("the refused invitee was pushed %+v, want participant.refused", got)
	}
	if !api.Push.Closed("lou=") {
		t.Error("the refused invitee's socket was not closed")
	}
	for _, conn := range []string{"ada=", "sam="} {
		if got := lobbyTypes(pushed(t, api, conn)); !slices.Equal(got, []string{conversation.EventParticipantWaiting, conversation.EventParticipantRefused}) {
			t.Errorf("%s was pushed %v, want participant.waiting then participant.refused", conn, got)
		}
	}
	if _, listed := participantStates(t, api, conv.ConversationID, ada)[lou.ParticipantID]; listed {
		t.Error("a refused invitee is still listed")
	}
}

func TestLobby_AdmitMustBeNoneAgentOrCustomer(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	conv := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	for _, bad := range []any{"anyone", "AGENT", "", 1, true} {
		if bad == "" {
			continue // absent or empty is "none"
		}
		for _, r := range []struct {
			fn, route string
			body      map[string]any
		}{
			{"CreatePinInvitationFunction", "/conversations/{id}/invitations/pin", map[string]any{"admit": bad}},
			{"CreateEmailInvitationFunction", "/conversations/{id}/invitations/email", map[string]any{"email": "lou@example.com", "admit": bad}},
		} {
			resp := call(api, r.fn, "POST", r.route, conv.ConversationID, ada, r.body)
			if want := map[bool]string{true: "invalid_admit", false: "invalid_field"}[isString(bad)]; resp.Status != 400 || resp.ErrorCode() != want {
				t.Errorf("%s admit %v: %d %s, want 400 %s", r.route, bad, resp.Status, resp.Body, want)
			}
		}
	}
	st, err := api.Store.Standing(t.Context(), conv.ConversationID, "", "")
	if err != nil || len(st.Head.Pending) != 0 {
		t.Fatalf("refused requests wrote invitations: %v %v", st.Head.Pending, err)
	}
	if got := joinLobby(t, api, conv.ConversationID, ada, "none"); got.State != "active" {
		t.Errorf("admit none: %+v", got)
	}
}

func isString(v any) bool { _, ok := v.(string); return ok }

// testClock is real time, moved ahead when a test says so; with skews, each reading comes
// from one of several Lambdas' clocks, each off by its own amount.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
	skews  []time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().UTC().Add(c.offset)
	if len(c.skews) > 0 {
		now = now.Add(c.skews[rand.IntN(len(c.skews))])
	}
	return now
}

func (c *testClock) set(offset time.Duration, skews ...time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset, c.skews = offset, skews
}

func clockedAPI(t *testing.T) (*apitest.API, *testClock) {
	c := &testClock{}
	api := apitest.New(t, func(o *setup.Overrides) { o.Store = o.Store.WithClock(c.Now) })
	api.Deps.Now = c.Now
	return api, c
}

func runSweep(t *testing.T, api *apitest.API) sweep.Report {
	t.Helper()
	var rep sweep.Report
	invoke(t, api, "ExpireInvitationsFunction", events.EventBridgeEvent{ID: "sweep"}, &rep)
	return rep
}

func TestLobby_AWaitNobodyAnswersIsARefusalAtOnceAndPushedByTheSweep(t *testing.T) {
	t.Parallel()
	api, clock := clockedAPI(t)
	conv := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	connectAs(t, api, "ada=", store.AgentPrincipal("ada"))
	lou := joinLobby(t, api, conv.ConversationID, ada, "agent")
	connectAs(t, api, "lou=", store.VisitorPrincipal(lou.ParticipantID))
	louAuthz := apitest.Bearer(lou.SessionToken)

	// The clock moves relative to the deadline, not to when the wait began: a loaded
	// machine takes seconds between the two.
	clock.set(time.Until(lou.WaitingUntil) - 30*time.Second)
	if rep := runSweep(t, api); rep.Lobby.Refused != 0 {
		t.Fatalf("the sweep refused a wait that had not run out: %+v", rep)
	}
	waitingSeesNothing(t, api, conv.ConversationID, louAuthz)

	clock.set(time.Until(lou.WaitingUntil) + time.Second)
	// Exact at read, before any sweep: the session has ended, nobody lists them, nobody
	// can let them in.
	if resp := call(api, "GetConversationFunction", "GET", "/conversations/{id}", conv.ConversationID, louAuthz, nil); resp.Status != 401 {
		t.Errorf("timed-out invitee reads: %d %s, want 401", resp.Status, resp.Body)
	}
	if resp, _ := connectTicket(t, api, louAuthz); resp.Status != 401 {
		t.Errorf("timed-out invitee asks for a ticket: %d %s, want 401", resp.Status, resp.Body)
	}
	if _, listed := participantStates(t, api, conv.ConversationID, ada)[lou.ParticipantID]; listed {
		t.Error("a timed-out invitee is still listed")
	}
	if resp := lobbyAnswer(api, conv.ConversationID, lou.ParticipantID, "admit", ada); resp.Status != 409 || resp.ErrorCode() != "not_waiting" {
		t.Errorf("admit after the timeout: %d %s, want 409 not_waiting", resp.Status, resp.Body)
	}
	api.AwaitStream()
	if got := api.Push.Raw("lou="); len(got) != 0 {
		t.Fatalf("pushed before the sweep: %s", got)
	}

	if rep := runSweep(t, api); rep.Lobby.Refused != 1 || rep.Lobby.Failed != 0 {
		t.Fatalf("sweep: %+v, want one refusal", rep)
	}
	if got := pushed(t, api, "lou="); len(got) != 1 || got[0].Type != conversation.EventParticipantRefused || got[0].Data["reason"] != "timeout" {
		t.Errorf("the invitee was pushed %+v, want participant.refused (timeout)", got)
	}
	if !api.Push.Closed("lou=") {
		t.Error("the timed-out invitee's socket was not closed")
	}
	if got := lobbyTypes(pushed(t, api, "ada=")); !slices.Equal(got, []string{conversation.EventParticipantWaiting, conversation.EventParticipantRefused}) {
		t.Errorf("the agent was pushed %v", got)
	}
	if rep := runSweep(t, api); rep.Lobby.Refused != 0 {
		t.Errorf("a second sweep refused again: %+v", rep)
	}
}

func TestLobby_TheTimeoutIsASetting(t *testing.T) {
	t.Setenv(setup.LobbyTimeoutMinutesVar, "3")
	api := apitest.New(t, func(o *setup.Overrides) { o.Invitations = nil })
	if got := api.Deps.InvitationConfig().LobbyTimeout; got != 3*time.Minute {
		t.Fatalf("LOBBY_TIMEOUT_MINUTES=3 gives %v", got)
	}
	for _, bad := range []string{"0", "1441", "ten"} {
		t.Setenv(setup.LobbyTimeoutMinutesVar, bad)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("LOBBY_TIMEOUT_MINUTES=%s was accepted at init", bad)
				}
			}()
			apitest.New(t, func(o *setup.Overrides) { o.Invitations = nil }).Deps.InvitationConfig()
		}()
	}
}

func TestLobby_TheSweepEmptiesTheLobbyOfAnEndedConversation(t *testing.T) {
	t.Parallel()
	api, clock := clockedAPI(t)
	conv := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	lou := joinLobby(t, api, conv.ConversationID, ada, "agent")
	if resp := call(api, "EndConversationFunction", "POST", "/conversations/{id}/end", conv.ConversationID, ada, nil); resp.Status != 204 {
		t.Fatalf("end: %d %s", resp.Status, resp.Body)
	}
	if resp := call(api, "GetConversationFunction", "GET", "/conversations/{id}", conv.ConversationID, apitest.Bearer(lou.SessionToken), nil); resp.Status != 401 {
		t.Errorf("a waiting invitee after the end: %d %s, want 401", resp.Status, resp.Body)
	}
	clock.set(time.Until(lou.WaitingUntil) + time.Second)
	if rep := runSweep(t, api); rep.Lobby.Refused != 1 || rep.Lobby.Failed != 0 {
		t.Fatalf("sweep: %+v, want the wait removed", rep)
	}
	if _, err := api.Store.Participant(t.Context(), conv.ConversationID, lou.ParticipantID); !store.IsNotFound(err) {
		t.Errorf("the waiting participant of an ended conversation is still there: %v", err)
	}
	o := outcomeOf(t, api, conv.ConversationID, ada, lou)
	if o.lastType != conversation.EventConversationEnded || o.refused != 0 {
		t.Errorf("history after the sweep: %+v, want nothing after conversation.ended", o)
	}
	if rep := runSweep(t, api); rep.Lobby.Refused != 0 || rep.Lobby.Skipped != 0 {
		t.Errorf("the next sweep found it again: %+v", rep)
	}
}
