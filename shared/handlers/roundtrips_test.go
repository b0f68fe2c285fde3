package handlers_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/roundtrips"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

// roundTripsOut, when set, receives the measured actions as JSON (make bench reads it).
var roundTripsOut = flag.String("roundtrips.out", "", "write the measured round trips of every action to this JSON file")

// budget is what an action may cost in DynamoDB calls, and in calls made one after another.
// These are today's counts (#13): upper bounds, to be tightened as actions learn to do more
// per call, never loosened without a reason. (They rose once, with the per-conversation
// history head that makes event order gapless and End final: each change reads and
// conditionally updates it.) They fell with the outbox: no action pushes, so none reads
// participants, team members or connections after its commit (the push function does, from
// the table's stream). They fell again when the access check became one consistent
// BatchGetItem (conversation, participant, session and history head together) and the write
// that follows builds on the head it read (store.Standing, requestscope); a keyed request
// reads it beside its idempotency claim (httpapi.Prefetch), so post message measured 4 calls,
// 3 sequential: claim and read, the transaction, the answer recorded under the key (it
// exists only once the transaction has numbered the event). They fell again when an action
// that commits once writes its answer in its transaction (httpapi.CommitsOnce): post message
// is 3 calls, 2 sequential — the key read beside the access check, then the one write. They
// fell again when the key's record rides in the access check's BatchGetItem
// (httpapi.PrefetchWithKey, idempotency.Ride): post message is 2 calls. Where an action issues calls in parallel, how
// many of them overlap depends on scheduling (a loaded machine may run them one after
// another), so its sequential bound is its calls; the table logs what was measured.
type budget struct{ Calls, Sequential int }

var budgets = map[string]budget{
	"start conversation (visitor)":         {4, 3}, // the team read beside the key; two rate limits (per client, per team) once the team is known; the write with the answer (httpapi.AnswersAhead). Three: the slots must be taken before the write, and the team's slot only once the team is known to exist
	"start conversation (visitor, a team)": {6, 3}, // the team (profile and members) read beside the key; then as above, with the offer in the write
	"post message (visitor)":               {2, 2}, // the key read with the access check (one BatchGetItem); the write with its answer
	"start conversation (agent)":           {3, 2}, // the agent's name read beside the key; the write with its answer
	"post message (agent)":                 {2, 2},
	"get conversation (agent)":             {3, 2}, // the access check; then participants and pending invitations at once
	"list events":                          {2, 2},
	"create PIN":                           {2, 2}, // the cap checked on the head the access check read
	"redeem PIN":                           {5, 3}, // the key beside the secret (the body names it); the rate-limit slot beside the invitation with the head (the secret names them); the write, which gives the slot back and records the answer (httpapi.AnswersAhead). Three: the write needs the head the invitation's read found, and the invitation is known only from the secret
	"email invitation":                     {4, 3}, // the key beside the access check; the invitation with the agent's email slot (one write); SES; its MessageId and `sent` (§9.1) with the answer (httpapi.AnswersAhead). Three: the link must work before the email goes out, and the MessageId is known only after
	"redeem join token":                    {5, 3}, // as redeem PIN
	"list invitations":                     {2, 2},
	"resend invitation":                    {4, 2}, // a PIN: the key, the access and the invitation at once; the renewal with the answer (the old PIN is assumed its own: store.commitOwningSecret)
	"resend invitation (email)":            {5, 3}, // as email invitation: the key, the access and the invitation at once; the renewal with the email slot; SES; `sent` with the answer
	"revoke invitation":                    {3, 2}, // the invitation beside the access check and the key (whom to tell depends on its target); the write
	"invite agent":                         {3, 2}, // the key with the access; the target with whether they are in (one BatchGetItem, store.Targets) at once; the write
	"invite agent (two fallbacks)":         {4, 2}, // as invite agent, the chain's agents and teams in the same BatchGetItem, the team's members beside it: a longer chain costs no more
	"invite team":                          {5, 3}, // as invite agent; then the pending invitations the head names, for a duplicate; the write
	"forward":                              {3, 2}, // as invite agent
	"inbox":                                {3, 2}, // one Query per inbox (own + each team), the teams looked up meanwhile; §9.4
	"accept":                               {4, 3}, // the offer beside the key, then one BatchGetItem of all the answer decides on (store.Answering: it needs the offer's conversation), then the write
	"decline":                              {4, 3}, // as accept
	"forward (fallback)":                   {4, 2}, // every target of the chain in one BatchGetItem, the team's members beside it
	"inbox (queued target)":                {3, 2}, // as any inbox: a queued target's slot is a copy of the offer, read by the same Query
	"decline (chain moves on)":             {7, 3}, // beside the answer's read: the team's members, each later target's entry and presence; the move
	"list agents":                          {2, 2}, // the agents, then one BatchGetItem of presence per 100 of them
	"list teams":                           {4, 2}, // the teams, then their members' Queries at once; list agents meanwhile
	"create connect ticket":                {1, 1},
	"leave (visitor)":                      {2, 2},
	"end conversation":                     {2, 2}, // the key read with the access check; the flip with its answer (the cleanup follows from the stream: conversations.EndCleanup)
	"admit":                                {3, 2}, // the waiting participant read beside the access check (path-named), then the write
	"refuse":                               {3, 2}, // as admit; the push function closes the invitee's sockets
}

