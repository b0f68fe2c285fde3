package handover_test

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// clock is a test's time: real time, moved ahead when a test says so.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
	// skews, when set, are the clocks of several Lambdas: each reading comes from one of
	// them at random, as each request lands on whichever instance is free.
	skews []time.Duration
}

func newClock() *clock { return &clock{} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().UTC().Add(c.offset)
	if len(c.skews) > 0 {
		now = now.Add(c.skews[rand.IntN(len(c.skews))])
	}
	return now
}

// skew makes the clock read like the given Lambdas' clocks, each off by its own amount.
func (c *clock) skew(skews ...time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skews = skews
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// world is one deployment: real handlers through the real authorizer against DynamoDB Local,
// pushing through the table's stream and the real push function to a recording @connections
// endpoint, on a test clock.
type world struct {
	t     *testing.T
	api   *apitest.API
	clock *clock
	st    *store.Store // on the test clock
}

func newWorld(t *testing.T, mode handover.Mode, more ...func(*setup.Overrides)) *world {
	t.Helper()
	return buildWorld(t, apitest.New, mode, more)
}

// newQuietWorld is a world that pushes nothing (its table has no stream): for races that
// never look at pushes, whose load the push function's lookups would double.
func newQuietWorld(t *testing.T, mode handover.Mode, more ...func(*setup.Overrides)) *world {
	t.Helper()
	return buildWorld(t, apitest.NewWithoutPushes, mode, more)
}

func buildWorld(t *testing.T, newAPI func(testing.TB, ...func(*setup.Overrides)) *apitest.API, mode handover.Mode, more []func(*setup.Overrides)) *world {
	t.Helper()
	c := newClock()
	cfg := handover.DefaultConfig()
	cfg.Mode, cfg.DefaultTeamID = mode, "support"
	var st *store.Store
	api := newAPI(t, func(o *setup.Overrides) {
		o.Store = o.Store.WithClock(c.Now)
		st = o.Store
		o.Handover = &cfg
		for _, f := range more {
			f(o)
		}
	})
	api.Deps.Now = c.Now
	w := &world{t: t, api: api, clock: c, st: st}
	w.agents("ada", "grace", "linus", "mia")
	w.team("support", "Support", "ada", "grace", "linus")
	w.team("billing", "Billing", "grace", "mia")
	return w
}

func (w *world) agents(ids ...string) {
	w.t.Helper()
	for _, id := range ids {
		name := strings.ToUpper(id[:1]) + id[1:]
		if err := w.st.PutAgent(w.t.Context(), directory.Agent{ID: id, Name: name, Status: directory.StatusAvailable}); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *world) team(id, name string, members ...string) {
	w.t.Helper()
	if err := w.st.PutTeam(w.t.Context(), directory.Team{ID: id, Name: name, Members: members}); err != nil {
		w.t.Fatal(err)
	}
}

// connect opens a (recorded) WebSocket connection for an agent; its id is "ws-<agent>".
func (w *world) connect(agentIDs ...string) {
	w.t.Helper()
	for _, a := range agentIDs {
		if err := w.st.PutConnection(w.t.Context(), store.Connection{ID: "ws-" + a, PrincipalKey: store.AgentPrincipal(a), Kind: "agent", AgentID: a}); err != nil {
			w.t.Fatal(err)
		}
	}
}

// connectVisitor opens a connection for a visitor participant; its id is "ws-visitor".
func (w *world) connectVisitor(participantID string) {
	w.t.Helper()
	if err := w.st.PutConnection(w.t.Context(), store.Connection{ID: "ws-visitor", PrincipalKey: store.VisitorPrincipal(participantID), Kind: "visitor"}); err != nil {
		w.t.Fatal(err)
	}
}

// pushes is what the connection received once everything committed so far was pushed.
func (w *world) pushes(connectionID string) []wsapi.Message {
	w.api.AwaitStream()
	return w.api.Push.Messages(w.t, connectionID)
}

// closed reports whether the server closed the connection, once everything committed so far
// was pushed (the push function closes sockets after it pushes).
func (w *world) closed(connectionID string) bool {
	w.api.AwaitStream()
	return w.api.Push.Closed(connectionID)
}

func (w *world) pushed(connectionID, typ string) []wsapi.Message {
	var out []wsapi.Message
	for _, m := range w.pushes(connectionID) {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

func (w *world) bearer(agentID string) string { return apitest.Bearer(w.api.AgentToken(agentID)) }

// do sends a request as a client would: a 503 (busy) is retried after its Retry-After.
// do sends a request as the desk and the customer's page do: every change with an
// Idempotency-Key of its own, so the races run through the keyed path real clients take
// (for most changes, the action and its answer as one write: httpapi.CommitsOnce).
func (w *world) do(fn, method, route string, params map[string]string, body any, authz string) apitest.Response {
	return w.api.DoAsClient(apitest.Request{Function: fn, Method: method, Route: route, Params: params, Body: body, Authorization: authz,
		Headers: clientKey(method)})
}

// clientKey is the Idempotency-Key header a client sends with a change: random, as an
// anonymous caller's must be.
func clientKey(method string) map[string]string {
	if method == "GET" {
		return nil
	}
	return map[string]string{"Idempotency-Key": ids.Token()}
}

func onConv(id string) map[string]string { return map[string]string{"id": id} }

func onInv(id string) map[string]string { return map[string]string{"invitationId": id} }

// startAsAgent starts a conversation held by the agent, with a visitor in it; it returns the
// conversation id and the visitor's participant id and bearer.
func (w *world) startAsAgent(agentID string) (convID, visitorID, visitor string) {
	w.t.Helper()
	resp := w.do("StartConversationFunction", "POST", "/conversations", nil, map[string]any{"topic": "Order 42"}, w.bearer(agentID))
	if resp.Status != 201 {
		w.t.Fatalf("agent start: %d %s", resp.Status, resp.Body)
	}
	var s conversations.Started
	resp.Decode(w.t, &s)
	visitorID, visitor = w.addVisitor(s.ConversationID)
	return s.ConversationID, visitorID, visitor
}

// addVisitor puts a visitor into the conversation the way a redemption does.
func (w *world) addVisitor(convID string) (participantID, bearer string) {
	w.t.Helper()
	token := ids.Token()
	p := conversation.Participant{ConversationID: convID, ID: ids.New("vis"), Kind: conversation.KindVisitor, JoinedAt: w.clock.Now(),
		SessionHash: ids.Hash(token)}
	sess := store.Session{Hash: p.SessionHash, ConversationID: convID, ParticipantID: p.ID, ExpiresAt: w.clock.Now().Add(time.Hour)}
	if err := w.st.AddParticipant(w.t.Context(), p, &sess, nil); err != nil {
		w.t.Fatal(err)
	}
	return p.ID, apitest.Bearer(token)
}

// startAsVisitor starts a conversation the way the widget does, naming the team.
func (w *world) startAsVisitor(teamID string) (conversations.Started, apitest.Response) {
	w.t.Helper()
	resp := w.do("StartConversationFunction", "POST", "/conversations", nil, map[string]any{"topic": "Help!", "teamId": teamID}, "")
	var s conversations.Started
	if resp.Status == 201 {
		resp.Decode(w.t, &s)
	}
	return s, resp
}

func (w *world) forward(convID, by, kind, to, message string) apitest.Response {
	return w.do("ForwardConversationFunction", "POST", "/conversations/{id}/forward", onConv(convID),
		map[string]any{"to": map[string]any{"kind": kind, "id": to}, "message": message}, w.bearer(by))
}

func (w *world) mustForward(convID, by, kind, to, message string) invitation.Offer {
	w.t.Helper()
	resp := w.forward(convID, by, kind, to, message)
	if resp.Status != 201 {
		w.t.Fatalf("forward by %s to %s %s: %d %s", by, kind, to, resp.Status, resp.Body)
	}
	var o invitation.Offer
	resp.Decode(w.t, &o)
	return o
}

func (w *world) inviteAgent(convID, by, agentID, message string) apitest.Response {
	return w.do("InviteAgentFunction", "POST", "/conversations/{id}/invitations/agent", onConv(convID),
		map[string]any{"agentId": agentID, "message": message}, w.bearer(by))
}

func (w *world) inviteTeam(convID, by, teamID, message string) apitest.Response {
	return w.do("InviteTeamFunction", "POST", "/conversations/{id}/invitations/team", onConv(convID),
		map[string]any{"teamId": teamID, "message": message}, w.bearer(by))
}

func (w *world) accept(invitationID, by string) apitest.Response {
	return w.do("AcceptInvitationFunction", "POST", "/invitations/{invitationId}/accept", onInv(invitationID), nil, w.bearer(by))
}

func (w *world) decline(invitationID, by, reason string) apitest.Response {
	return w.do("DeclineInvitationFunction", "POST", "/invitations/{invitationId}/decline", onInv(invitationID),
		map[string]any{"reason": reason}, w.bearer(by))
}

func (w *world) revoke(convID, invitationID, by string) apitest.Response {
	return w.do("RevokeInvitationFunction", "DELETE", "/conversations/{id}/invitations/{invitationId}",
		map[string]string{"id": convID, "invitationId": invitationID}, nil, w.bearer(by))
}

func (w *world) leave(convID, authz string) apitest.Response {
	return w.do("LeaveConversationFunction", "POST", "/conversations/{id}/leave", onConv(convID), nil, authz)
}

func (w *world) inbox(agentID string) []handover.InboxEntry {
	w.t.Helper()
	resp := w.do("GetInboxFunction", "GET", "/inbox", nil, nil, w.bearer(agentID))
	if resp.Status != 200 {
		w.t.Fatalf("inbox of %s: %d %s", agentID, resp.Status, resp.Body)
	}
	var in handover.Inbox
	resp.Decode(w.t, &in)
	return in.Invitations
}

func inboxHas(entries []handover.InboxEntry, invitationID string) bool {
	return slices.ContainsFunc(entries, func(e handover.InboxEntry) bool { return e.InvitationID == invitationID })
}

func (w *world) view(convID, authz string) conversations.View {
	w.t.Helper()
	resp := w.do("GetConversationFunction", "GET", "/conversations/{id}", onConv(convID), nil, authz)
	if resp.Status != 200 {
		w.t.Fatalf("get %s: %d %s", convID, resp.Status, resp.Body)
	}
	var v conversations.View
	resp.Decode(w.t, &v)
	return v
}

func (w *world) history(convID, authz string) []conversation.Event {
	w.t.Helper()
	resp := w.do("ListEventsFunction", "GET", "/conversations/{id}/events", onConv(convID), nil, authz)
	if resp.Status != 200 {
		w.t.Fatalf("history: %d %s", resp.Status, resp.Body)
	}
	var page conversations.HistoryPage
	resp.Decode(w.t, &page)
	return page.Events
}

func (w *world) offer(id string) invitation.Offer {
	w.t.Helper()
	o, err := w.st.Offer(w.t.Context(), id)
	if err != nil {
		w.t.Fatalf("offer %s: %v", id, err)
	}
	return o
}

func (w *world) state(convID string) store.HandoverState {
	w.t.Helper()
	st, err := w.st.HandoverState(w.t.Context(), convID)
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func (w *world) sweep() handover.SweepReport {
	w.t.Helper()
	return invokeSweep(w.t, w)
}

// neverOrphaned is the promise: an open conversation has an assignee, or waits on a pending
// forward or offer that is the only pending one of its forwards.
func (w *world) neverOrphaned(convID string) {
	w.t.Helper()
	st := w.state(convID)
	if !st.Conversation.Open() {
		return
	}
	if st.Conversation.Assignee == "" && st.PendingForward == "" {
		w.t.Fatalf("conversation %s has no assignee and no pending offer", convID)
	}
	if st.PendingForward != "" {
		if o := w.offer(st.PendingForward); !o.Pending(w.clock.Now()) {
			w.t.Fatalf("conversation %s waits on %s, which is %s", convID, o.ID, o.Status)
		}
	}
	all, err := w.st.ConversationInvitations(w.t.Context(), convID)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, inv := range all {
		if inv.Kind == invitation.KindForward && inv.ID != st.PendingForward && w.offer(inv.ID).Status == invitation.StatusPending {
			w.t.Fatalf("forward %s is pending but the conversation waits on %q", inv.ID, st.PendingForward)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func statuses(resps []apitest.Response) map[int]int {
	out := map[int]int{}
	for _, r := range resps {
		out[r.Status]++
	}
	return out
}

// concurrently runs every call at once and returns their answers in order.
func concurrently(calls ...func() apitest.Response) []apitest.Response {
	out := make([]apitest.Response, len(calls))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, call := range calls {
		wg.Go(func() {
			<-start
			out[i] = call()
		})
	}
	close(start)
	wg.Wait()
	return out
}
