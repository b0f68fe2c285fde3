package handlers_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

// busyConversation gives a conversation a bit of everything that lives under it: messages, a
// customer who joined by PIN (participant and session), a pending PIN, a pending email
// invitation (join token, SES message id), a forward with a fallback target queued behind it
// (its slot in grace's inbox), and an invitee waiting in the lobby.
func busyConversation(t *testing.T, api *apitest.API, id, ada string) {
	t.Helper()
	ok := func(what string, resp apitest.Response, want int) {
		t.Helper()
		if resp.Status != want {
			t.Fatalf("%s: %d %s", what, resp.Status, resp.Body)
		}
	}
	ok("message", postMessage(api, id, ada, "hello"), 201)
	ok("redeem", redeem(api, "RedeemPinFunction", "/join/pin", map[string]any{"pin": createPIN(t, api, id, ada).PIN}, "198.51.100.20"), 201)
	createPIN(t, api, id, ada)
	onConv := map[string]string{"id": id}
	ok("email", api.Do(apitest.Request{Function: "CreateEmailInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/email",
		Params: onConv, Authorization: ada, Body: map[string]any{"email": "keep-" + randomSuffix() + "@example.com"}}), 201)
	ok("forward with fallback", api.Do(apitest.Request{Function: "ForwardConversationFunction", Method: "POST", Route: "/conversations/{id}/forward",
		Params: onConv, Authorization: ada, Body: map[string]any{"to": map[string]any{"kind": "team", "id": "billing"}, "afterSeconds": 60,
			"fallback": []any{map[string]any{"kind": "agent", "id": "grace"}}}}), 201)
	joinLobby(t, api, id, ada, "agent")
	ok("message", postMessage(api, id, ada, "still there?"), 201)
}

// tableItems reads the whole table.
func tableItems(t *testing.T, api *apitest.API) []map[string]types.AttributeValue {
	t.Helper()
	var out []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(testenv.DynamoDB(t), &dynamodb.ScanInput{TableName: aws.String(api.Store.Table()), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Items...)
	}
	return out
}

// itemsOf are the items of a conversation: under its key, or naming it (invitations and their
// slots, PINs, join tokens, sessions). The outbox's push-only items and the SES message-id
// items keep lives of their own (store/retention.go says why).
func itemsOf(items []map[string]types.AttributeValue, conversationID string) (out []map[string]types.AttributeValue) {
	for _, m := range items {
		pk, typ := testenv.Attr(m, "pk"), testenv.Attr(m, "type")
		if typ == "outbox" || typ == "sesMessage" {
			continue
		}
		if pk == "CONV#"+conversationID || testenv.Attr(m, "conversationId") == conversationID {
			out = append(out, m)
		}
	}
	return out
}

func describe(m map[string]types.AttributeValue) string {
	return testenv.Attr(m, "pk") + " " + testenv.Attr(m, "sk") + " (" + testenv.Attr(m, "type") + ")"
}

