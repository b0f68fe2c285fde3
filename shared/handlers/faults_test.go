package handlers_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/faults"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

// faultCase is one action of the API, from a fresh precondition each time it is prepared.
type faultCase struct {
	name string
	// prepare makes what the action needs and returns its request; mailTo, if set, is the
	// address the action sends to.
	prepare func(t *testing.T, api *apitest.API) (req apitest.Request, mailTo string)
	want    int // the status of a clean run
}

// keyless actions do not honour Idempotency-Key, by design (a connect ticket's answer is a
// credential not worth keeping): a retry is a new request, so only the fault is checked.
var keyless = map[string]bool{"create connect ticket": true}

// goneAfter is how a retry is refused once the action took away the caller's own
// credentials (a visitor who left): the first answer was the outcome.
var goneAfter = map[string]int{"leave (visitor)": 401}

// faultCases are every HTTP action, writes and reads (SPEC §5, faults).
func faultCases() []faultCase {
	var ip atomic.Int32
	clientIP := func() string { n := ip.Add(1); return fmt.Sprintf("203.0.%d.%d", n/250, n%250+1) }
	agent := func(api *apitest.API, id string) string { return apitest.Bearer(api.AgentToken(id)) }
	onConv := func(id string) map[string]string { return map[string]string{"id": id} }
	agentConversation := func(t *testing.T, api *apitest.API) string { return startAsAgent(t, api, "ada").ConversationID }
	offerTo := func(t *testing.T, api *apitest.API, route, fn string, body map[string]any) invitation.Offer {
		resp := api.Do(apitest.Request{Function: fn, Method: "POST", Route: route,
			Params: onConv(agentConversation(t, api)), Authorization: agent(api, "ada"), Body: body})
		if resp.Status != 201 {
			t.Fatalf("offer: %d %s", resp.Status, resp.Body)
		}
		var o invitation.Offer
		resp.Decode(t, &o)
		return o
	}
	return []faultCase{
		{"start conversation (visitor)", func(*testing.T, *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
				Body: map[string]any{"topic": "Order 42"}, SourceIP: clientIP()}, ""
		}, 201},
		{"start conversation (agent)", func(_ *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
				Body: map[string]any{"topic": "Callback"}, Authorization: agent(api, "ada")}, ""
		}, 201},
		{"post message (visitor)", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			v := startAsVisitor(t, api, nil)
			return apitest.Request{Function: "PostMessageFunction", Method: "POST", Route: "/conversations/{id}/messages",
				Params: onConv(v.ConversationID), Authorization: apitest.Bearer(v.SessionToken), Body: map[string]any{"text": "hello"}}, ""
		}, 201},
		{"post message (agent)", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "PostMessageFunction", Method: "POST", Route: "/conversations/{id}/messages",
				Params: onConv(agentConversation(t, api)), Authorization: agent(api, "ada"), Body: map[string]any{"text": "hello"}}, ""
		}, 201},
		{"create PIN", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "CreatePinInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/pin",
				Params: onConv(agentConversation(t, api)), Authorization: agent(api, "ada")}, ""
		}, 201},
		{"redeem PIN", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			pin := createPIN(t, api, agentConversation(t, api), agent(api, "ada"))
			return apitest.Request{Function: "RedeemPinFunction", Method: "POST", Route: "/join/pin",
				Body: map[string]any{"pin": pin.PIN}, SourceIP: clientIP()}, ""
		}, 201},
		{"email invitation", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			to := "fault-" + randomSuffix() + "@example.com"
			return apitest.Request{Function: "CreateEmailInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/email",
				Params: onConv(agentConversation(t, api)), Authorization: agent(api, "ada"), Body: map[string]any{"email": to}}, to
		}, 201},
		{"redeem join token", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			token := joinToken(t, api, agentConversation(t, api), agent(api, "ada"))
			return apitest.Request{Function: "RedeemJoinTokenFunction", Method: "POST", Route: "/join/token",
				Body: map[string]any{"token": token}, SourceIP: clientIP()}, ""
		}, 201},
		{"resend invitation", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			c := agentConversation(t, api)
			pin := createPIN(t, api, c, agent(api, "ada"))
			return apitest.Request{Function: "ResendInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/{invitationId}/resend",
				Params: map[string]string{"id": c, "invitationId": pin.InvitationID}, Authorization: agent(api, "ada")}, ""
		}, 200},
		{"revoke invitation", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			c := agentConversation(t, api)
			pin := createPIN(t, api, c, agent(api, "ada"))
			return apitest.Request{Function: "RevokeInvitationFunction", Method: "DELETE", Route: "/conversations/{id}/invitations/{invitationId}",
				Params: map[string]string{"id": c, "invitationId": pin.InvitationID}, Authorization: agent(api, "ada")}, ""
		}, 200},
		{"invite agent", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "InviteAgentFunction", Method: "POST", Route: "/conversations/{id}/invitations/agent",
				Params: onConv(agentConversation(t, api)), Authorization: agent(api, "ada"), Body: map[string]any{"agentId": "mia", "message": "help?"}}, ""
		}, 201},
		{"invite team", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "InviteTeamFunction", Method: "POST", Route: "/conversations/{id}/invitations/team",
				Params: onConv(agentConversation(t, api)), Authorization: agent(api, "ada"), Body: map[string]any{"teamId": "billing"}}, ""
		}, 201},
		{"forward", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "ForwardConversationFunction", Method: "POST", Route: "/conversations/{id}/forward",
				Params: onConv(agentConversation(t, api)), Authorization: agent(api, "ada"),
				Body: map[string]any{"to": map[string]any{"kind": "agent", "id": "linus"}, "message": "yours"}}, ""
		}, 201},
		{"accept", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			o := offerTo(t, api, "/conversations/{id}/invitations/agent", "InviteAgentFunction", map[string]any{"agentId": "mia"})
			return apitest.Request{Function: "AcceptInvitationFunction", Method: "POST", Route: "/invitations/{invitationId}/accept",
				Params: map[string]string{"invitationId": o.ID}, Authorization: agent(api, "mia")}, ""
		}, 200},
		{"decline", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			o := offerTo(t, api, "/conversations/{id}/forward", "ForwardConversationFunction",
				map[string]any{"to": map[string]any{"kind": "agent", "id": "linus"}, "message": "yours"})
			return apitest.Request{Function: "DeclineInvitationFunction", Method: "POST", Route: "/invitations/{invitationId}/decline",
				Params: map[string]string{"invitationId": o.ID}, Authorization: agent(api, "linus")}, ""
		}, 204},
		{"leave (visitor)", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			v := startAsVisitor(t, api, nil)
			return apitest.Request{Function: "LeaveConversationFunction", Method: "POST", Route: "/conversations/{id}/leave",
				Params: onConv(v.ConversationID), Authorization: apitest.Bearer(v.SessionToken)}, ""
		}, 204},
		{"end conversation", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "EndConversationFunction", Method: "POST", Route: "/conversations/{id}/end",
				Params: onConv(agentConversation(t, api)), Authorization: agent(api, "ada")}, ""
		}, 204},
		{"admit", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			c := agentConversation(t, api)
			lou := joinLobby(t, api, c, agent(api, "ada"), "agent")
			return apitest.Request{Function: "AdmitParticipantFunction", Method: "POST", Route: "/conversations/{id}/participants/{participantId}/admit",
				Params: map[string]string{"id": c, "participantId": lou.ParticipantID}, Authorization: agent(api, "ada")}, ""
		}, 200},
		{"refuse", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			c := agentConversation(t, api)
			lou := joinLobby(t, api, c, agent(api, "ada"), "agent")
			return apitest.Request{Function: "RefuseParticipantFunction", Method: "POST", Route: "/conversations/{id}/participants/{participantId}/refuse",
				Params: map[string]string{"id": c, "participantId": lou.ParticipantID}, Authorization: agent(api, "ada")}, ""
		}, 204},
		{"create connect ticket", func(_ *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "CreateConnectTicketFunction", Method: "POST", Route: "/connect-ticket", Authorization: agent(api, "ada")}, ""
		}, 201},
		{"get conversation", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "GetConversationFunction", Method: "GET", Route: "/conversations/{id}",
				Params: onConv(agentConversation(t, api)), Authorization: agent(api, "ada")}, ""
		}, 200},
		{"list events", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "ListEventsFunction", Method: "GET", Route: "/conversations/{id}/events",
				Params: onConv(agentConversation(t, api)), Authorization: agent(api, "ada")}, ""
		}, 200},
		{"list invitations", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "ListInvitationsFunction", Method: "GET", Route: "/conversations/{id}/invitations",
				Params: onConv(agentConversation(t, api)), Authorization: agent(api, "ada")}, ""
		}, 200},
		{"inbox", func(t *testing.T, api *apitest.API) (apitest.Request, string) {
			offerTo(t, api, "/conversations/{id}/invitations/agent", "InviteAgentFunction", map[string]any{"agentId": "mia"})
			return apitest.Request{Function: "GetInboxFunction", Method: "GET", Route: "/inbox", Authorization: agent(api, "mia")}, ""
		}, 200},
		{"list agents", func(_ *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "ListAgentsFunction", Method: "GET", Route: "/agents", Authorization: agent(api, "ada")}, ""
		}, 200},
		{"list teams", func(_ *testing.T, api *apitest.API) (apitest.Request, string) {
			return apitest.Request{Function: "ListTeamsFunction", Method: "GET", Route: "/teams", Authorization: agent(api, "ada")}, ""
		}, 200},
	}
}

