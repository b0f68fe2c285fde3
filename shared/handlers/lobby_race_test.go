package handlers_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/handlers"
)

// The lobby under races (SPEC §5 Integrity, §9.3): real concurrent requests against DynamoDB
// Local, many rounds. Whatever the interleaving, a waiting invitee ends admitted or refused,
// never both, and what the history says is what the data says.

const lobbyRounds = 8

// lobbyOutcome reads how a wait ended: the lobby events about the participant in the agents'
// history, whether they are listed as active, and whether their session still works.
type lobbyOutcome struct {
	admitted, refused int
	active            bool
	sessionWorks      bool
	lastType          string
}

func outcomeOf(t *testing.T, api *apitest.API, conversationID, agentAuthz string, invitee lobbyJoined) lobbyOutcome {
	t.Helper()
	var o lobbyOutcome
	after := "0"
	for {
		resp := api.Do(apitest.Request{Function: "ListEventsFunction", Method: "GET", Route: "/conversations/{id}/events",
			Params: map[string]string{"id": conversationID}, Query: map[string]string{"after": after, "limit": "100"}, Authorization: agentAuthz})
		if resp.Status != 200 {
			t.Fatalf("history: %d %s", resp.Status, resp.Body)
		}
		var page struct {
			Events []conversation.Event `json:"events"`
			Next   int64                `json:"next"`
		}
		resp.Decode(t, &page)
		for _, e := range page.Events {
			o.lastType = e.Type
			if e.Data["participantId"] != invitee.ParticipantID {
				continue
			}
			switch e.Type {
			case conversation.EventParticipantAdmitted:
				o.admitted++
			case conversation.EventParticipantRefused:
				o.refused++
			}
		}
		if page.Next == 0 {
			break
		}
		after = strconv.FormatInt(page.Next, 10)
	}
	parts, err := api.Store.Participants(t.Context(), conversationID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if p.ID == invitee.ParticipantID && p.Active() {
			o.active = true
		}
	}
	resp := api.Do(apitest.Request{Function: "GetConversationFunction", Method: "GET", Route: "/conversations/{id}",
		Params: map[string]string{"id": conversationID}, Authorization: apitest.Bearer(invitee.SessionToken)})
	o.sessionWorks = resp.Status == 200
	return o
}

// consistent checks that exactly one answer happened and the data agrees with it.
func (o lobbyOutcome) consistent(t *testing.T, round int) (admitted bool) {
	t.Helper()
	switch {
	case o.admitted == 1 && o.refused == 0 && o.active && o.sessionWorks:
		return true
	case o.admitted == 0 && o.refused == 1 && !o.active && !o.sessionWorks:
		return false
	}
	t.Fatalf("round %d: %+v, want exactly one of admitted (active, session working) or refused (gone, session ended)", round, o)
	return false
}

func concurrently(fns ...func()) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn()
		}()
	}
	close(start)
	wg.Wait()
}

func TestLobby_AdmitRacingRefuse_ExactlyOneWins(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	conv := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	wins := map[bool]int{}
	for round := range lobbyRounds {
		lou := joinLobby(t, api, conv.ConversationID, ada, "agent")
		var admit, refuse apitest.Response
		concurrently(
			func() { admit = lobbyAnswer(api, conv.ConversationID, lou.ParticipantID, "admit", ada) },
			func() { refuse = lobbyAnswer(api, conv.ConversationID, lou.ParticipantID, "refuse", ada) },
		)
		if (admit.Status == 200) == (refuse.Status == 204) {
			t.Fatalf("round %d: admit %d %s, refuse %d %s: want exactly one to succeed", round, admit.Status, admit.Body, refuse.Status, refuse.Body)
		}
		// The loser learns the invitee no longer waits; an admit that reads after the refusal
		// finds nobody (a refused invitee is no participant).
		for _, lost := range []apitest.Response{admit, refuse} {
			if lost.Status >= 400 && lost.ErrorCode() != "not_waiting" && lost.ErrorCode() != "participant_not_found" {
				t.Fatalf("round %d: the loser got %d %s, want 409 not_waiting or 404 participant_not_found", round, lost.Status, lost.Body)
			}
		}
		admitted := outcomeOf(t, api, conv.ConversationID, ada, lou).consistent(t, round)
		if admitted != (admit.Status == 200) {
			t.Fatalf("round %d: the answers say admitted=%v, the data says %v", round, admit.Status == 200, admitted)
		}
		wins[admitted]++
	}
	t.Logf("admit won %d rounds, refuse %d", wins[true], wins[false])
}