// TestRoundTrips_EveryActionWithinItsBudget runs every HTTP action through its real handler
// against DynamoDB Local and counts the function's DynamoDB calls with the SDK middleware
// (shared/roundtrips), authorizer excluded: it is another invocation.
func TestRoundTrips_EveryActionWithinItsBudget(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	seedHandover(t, api)
	got := fewestOf(runActions(t, api), runActions(t, api), runActions(t, api))

	var table strings.Builder
	fmt.Fprintf(&table, "\n%-30s %5s %5s  %s\n", "action", "calls", "seq", "operations")
	for _, m := range got {
		fmt.Fprintf(&table, "%-30s %5d %5d  %s\n", m.Action, m.Calls, m.Sequential, strings.Join(m.Operations, " "))
		b, ok := budgets[m.Action]
		switch {
		case !ok:
			t.Errorf("%s has no budget", m.Action)
		case m.Calls > b.Calls || m.Sequential > b.Sequential:
			t.Errorf("%s: %d calls, %d sequential; budget %d, %d", m.Action, m.Calls, m.Sequential, b.Calls, b.Sequential)
		}
	}
	t.Log(table.String())
	if len(got) != len(budgets) {
		t.Errorf("measured %d actions, budgets name %d", len(got), len(budgets))
	}
	if *roundTripsOut != "" {
		writeJSON(t, *roundTripsOut, withLatency(t, api, got))
	}
}

// fewestOf is each action's cost in the run that cost it least. How many of an action's
// parallel calls overlap depends on scheduling: on a loaded 2-core machine under -race a
// goroutine may start its read only after the other read, a millisecond long against
// DynamoDB Local, has ended, and the counter sees two round trips where the action issued
// one. The least of three runs is what the action asks of DynamoDB; the counts are the same
// in every run when nothing races.
func fewestOf(runs ...[]measured) []measured {
	out := slices.Clone(runs[0])
	for _, run := range runs[1:] {
		for i, m := range run {
			if m.Action != out[i].Action {
				panic("runs measured different actions: " + m.Action + ", " + out[i].Action)
			}
			out[i].Calls = min(out[i].Calls, m.Calls)
			out[i].Sequential = min(out[i].Sequential, m.Sequential)
		}
	}
	return out
}

// latencyRuns is how many times make bench runs every action for its median latency.
const latencyRuns = 5