// TestFaults_EveryCallSiteOfEveryAction fails, in turn, every AWS call an action makes — once
// refused before it reaches the service, once applied with its answer lost, once throttled —
// and checks what SPEC §5 promises: the caller gets a JSON error with a code (or the action's
// answer, where the failed call was not needed for it), the table holds all of the action or
// none of it, and a retry with the same Idempotency-Key converges on exactly one outcome: the
// table as one clean run leaves it, and at most one email. A throttled DynamoDB call that left
// nothing done is the designed 503 service_busy with Retry-After, never a 500.
func TestFaults_EveryCallSiteOfEveryAction(t *testing.T) {
	t.Parallel()
	var sites atomic.Int64
	for _, fc := range faultCases() {
		t.Run(fc.name, func(t *testing.T) {
			t.Parallel()
			api := apitest.NewWithoutPushes(t) // the matrix compares tables, never pushes
			seedHandover(t, api)
			clean, calls := cleanRun(t, api, fc)
			for call := 1; call <= len(calls); call++ {
				for _, mode := range []faults.Mode{faults.Refuse, faults.LoseAnswer, faults.Throttle} {
					t.Run(fmt.Sprintf("%d-%s-%s", call, calls[call-1], mode), func(t *testing.T) {
						faultedRun(t, api, fc, faults.Plan{Call: call, Mode: mode}, clean)
					})
					sites.Add(1)
				}
			}
		})
	}
	t.Cleanup(func() {
		t.Logf("faults injected at %d call sites (each refused, with its answer lost, and throttled)", sites.Load()/3)
	})
}