// TestRetention_AnEndedConversationExpiresWholeAndReadsAsGoneAtItsExpiry (issue #13): after
// the end and one sweep, every item of the conversation carries the same expiry, end +
// RetentionDays — conversation, head, participants (the waiting invitee too), history,
// invitations — and its PINs, join token and sessions are gone; an open conversation with the
// same items carries none. A conversation nobody answered, ended by the sweep, expires alike.
// From its expiry on, before TTL has deleted anything, the ended conversation is 404 to its
// own agent; the open one is kept, however long it stays open.
func TestRetention_AnEndedConversationExpiresWholeAndReadsAsGoneAtItsExpiry(t *testing.T) {
	t.Parallel()
	api, clock := clockedAPI(t)
	seedHandover(t, api)
	ada := apitest.Bearer(api.AgentToken("ada"))
	ended, open := startAsAgent(t, api, "ada").ConversationID, startAsAgent(t, api, "ada").ConversationID
	busyConversation(t, api, ended, ada)
	busyConversation(t, api, open, ada)
	if resp := api.Do(apitest.Request{Function: "EndConversationFunction", Method: "POST", Route: "/conversations/{id}/end",
		Params: map[string]string{"id": ended}, Authorization: ada}); resp.Status != 204 {
		t.Fatalf("end: %d %s", resp.Status, resp.Body)
	}
	if rep := runSweep(t, api); rep.Retention.Retained != 1 || rep.Retention.Failed != 0 {
		t.Fatalf("sweep: %+v", rep.Retention)
	}
	items := tableItems(t, api)
	checkExpiry(t, itemsOf(items, ended), true)
	if kinds := checkExpiry(t, itemsOf(items, open), false); !kinds["offer-slot"] || !kinds["pin"] || !kinds["join"] || !kinds["session"] {
		t.Errorf("the open conversation holds %v: the test did not build what it checks", kinds)
	}

	// Nobody takes a visitor's conversation: the sweep ends it as unanswered, and the next
	// stamps it like any other.
	unanswered := startAsVisitor(t, api, map[string]any{"teamId": "billing"}).ConversationID
	clock.set(31 * time.Minute)
	runSweep(t, api)
	if rep := runSweep(t, api); rep.Retention.Failed != 0 {
		t.Fatalf("sweep: %+v", rep.Retention)
	}
	checkExpiry(t, itemsOf(tableItems(t, api), unanswered), true)

	get := func(fn, route, id string) apitest.Response {
		return api.Do(apitest.Request{Function: fn, Method: "GET", Route: route, Params: map[string]string{"id": id}, Authorization: ada})
	}
	clock.set(store.DefaultRetention - time.Minute)
	if resp := get("GetConversationFunction", "/conversations/{id}", ended); resp.Status != 200 {
		t.Fatalf("a minute before its expiry: %d %s", resp.Status, resp.Body)
	}
	clock.set(store.DefaultRetention + time.Minute)
	for _, r := range []struct{ fn, route string }{
		{"GetConversationFunction", "/conversations/{id}"},
		{"ListEventsFunction", "/conversations/{id}/events"},
		{"ListInvitationsFunction", "/conversations/{id}/invitations"},
	} {
		if resp := get(r.fn, r.route, ended); resp.Status != 404 || resp.ErrorCode() != "conversation_not_found" {
			t.Errorf("%s past its retention: %d %s, want 404 conversation_not_found", r.route, resp.Status, resp.Body)
		}
		if resp := get(r.fn, r.route, open); resp.Status != 200 {
			t.Errorf("%s of the open conversation: %d %s", r.route, resp.Status, resp.Body)
		}
	}
}

// checkExpiry fails unless every item carries one and the same expiry, end + retention (or,
// for an open conversation, none), and no live secret or session is left of an ended one. It
// returns the kinds of items it saw.
func checkExpiry(t *testing.T, items []map[string]types.AttributeValue, ended bool) map[string]bool {
	t.Helper()
	var endedAt int64
	for _, m := range items {
		if testenv.Attr(m, "sk") == "META" {
			endedAt, _ = strconv.ParseInt(testenv.Attr(m, "endedAt"), 10, 64)
		}
	}
	want := ""
	if ended {
		want = strconv.FormatInt(time.UnixMilli(endedAt).Add(store.DefaultRetention).Unix(), 10)
	}
	kinds := map[string]bool{}
	for _, m := range items {
		kinds[testenv.Attr(m, "type")] = true
		if ended && strings.Contains("PIN# JOIN# SESSION#", strings.SplitAfter(testenv.Attr(m, "pk"), "#")[0]) {
			t.Errorf("%s outlived the end", describe(m))
			continue
		}
		if got := testenv.Attr(m, "expiresAt"); got != want && !(!ended && isShortLived(m)) {
			t.Errorf("%s expires at %q, want %q", describe(m), got, want)
		}
	}
	if !kinds["conversation"] || !kinds["head"] || !kinds["event"] || !kinds["participant"] || !kinds["invitation"] {
		t.Errorf("only %v: the test did not build what it checks", kinds)
	}
	return kinds
}

// isShortLived: live PINs, join tokens and sessions of an open conversation expire by themselves.
func isShortLived(m map[string]types.AttributeValue) bool {
	switch testenv.Attr(m, "type") {
	case "pin", "join", "session":
		return true
	}
	return false
}