// withLatency runs the actions latencyRuns times in all and gives each its median time, and
// the median time of as many raw GetItems, one after another, as its sequential round trips.
func withLatency(t *testing.T, api *apitest.API, first []measured) []measured {
	took := make([][]time.Duration, len(first))
	for run := range latencyRuns {
		again := first
		if run > 0 {
			again = runActions(t, api)
		}
		for i, m := range again {
			took[i] = append(took[i], m.Took)
		}
	}
	db, table := testenv.DynamoDB(t), testenv.NewTable(t)
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "bench"}, "sk": &types.AttributeValueMemberS{Value: "bench"}}
	out := slices.Clone(first)
	for i := range out {
		out[i].Took = medianOf(took[i])
		var raw []time.Duration
		for range latencyRuns {
			start := time.Now()
			for range out[i].Sequential {
				if _, err := db.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: key}); err != nil {
					t.Fatal(err)
				}
			}
			raw = append(raw, time.Since(start))
		}
		out[i].GetItems = medianOf(raw)
	}
	return out
}

func medianOf(d []time.Duration) time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

// measured is one action's cost.
type measured struct {
	Action     string
	Calls      int
	Sequential int
	Operations []string
	// Took is the in-process time of the call, authorizer included, and GetItems the time of
	// as many raw GetItems as Sequential (for make bench; no test asserts on time).
	Took, GetItems time.Duration
}

// actions runs requests and measures each.
type actions struct {
	t   *testing.T
	api *apitest.API
	out []measured
}

// do runs req as action, with an Idempotency-Key on every write as clients send it, and
// fails the test unless the answer is want.
func (a *actions) do(action string, want int, req apitest.Request) apitest.Response {
	a.t.Helper()
	if req.Method != "GET" {
		req.Headers = map[string]string{"Idempotency-Key": "budget-" + randomSuffix()}
	}
	ctx, counter := roundtrips.Start(context.Background())
	start := time.Now()
	resp := a.api.DoContext(ctx, req)
	took := time.Since(start)
	if resp.Status != want {
		a.t.Fatalf("%s: %d %s, want %d", action, resp.Status, resp.Body, want)
	}
	a.out = append(a.out, measured{Action: action, Calls: counter.Calls(), Sequential: counter.Sequential(), Operations: counter.Operations(), Took: took})
	return resp
}

