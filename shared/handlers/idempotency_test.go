package handlers_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/invite-forward/invite-forward/shared/apitest"
)

// TestIdempotency_AnonymousKeyAloneScopesTheReplay (SPEC §5): an anonymous retry gets its
// answer from any network — the client IP is no part of the scope — and a key that someone
// could guess is refused, since the key alone gives the answer (a session token) back.
func TestIdempotency_AnonymousKeyAloneScopesTheReplay(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	start := func(ip, key string) apitest.Response {
		return api.Do(apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
			Body: map[string]any{"topic": "from a train"}, SourceIP: ip, Headers: map[string]string{"Idempotency-Key": key}})
	}
	const key = "0f8e2a6c-4b1d-4c3e-9f7a-2d5b8e1c6a94"
	first := start("198.51.100.20", key)
	moved := start("203.0.113.77", key) // the phone changed networks
	if first.Status != 201 || moved.Status != 201 || string(moved.Body) != string(first.Body) || moved.Headers["Idempotency-Replayed"] != "true" {
		t.Fatalf("retry from another network: %d %s / %d %s, want the first answer replayed", first.Status, first.Body, moved.Status, moved.Body)
	}
	for _, guessable := range []string{"1", "start-1", "abcdefghijklmnopqrstu", "has spaces in it but is very long indeed"} {
		if r := start("198.51.100.20", guessable); r.Status != 400 || r.ErrorCode() != "invalid_idempotency_key" {
			t.Errorf("anonymous key %q: %d %s, want 400 invalid_idempotency_key", guessable, r.Status, r.Body)
		}
	}
	if r := start("198.51.100.20", "AbCdEfGhIjKlMnOpQrStUv"); r.Status != 201 {
		t.Errorf("22 URL-safe characters: %d %s, want 201", r.Status, r.Body)
	}
	agent := api.Do(apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
		Authorization: apitest.Bearer(api.AgentToken("ada")), Headers: map[string]string{"Idempotency-Key": "start-1"}})
	if agent.Status != 201 {
		t.Errorf("an agent's short key (scoped by the agent): %d %s, want 201", agent.Status, agent.Body)
	}
}

// TestIdempotency_A409IsNotReplayed: a conflict reports a state that changed nothing; the
// same request retried with the same key once the state allows it succeeds.
func TestIdempotency_A409IsNotReplayed(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	seedHandover(t, api)
	conv := startAsAgent(t, api, "ada")
	ada, grace := apitest.Bearer(api.AgentToken("ada")), apitest.Bearer(api.AgentToken("grace"))
	invite := func(key string) apitest.Response {
		return api.Do(apitest.Request{Function: "InviteAgentFunction", Method: "POST", Route: "/conversations/{id}/invitations/agent",
			Params: map[string]string{"id": conv.ConversationID}, Authorization: ada,
			Body: map[string]any{"agentId": "grace", "message": "join me"}, Headers: map[string]string{"Idempotency-Key": key}})
	}
	first := invite("invite-grace-1")
	var inv struct {
		InvitationID string `json:"invitationId"`
	}
	if first.Status != 201 {
		t.Fatalf("invite: %d %s", first.Status, first.Body)
	}
	first.Decode(t, &inv)
	if accept := api.Do(apitest.Request{Function: "AcceptInvitationFunction", Method: "POST", Route: "/invitations/{invitationId}/accept",
		Params: map[string]string{"invitationId": inv.InvitationID}, Authorization: grace}); accept.Status != 200 {
		t.Fatalf("accept: %d %s", accept.Status, accept.Body)
	}
	if r := invite("invite-grace-2"); r.Status != 409 {
		t.Fatalf("inviting a participant: %d %s, want 409", r.Status, r.Body)
	}
	leave(t, api, conv.ConversationID, grace)
	if r := invite("invite-grace-2"); r.Status != 201 || r.Headers["Idempotency-Replayed"] != "" {
		t.Fatalf("same key once grace left: %d %s %v, want a fresh 201", r.Status, r.Body, r.Headers)
	}
}

// TestIdempotency_ConcurrentRetriesOfOnePostAreOneMessage (SPEC §5): a post's answer is written
// in its own transaction (httpapi.CommitsOnce), so the key has no "in progress" of its own.
// Many copies of one keyed post sent at once, against DynamoDB Local, make one message, and
// every copy is answered with it (the winner's answer, replayed to the others).
func TestIdempotency_ConcurrentRetriesOfOnePostAreOneMessage(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	conv := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	const rounds, copies = 8, 6
	for round := range rounds {
		key := fmt.Sprintf("post-%d", round)
		answers := make([]apitest.Response, copies)
		var wg sync.WaitGroup
		for i := range copies {
			wg.Go(func() {
				answers[i] = api.DoAsClient(apitest.Request{Function: "PostMessageFunction", Method: "POST", Route: "/conversations/{id}/messages",
					Params: map[string]string{"id": conv.ConversationID}, Authorization: ada,
					Body: map[string]any{"text": key}, Headers: map[string]string{"Idempotency-Key": key}})
			})
		}
		wg.Wait()
		for i, a := range answers {
			if a.Status != 201 || string(a.Body) != string(answers[0].Body) {
				t.Fatalf("round %d, copy %d: %d %s; copy 0: %d %s", round, i, a.Status, a.Body, answers[0].Status, answers[0].Body)
			}
		}
	}
	var page struct {
		Events []struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		} `json:"events"`
	}
	api.Do(apitest.Request{Function: "ListEventsFunction", Method: "GET", Route: "/conversations/{id}/events",
		Params: map[string]string{"id": conv.ConversationID}, Authorization: ada, Query: map[string]string{"limit": "100"}}).Decode(t, &page)
	posted := map[string]int{}
	for _, e := range page.Events {
		if e.Type == "message.created" {
			posted[fmt.Sprint(e.Data["text"])]++
		}
	}
	for round := range rounds {
		if n := posted[fmt.Sprintf("post-%d", round)]; n != 1 {
			t.Errorf("post-%d is in the history %d times, want once", round, n)
		}
	}
}