func TestLobby_TwoAdmitters_ExactlyOneLetsThemIn(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	conv := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	sam := joinLobby(t, api, conv.ConversationID, ada, "none")
	for round := range lobbyRounds {
		lou := joinLobby(t, api, conv.ConversationID, ada, "customer")
		var first, second apitest.Response
		concurrently(
			func() { first = lobbyAnswer(api, conv.ConversationID, lou.ParticipantID, "admit", ada) },
			func() {
				second = lobbyAnswer(api, conv.ConversationID, lou.ParticipantID, "admit", apitest.Bearer(sam.SessionToken))
			},
		)
		if (first.Status == 200) == (second.Status == 200) {
			t.Fatalf("round %d: agent %d %s, customer %d %s: want exactly one admission", round, first.Status, first.Body, second.Status, second.Body)
		}
		if o := outcomeOf(t, api, conv.ConversationID, ada, lou); !o.consistent(t, round) {
			t.Fatalf("round %d: admitted by one, yet %+v", round, o)
		}
	}
}

func TestLobby_AdmitRacingTheEnd_NothingAfterConversationEnded(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	ada := apitest.Bearer(api.AgentToken("ada"))
	admittedRounds := 0
	for round := range lobbyRounds {
		conv := startAsAgent(t, api, "ada")
		lou := joinLobby(t, api, conv.ConversationID, ada, "agent")
		var admit, end apitest.Response
		concurrently(
			func() { admit = lobbyAnswer(api, conv.ConversationID, lou.ParticipantID, "admit", ada) },
			func() {
				end = api.Do(apitest.Request{Function: "EndConversationFunction", Method: "POST", Route: "/conversations/{id}/end",
					Params: map[string]string{"id": conv.ConversationID}, Authorization: ada})
			},
		)
		if end.Status != 204 {
			t.Fatalf("round %d: end %d %s", round, end.Status, end.Body)
		}
		if admit.Status != 200 && (admit.Status != 409 || admit.ErrorCode() != "conversation_ended") {
			t.Fatalf("round %d: admit %d %s, want 200 or 409 conversation_ended", round, admit.Status, admit.Body)
		}
		o := outcomeOf(t, api, conv.ConversationID, ada, lou)
		if o.lastType != conversation.EventConversationEnded || o.sessionWorks || o.refused != 0 || o.admitted != map[bool]int{true: 1}[admit.Status == 200] {
			t.Fatalf("round %d: admit %d, then %+v: want conversation.ended last, the session ended, one admission iff admit answered 200", round, admit.Status, o)
		}
		if admit.Status == 200 {
			admittedRounds++
		}
	}
	t.Logf("the admission landed before the end in %d of %d rounds", admittedRounds, lobbyRounds)
}

func TestLobby_AdmitRacingTheTimeout_AdmittedOrRefusedNeverBoth(t *testing.T) {
	t.Parallel()
	api, clock := clockedAPI(t)
	conv := startAsAgent(t, api, "ada")
	ada := apitest.Bearer(api.AgentToken("ada"))
	sweeper := handlers.ExpireInvitations(api.Deps)
	wins := map[bool]int{}
	for round := range 2 * lobbyRounds {
		clock.set(0)
		lou := joinLobby(t, api, conv.ConversationID, ada, "agent")
		// Every Lambda reads its own clock, a second either side of the deadline: some think
		// the wait has run out, others not.
		clock.set(time.Until(lou.WaitingUntil)-300*time.Millisecond, -time.Second, time.Second)
		var admit apitest.Response
		concurrently(
			func() { admit = lobbyAnswer(api, conv.ConversationID, lou.ParticipantID, "admit", ada) },
			func() { _, _ = sweeper(context.Background(), events.EventBridgeEvent{ID: "race"}) },
			func() { _, _ = sweeper(context.Background(), events.EventBridgeEvent{ID: "race-2"}) },
		)
		// A sweep that refused first answers 409 not_waiting, or 404 participant_not_found
		// once the refusal has removed them (as the OpenAPI says): either way not admitted.
		if !admitAnswered(admit) {
			t.Fatalf("round %d: admit %d %s, want 200, 409 not_waiting or 404 participant_not_found", round, admit.Status, admit.Body)
		}
		// Whatever was left undecided, the clock decides now.
		clock.set(time.Until(lou.WaitingUntil) + time.Minute)
		if _, err := sweeper(context.Background(), events.EventBridgeEvent{ID: "after"}); err != nil {
			t.Fatal(err)
		}
		clock.set(0)
		admitted := outcomeOf(t, api, conv.ConversationID, ada, lou).consistent(t, round)
		if admitted != (admit.Status == 200) {
			t.Fatalf("round %d: admit answered %d, yet admitted=%v", round, admit.Status, admitted)
		}
		wins[admitted]++
	}
	t.Logf("admitted %d rounds, timed out %d", wins[true], wins[false])
}

// admitAnswered: an admit racing the lobby's timeout is admitted, or finds the invitee no longer
// waiting, or already refused and gone.
func admitAnswered(r apitest.Response) bool {
	return r.Status == 200 || (r.Status == 409 && r.ErrorCode() == "not_waiting") ||
		(r.Status == 404 && r.ErrorCode() == "participant_not_found")
}