// runActions runs every HTTP action once, in an order in which each finds what it needs.
func runActions(t *testing.T, api *apitest.API) []measured {
	a := &actions{t: t, api: api}
	ada, mia, linus := apitest.Bearer(api.AgentToken("ada")), apitest.Bearer(api.AgentToken("mia")), apitest.Bearer(api.AgentToken("linus"))
	onConv := func(id string) map[string]string { return map[string]string{"id": id} }

	var visitor started
	a.do("start conversation (visitor)", 201, apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
		Body: map[string]any{"topic": "Order 42"}}).Decode(t, &visitor)
	vc, vs := visitor.ConversationID, apitest.Bearer(visitor.SessionToken)
	a.do("start conversation (visitor, a team)", 201, apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
		SourceIP: "198.51.100.33", Body: map[string]any{"topic": "Invoice", "teamId": "billing"}})
	a.do("post message (visitor)", 201, apitest.Request{Function: "PostMessageFunction", Method: "POST", Route: "/conversations/{id}/messages",
		Params: onConv(vc), Authorization: vs, Body: map[string]any{"text": "hello"}})

	var agent started
	a.do("start conversation (agent)", 201, apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
		Authorization: ada, Body: map[string]any{"topic": "Callback"}}).Decode(t, &agent)
	c := agent.ConversationID
	a.do("post message (agent)", 201, apitest.Request{Function: "PostMessageFunction", Method: "POST", Route: "/conversations/{id}/messages",
		Params: onConv(c), Authorization: ada, Body: map[string]any{"text": "hello"}})
	a.do("get conversation (agent)", 200, apitest.Request{Function: "GetConversationFunction", Method: "GET", Route: "/conversations/{id}",
		Params: onConv(c), Authorization: ada})
	a.do("list events", 200, apitest.Request{Function: "ListEventsFunction", Method: "GET", Route: "/conversations/{id}/events",
		Params: onConv(c), Authorization: ada})

	var pin invitations.PINIssued
	a.do("create PIN", 201, apitest.Request{Function: "CreatePinInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/pin",
		Params: onConv(c), Authorization: ada}).Decode(t, &pin)
	a.do("redeem PIN", 201, apitest.Request{Function: "RedeemPinFunction", Method: "POST", Route: "/join/pin",
		Body: map[string]any{"pin": pin.PIN}, SourceIP: "198.51.100.7"})
	to := "budget-" + randomSuffix() + "@example.com"
	a.do("email invitation", 201, apitest.Request{Function: "CreateEmailInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/email",
		Params: onConv(c), Authorization: ada, Body: map[string]any{"email": to}})
	a.do("redeem join token", 201, apitest.Request{Function: "RedeemJoinTokenFunction", Method: "POST", Route: "/join/token",
		Body: map[string]any{"token": joinTokenSentTo(t, to)}, SourceIP: "198.51.100.8"})
	a.do("list invitations", 200, apitest.Request{Function: "ListInvitationsFunction", Method: "GET", Route: "/conversations/{id}/invitations",
		Params: onConv(c), Authorization: ada})
	other := createPIN(t, api, c, ada)
	onInv := map[string]string{"id": c, "invitationId": other.InvitationID}
	a.do("resend invitation", 200, apitest.Request{Function: "ResendInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/{invitationId}/resend",
		Params: onInv, Authorization: ada})
	again := api.Do(apitest.Request{Function: "CreateEmailInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/email",
		Params: onConv(c), Authorization: ada, Body: map[string]any{"email": "again-" + to}})
	var mailed invitations.EmailSent
	again.Decode(t, &mailed)
	a.do("resend invitation (email)", 200, apitest.Request{Function: "ResendInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/{invitationId}/resend",
		Params: map[string]string{"id": c, "invitationId": mailed.InvitationID}, Authorization: ada})
	api.Do(apitest.Request{Function: "RevokeInvitationFunction", Method: "DELETE", Route: "/conversations/{id}/invitations/{invitationId}",
		Params: map[string]string{"id": c, "invitationId": mailed.InvitationID}, Authorization: ada}) // pending, it would be read by the invitations that follow
	a.do("revoke invitation", 200, apitest.Request{Function: "RevokeInvitationFunction", Method: "DELETE", Route: "/conversations/{id}/invitations/{invitationId}",
		Params: onInv, Authorization: ada})

	var toMia, toLinus invitation.Offer
	a.do("invite agent", 201, apitest.Request{Function: "InviteAgentFunction", Method: "POST", Route: "/conversations/{id}/invitations/agent",
		Params: onConv(c), Authorization: ada, Body: map[string]any{"agentId": "mia", "message": "help?"}}).Decode(t, &toMia)
	a.do("invite agent (two fallbacks)", 201, apitest.Request{Function: "InviteAgentFunction", Method: "POST", Route: "/conversations/{id}/invitations/agent",
		Params: onConv(startAsAgent(t, api, "ada").ConversationID), Authorization: ada,
		Body: map[string]any{"agentId": "grace", "fallback": []any{map[string]any{"kind": "agent", "id": "linus"}, map[string]any{"kind": "team", "id": "billing"}}}})
	a.do("invite team", 201, apitest.Request{Function: "InviteTeamFunction", Method: "POST", Route: "/conversations/{id}/invitations/team",
		Params: onConv(c), Authorization: ada, Body: map[string]any{"teamId": "billing"}})
	a.do("forward", 201, apitest.Request{Function: "ForwardConversationFunction", Method: "POST", Route: "/conversations/{id}/forward",
		Params: onConv(startAsAgent(t, api, "ada").ConversationID), Authorization: ada,
		Body: map[string]any{"to": map[string]any{"kind": "agent", "id": "linus"}, "message": "yours"}}).Decode(t, &toLinus)
	a.do("inbox", 200, apitest.Request{Function: "GetInboxFunction", Method: "GET", Route: "/inbox", Authorization: mia})
	a.do("accept", 200, apitest.Request{Function: "AcceptInvitationFunction", Method: "POST", Route: "/invitations/{invitationId}/accept",
		Params: map[string]string{"invitationId": toMia.ID}, Authorization: mia})
	a.do("decline", 204, apitest.Request{Function: "DeclineInvitationFunction", Method: "POST", Route: "/invitations/{invitationId}/decline",
		Params: map[string]string{"invitationId": toLinus.ID}, Authorization: linus})

	// A fallback chain (SPEC §9.2): billing first, grace after it.
	var chain invitation.Offer
	a.do("forward (fallback)", 201, apitest.Request{Function: "ForwardConversationFunction", Method: "POST", Route: "/conversations/{id}/forward",
		Params: onConv(startAsAgent(t, api, "ada").ConversationID), Authorization: ada,
		Body: map[string]any{"to": map[string]any{"kind": "team", "id": "billing"}, "afterSeconds": 60,
			"fallback": []any{map[string]any{"kind": "agent", "id": "grace"}}}}).Decode(t, &chain)
	grace := apitest.Bearer(api.AgentToken("grace"))
	a.do("inbox (queued target)", 200, apitest.Request{Function: "GetInboxFunction", Method: "GET", Route: "/inbox", Authorization: grace})
	a.do("decline (chain moves on)", 204, apitest.Request{Function: "DeclineInvitationFunction", Method: "POST", Route: "/invitations/{invitationId}/decline",
		Params: map[string]string{"invitationId": chain.ID}, Authorization: mia})

	a.do("list agents", 200, apitest.Request{Function: "ListAgentsFunction", Method: "GET", Route: "/agents", Authorization: ada})
	a.do("list teams", 200, apitest.Request{Function: "ListTeamsFunction", Method: "GET", Route: "/teams", Authorization: ada})
	a.do("create connect ticket", 201, apitest.Request{Function: "CreateConnectTicketFunction", Method: "POST", Route: "/connect-ticket", Authorization: ada})
	a.do("leave (visitor)", 204, apitest.Request{Function: "LeaveConversationFunction", Method: "POST", Route: "/conversations/{id}/leave",
		Params: onConv(vc), Authorization: vs})
	lobby := startAsAgent(t, api, "ada").ConversationID
	lou, rex := joinLobby(t, api, lobby, ada, "agent"), joinLobby(t, api, lobby, ada, "agent")
	a.do("admit", 200, apitest.Request{Function: "AdmitParticipantFunction", Method: "POST", Route: "/conversations/{id}/participants/{participantId}/admit",
		Params: map[string]string{"id": lobby, "participantId": lou.ParticipantID}, Authorization: ada})
	a.do("refuse", 204, apitest.Request{Function: "RefuseParticipantFunction", Method: "POST", Route: "/conversations/{id}/participants/{participantId}/refuse",
		Params: map[string]string{"id": lobby, "participantId": rex.ParticipantID}, Authorization: ada})
	a.do("end conversation", 204, apitest.Request{Function: "EndConversationFunction", Method: "POST", Route: "/conversations/{id}/end",
		Params: onConv(c), Authorization: ada})
	return a.out
}