// cleanRun runs the action once without faults and returns what it changes in the table and
// the AWS calls it makes.
func cleanRun(t *testing.T, api *apitest.API, fc faultCase) (tableChange, []string) {
	t.Helper()
	req, _ := fc.prepare(t, api)
	before := snapshot(t, api)
	ctx, log := faults.Inject(context.Background())
	if resp := api.DoContext(ctx, withKey(req)); resp.Status != fc.want {
		t.Fatalf("clean run: %d %s, want %d", resp.Status, resp.Body, fc.want)
	}
	return changeBetween(before, snapshot(t, api)), log.Calls()
}

func faultedRun(t *testing.T, api *apitest.API, fc faultCase, plan faults.Plan, clean tableChange) {
	req, mailTo := fc.prepare(t, api)
	req = withKey(req)
	before := snapshot(t, api)

	ctx, log := faults.Inject(context.Background(), plan)
	first := api.DoContext(ctx, req)
	if len(log.Injected()) == 0 {
		t.Fatalf("no call was failed: the action made fewer calls this time (%v)", log.Calls())
	}
	if first.Status != fc.want && (first.Status < 400 || first.ErrorCode() == "") {
		t.Fatalf("faulted answer %d %s: want %d or a JSON error with a code", first.Status, first.Body, fc.want)
	}
	faulted := changeBetween(before, snapshot(t, api))
	if !faulted.none() && !faulted.equal(clean) && first.ErrorCode() != "email_not_sent" {
		t.Fatalf("after the fault the table holds part of the action:\n%s\nwant nothing or:\n%s", faulted, clean)
	}
	if plan.Mode == faults.Throttle && faulted.none() && first.Status != fc.want && !strings.HasPrefix(log.Injected()[0], fmt.Sprint(plan.Call, ":SendEmail")) {
		busyAnswer(t, first)
	}

	if keyless[fc.name] {
		return
	}
	retry := api.Do(req)
	if first.ErrorCode() == "email_not_sent" {
		emailRefused(t, first, retry, faulted, changeBetween(before, snapshot(t, api)), mailTo)
		return
	}
	switch {
	case first.Status == fc.want:
		// The caller has its answer; a retry replays it, or is told the key is held (the
		// answer could not be recorded), or finds its credentials gone with the action.
		replayed := string(retry.Body) == string(first.Body) && retry.Status == first.Status
		held := retry.ErrorCode() == "idempotency_in_progress"
		if !replayed && !held && retry.Status != goneAfter[fc.name] && req.Method != http.MethodGet {
			t.Fatalf("retry answered %d %s, the first answer was %d %s", retry.Status, retry.Body, first.Status, first.Body)
		}
	case retry.Status != fc.want && !finalRefusal(first, retry) && retry.Status != goneAfter[fc.name]:
		t.Fatalf("retry with the same key: %d %s, want %d (the first answer was %d %s)", retry.Status, retry.Body, fc.want, first.Status, first.Body)
	}
	if got := changeBetween(before, snapshot(t, api)); !got.equal(clean) {
		t.Fatalf("after the retry the table differs from one clean run:\n%s\nwant:\n%s", got, clean)
	}
	if mailTo != "" {
		if n := len(testenv.MailTo(t, mailTo)); n > 1 || (n == 0 && retry.Status == fc.want && first.Status == fc.want) {
			t.Fatalf("%d emails to %s", n, mailTo)
		}
	}
}

