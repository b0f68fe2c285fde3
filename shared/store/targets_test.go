package store_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/roundtrips"
	"github.com/invite-forward/invite-forward/shared/store"
)

// TestTargets_AWholeRouteInOneBatch: the agents and teams a route names, whether each agent is
// in the conversation and whether each is connected come from one BatchGetItem, each team's
// members from one Query beside it; what does not exist is ErrNotFound, each on its own.
func TestTargets_AWholeRouteInOneBatch(t *testing.T) {
	t.Parallel()
	st := at(newStore(t), morning)
	ctx := t.Context()
	for _, a := range []directory.Agent{{ID: "ada", Name: "Ada"}, {ID: "grace", Name: "Grace"}} {
		if err := st.PutAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutTeam(ctx, directory.Team{ID: "billing", Name: "Billing", Members: []string{"ada", "grace"}}); err != nil {
		t.Fatal(err)
	}
	n := newConversation(morning)
	n.Participant = conversation.Participant{ConversationID: n.Conversation.ID, ID: conversation.AgentParticipantID("ada"),
		Kind: conversation.KindAgent, AgentID: "ada", JoinedAt: morning}
	created(t, st, n)
	connect(t, st, agentConn("conn-grace", "grace", morning))

	counted, counter := roundtrips.Start(context.Background())
	got, err := st.Targets(counted, store.TargetsQuery{Agents: []string{"ada", "grace", "nobody"}, Teams: []string{"billing", "ghosts"},
		ConversationID: n.Conversation.ID, Presence: true})
	if err != nil {
		t.Fatal(err)
	}
	if ops := slices.Sorted(slices.Values(counter.Operations())); !slices.Equal(ops, []string{"BatchGetItem", "Query", "Query"}) {
		t.Errorf("calls %v; want one BatchGetItem and a Query per team", ops)
	}

	if a, err := got.Agent("grace"); err != nil || a.Name != "Grace" {
		t.Errorf("Agent(grace) = %+v, %v", a, err)
	}
	if _, err := got.Agent("nobody"); !store.IsNotFound(err) {
		t.Errorf("Agent(nobody) error = %v, want not found", err)
	}
	if p, err := got.In("ada"); err != nil || p.ID != conversation.AgentParticipantID("ada") || p.ConversationID != n.Conversation.ID {
		t.Errorf("In(ada) = %+v, %v; want ada's participant item", p, err)
	}
	if _, err := got.In("grace"); !store.IsNotFound(err) {
		t.Errorf("In(grace) error = %v, want not found: she is not in the conversation", err)
	}
	if team, err := got.Team("billing"); err != nil || team.Name != "Billing" || !slices.Equal(team.Members, []string{"ada", "grace"}) {
		t.Errorf("Team(billing) = %+v, %v", team, err)
	}
	if _, err := got.Team("ghosts"); !store.IsNotFound(err) {
		t.Errorf("Team(ghosts) error = %v, want not found", err)
	}
	want := map[string]bool{"ada": false, "grace": true, "nobody": false}
	if !maps.Equal(got.Connected(), want) {
		t.Errorf("Connected() = %v, want %v", got.Connected(), want)
	}
}