// joinTokenSentTo reads the join token from the one invitation email sent to address.
func joinTokenSentTo(t *testing.T, address string) string {
	t.Helper()
	mails := testenv.MailTo(t, address)
	if len(mails) != 1 {
		t.Fatalf("%d mails to %s", len(mails), address)
	}
	for _, f := range strings.Fields(mails[0].Text) {
		if _, token, ok := strings.Cut(f, "#join="); ok {
			return token
		}
	}
	t.Fatalf("no join link in %q", mails[0].Text)
	return ""
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRoundTrips_TheInboxIsOneQueryPerInboxWhateverItHolds (SPEC §9.4, #13): the offers hold
// what the inbox shows, so a page is the agent's teams and one Query per inbox (the agent's
// own inbox read while the teams are looked up): nothing else, however many offers there are,
// of however many conversations.
func TestRoundTrips_TheInboxIsOneQueryPerInboxWhateverItHolds(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	seedHandover(t, api) // mia: her own inbox and billing's
	ada, mia := apitest.Bearer(api.AgentToken("ada")), apitest.Bearer(api.AgentToken("mia"))
	inbox := func() (*roundtrips.Counter, int) {
		ctx, counter := roundtrips.Start(context.Background())
		resp := api.DoContext(ctx, apitest.Request{Function: "GetInboxFunction", Method: "GET", Route: "/inbox", Authorization: mia})
		if resp.Status != 200 {
			t.Fatalf("inbox: %d %s", resp.Status, resp.Body)
		}
		var page struct{ Invitations []json.RawMessage }
		resp.Decode(t, &page)
		return counter, len(page.Invitations)
	}
	total := 0
	for _, conversations := range []int{1, 12} { // each with an offer to her and one to billing
		total += 2 * conversations
		for range conversations {
			c := startAsAgent(t, api, "ada").ConversationID
			for _, r := range []apitest.Request{
				{Function: "InviteAgentFunction", Method: "POST", Route: "/conversations/{id}/invitations/agent", Body: map[string]any{"agentId": "mia", "message": "help?"}},
				{Function: "InviteTeamFunction", Method: "POST", Route: "/conversations/{id}/invitations/team", Body: map[string]any{"teamId": "billing", "message": "anyone?"}},
			} {
				r.Params, r.Authorization = map[string]string{"id": c}, ada
				if resp := api.Do(r); resp.Status != 201 {
					t.Fatalf("%s: %d %s", r.Function, resp.Status, resp.Body)
				}
			}
		}
		counter, n := inbox()
		if n != total {
			t.Fatalf("her inbox lists %d offers, want %d", n, total)
		}
		// The least of three pages, as in the budget test: a loaded machine may run the
		// parallel reads one after another.
		sequential := counter.Sequential()
		for range 2 {
			again, _ := inbox()
			sequential = min(sequential, again.Sequential())
		}
		ops := counter.Operations()
		if len(ops) != 3 || slices.ContainsFunc(ops, func(op string) bool { return op != "Query" }) || sequential > 2 {
			t.Errorf("an inbox of %d offers: %v, %d sequential; want her teams and one Query per inbox, 2 sequential", n, ops, sequential)
		}
	}
}

// TestRoundTrips_APostRefreshesPendingOffersInItsOwnTransaction (SPEC §9.4): a message
// costs the same calls whether the conversation has pending offers to refresh or not.
func TestRoundTrips_APostRefreshesPendingOffersInItsOwnTransaction(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	seedHandover(t, api)
	ada := apitest.Bearer(api.AgentToken("ada"))
	post := func(c string) []string {
		ctx, counter := roundtrips.Start(context.Background())
		resp := api.DoContext(ctx, apitest.Request{Function: "PostMessageFunction", Method: "POST", Route: "/conversations/{id}/messages",
			Params: map[string]string{"id": c}, Authorization: ada, Body: map[string]any{"text": "hello"}})
		if resp.Status != 201 {
			t.Fatalf("post: %d %s", resp.Status, resp.Body)
		}
		return counter.Operations()
	}
	quiet := startAsAgent(t, api, "ada").ConversationID
	busy := startAsAgent(t, api, "ada").ConversationID
	for _, r := range []apitest.Request{
		{Function: "InviteAgentFunction", Method: "POST", Route: "/conversations/{id}/invitations/agent", Body: map[string]any{"agentId": "mia", "message": "help?"}},
		{Function: "InviteTeamFunction", Method: "POST", Route: "/conversations/{id}/invitations/team", Body: map[string]any{"teamId": "billing", "message": "anyone?"}},
		{Function: "ForwardConversationFunction", Method: "POST", Route: "/conversations/{id}/forward", Body: map[string]any{"to": map[string]any{"kind": "agent", "id": "linus"}, "message": "yours"}},
	} {
		r.Params, r.Authorization = map[string]string{"id": busy}, ada
		if resp := api.Do(r); resp.Status != 201 {
			t.Fatalf("%s: %d %s", r.Function, resp.Status, resp.Body)
		}
	}
	if without, with := post(quiet), post(busy); !slices.Equal(without, with) {
		t.Errorf("a post costs %v without pending offers and %v with three", without, with)
	}
}

// TestRoundTrips_TheDirectoryReadsPresenceInBatches (#13): presence is one item per agent, so
// a directory of 150 agents is the agents' Query and one BatchGetItem per 100 of them, however
// many are connected — not a Query of connections per agent.
func TestRoundTrips_TheDirectoryReadsPresenceInBatches(t *testing.T) {
	t.Parallel()
	api := apitest.New(t)
	const agents = 150
	want := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*agents)
	for i := range agents {
		id, connected := fmt.Sprintf("agent-%03d", i), i%3 == 0
		want[id] = connected
		wg.Go(func() {
			errs <- api.Store.PutAgent(t.Context(), directory.Agent{ID: id, Name: id, Status: directory.StatusAvailable})
			if connected {
				errs <- api.Store.PutConnection(t.Context(), store.Connection{ID: "ws-" + id, PrincipalKey: store.AgentPrincipal(id), Kind: "agent", AgentID: id})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, counter := roundtrips.Start(context.Background())
	resp := api.DoContext(ctx, apitest.Request{Function: "ListAgentsFunction", Method: "GET", Route: "/agents", Authorization: apitest.Bearer(api.AgentToken("agent-000"))})
	if resp.Status != 200 {
		t.Fatalf("list agents: %d %s", resp.Status, resp.Body)
	}
	var listed struct{ Agents []directory.Agent }
	resp.Decode(t, &listed)
	got := map[string]bool{}
	for _, a := range listed.Agents {
		got[a.ID] = a.Online
	}
	if !maps.Equal(got, want) {
		t.Errorf("listed %d agents, online as %v; want %d, every third", len(got), got, agents)
	}
	if ops := counter.Operations(); !slices.Equal(ops, []string{"Query", "BatchGetItem", "BatchGetItem"}) {
		t.Errorf("a directory of %d agents: %v; want their Query and 2 BatchGetItems", agents, ops)
	}
	t.Logf("a directory of %d agents: %d calls, %d sequential", agents, counter.Calls(), counter.Sequential())
}

// TestRoundTrips_ASweepWithNothingDueIsOneRoundTrip: with nothing due, the scheduled sweep
// reads the due index's 8 shards, where invitations, lobby waits and ended conversations all
// are, at once: one round trip. Three indexes read one after another made it 17 calls in 3
// (and 10 before each index's shards were read at once), which a cold start waited for.
func TestRoundTrips_ASweepWithNothingDueIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	sweep := handlers.ExpireInvitations(api.Deps)
	const partitions, rounds = 8, 1
	fewest := partitions
	for range 3 { // the fewest of three, as fewestOf explains
		ctx, count := roundtrips.Start(t.Context())
		if _, err := sweep(ctx, events.EventBridgeEvent{ID: "budget"}); err != nil {
			t.Fatal(err)
		}
		if count.Calls() != partitions {
			t.Fatalf("a sweep with nothing due made %d calls (%v), want %d", count.Calls(), count.Operations(), partitions)
		}
		fewest = min(fewest, count.Sequential())
	}
	if fewest > rounds {
		t.Errorf("a sweep with nothing due took %d sequential round trips, want %d", fewest, rounds)
	}
}