// emailRefused checks the designed outcome of an email SES did not take (SPEC §5): the
// invitation is recorded as failed and resendable, the answer is final and replayed, the
// retry changes nothing more, and at most one email went out (SES may have sent the one
// whose answer was lost).
func emailRefused(t *testing.T, first, retry apitest.Response, faulted, retried tableChange, mailTo string) {
	t.Helper()
	if retry.Status != first.Status || string(retry.Body) != string(first.Body) {
		t.Fatalf("retry answered %d %s, want the replay of %d %s", retry.Status, retry.Body, first.Status, first.Body)
	}
	if !retried.equal(faulted) {
		t.Fatalf("the retry changed the table again:\n%s\nafter the fault:\n%s", retried, faulted)
	}
	if !strings.Contains(faulted.String(), "add INV|INV") || !strings.Contains(faulted.String(), "reason,resolvedAt") {
		t.Fatalf("no failed invitation recorded:\n%s", faulted)
	}
	if n := len(testenv.MailTo(t, mailTo)); n > 1 {
		t.Fatalf("%d emails to %s", n, mailTo)
	}
}

// busyAnswer: a request that did nothing because DynamoDB was throttled tells its client to
// retry, and when.
func busyAnswer(t *testing.T, r apitest.Response) {
	t.Helper()
	if r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "service_busy" || r.Headers["Retry-After"] != "1" {
		t.Fatalf("throttled: %d %s %v, want 503 service_busy with Retry-After: 1", r.Status, r.Body, r.Headers)
	}
}

// finalRefusal: a fault that made an answer final — an email SES refused is recorded as failed
// (SPEC §5: email_not_sent), and its retry replays that answer.
func finalRefusal(first, retry apitest.Response) bool {
	return retry.Status == first.Status && retry.ErrorCode() == first.ErrorCode() && first.ErrorCode() == "email_not_sent"
}

func withKey(req apitest.Request) apitest.Request {
	if req.Method == http.MethodGet {
		return req
	}
	req.Headers = map[string]string{"Idempotency-Key": "fault-" + randomSuffix() + randomSuffix()}
	return req
}

// snapshot is every item of the table, by key.
func snapshot(t *testing.T, api *apitest.API) map[string]map[string]types.AttributeValue {
	t.Helper()
	db := testenv.DynamoDB(t)
	out := map[string]map[string]types.AttributeValue{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(api.Store.Table()), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			out[keyText(it["pk"])+"|"+keyText(it["sk"])] = it
		}
	}
	return out
}

func keyText(v types.AttributeValue) string {
	s, _ := v.(*types.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}

// tableChange is what an action did to the table, told without ids and values so that two
// runs of one action compare: per item its kind (the key prefixes), whether it was added,
// changed or deleted, and which attributes. Bookkeeping that a failed attempt may leave —
// idempotency records, rate-limit counters — is not part of the action.
type tableChange []string

func changeBetween(before, after map[string]map[string]types.AttributeValue) tableChange {
	var out tableChange
	for k, it := range after {
		old, existed := before[k]
		switch {
		case bookkeeping(k):
		case !existed:
			out = append(out, "add "+kind(k)+" "+strings.Join(slices.Sorted(maps.Keys(it)), ","))
		case !reflect.DeepEqual(old, it):
			out = append(out, "change "+kind(k)+" "+strings.Join(reshaped(old, it), ","))
		}
	}
	for k := range before {
		if _, still := after[k]; !still && !bookkeeping(k) {
			out = append(out, "delete "+kind(k))
		}
	}
	slices.Sort(out)
	return out
}

// reshaped names the attributes an item gained (+) or lost (-). Changed values are not
// told: they hold times and counters that differ between two runs of one action.
func reshaped(old, now map[string]types.AttributeValue) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(now)) {
		if _, had := old[name]; !had {
			out = append(out, "+"+name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(old)) {
		if _, still := now[name]; !still {
			out = append(out, "-"+name)
		}
	}
	return out
}

func bookkeeping(key string) bool {
	return strings.HasPrefix(key, "IDEM#") || strings.HasPrefix(key, "RATE#")
}

// kind is a key without its ids: "CONV#abc|EVT#0007" → "CONV|EVT".
func kind(key string) string {
	pk, sk, _ := strings.Cut(key, "|")
	prefix := func(s string) string { p, _, _ := strings.Cut(s, "#"); return p }
	return prefix(pk) + "|" + prefix(sk)
}

func (c tableChange) none() bool               { return len(c) == 0 }
func (c tableChange) equal(o tableChange) bool { return slices.Equal(c, o) }
func (c tableChange) String() string           { return "  " + strings.Join(c, "\n  ") }
