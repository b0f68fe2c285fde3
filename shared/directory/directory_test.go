package directory

import (
	"context"
	"strings"
	"testing"
)

func TestIsOnline_NeedsALiveConnectionAndStatusAvailable(t *testing.T) {
	cases := []struct {
		status    Status
		connected bool
		want      bool
	}{
		{StatusAvailable, true, true},
		{StatusAvailable, false, false},
		{StatusAway, true, false},
		{StatusOffline, true, false},
	}
	for _, c := range cases {
		if got := IsOnline(Agent{Status: c.status}, c.connected); got != c.want {
			t.Errorf("status %s, connected %v: online %v, want %v", c.status, c.connected, got, c.want)
		}
	}
}

func TestParseSeed_RefusesWhatWouldCorruptTheDirectory(t *testing.T) {
	cases := map[string]string{
		"unknown field":       `{"agents":[{"agentId":"ada","name":"Ada","admin":true}]}`,
		"duplicate agent":     `{"agents":[{"agentId":"ada","name":"Ada"},{"agentId":"ada","name":"Ada 2"}]}`,
		"member not an agent": `{"agents":[{"agentId":"ada","name":"Ada"}],"teams":[{"teamId":"t","name":"T","members":["bob"]}]}`,
		"bad id":              `{"agents":[{"agentId":"a b","name":"Ada"}]}`,
		"unknown status":      `{"agents":[{"agentId":"ada","name":"Ada","status":"sleeping"}]}`,
		"team without a name": `{"teams":[{"teamId":"t"}]}`,
	}
	for name, raw := range cases {
		if _, err := ParseSeed(strings.NewReader(raw)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	s, err := ParseSeed(strings.NewReader(`{"agents":[{"agentId":"ada","name":"Ada"}],"teams":[{"teamId":"support","name":"Support","members":["ada"]}]}`))
	if err != nil || s.Agents[0].Status != StatusAvailable || s.Teams[0].Members[0] != "ada" {
		t.Fatalf("valid seed: %+v %v", s, err)
	}
}

type fakeDirectory struct {
	agents []Agent
	teams  []Team
}

func (f fakeDirectory) Agents(context.Context) ([]Agent, error) { return f.agents, nil }
func (f fakeDirectory) Teams(context.Context) ([]Team, error)   { return f.teams, nil }

type connectedSet map[string]bool

func (c connectedSet) Connected(context.Context, []string) (map[string]bool, error) { return c, nil }

func TestListTeams_CountsOnlineMembers(t *testing.T) {
	svc := Service{
		Store: fakeDirectory{
			agents: []Agent{{ID: "ada", Status: StatusAvailable}, {ID: "grace", Status: StatusAway}, {ID: "linus", Status: StatusAvailable}},
			teams:  []Team{{ID: "support", Members: []string{"ada", "grace", "linus"}}},
		},
		Presence: connectedSet{"ada": true, "grace": true},
	}
	teams, err := svc.ListTeams(context.Background())
	if err != nil || len(teams) != 1 || teams[0].Online != 1 {
		t.Fatalf("teams = %+v, %v; want support with 1 online (ada: connected and available)", teams, err)
	}
}
