// Package directory holds the company's agents and teams: who can be invited or forwarded
// to, and who is available right now. It is domain code; the store keeps it in the table and
// the seed command loads it from a JSON file.
package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/ids"
)

// Status is an agent's own availability setting.
type Status string

const (
	StatusAvailable Status = "available"
	StatusAway      Status = "away"
	StatusOffline   Status = "offline"
)

// Agent is one of the company's agents. ID is the JWT `sub` the agent signs in with.
type Agent struct {
	ID     string `json:"agentId"`
	Name   string `json:"name"`
	Email  string `json:"email,omitempty"`
	Status Status `json:"status"`
	Online bool   `json:"online"`
}

// Team is a named group of agents; invitations and forwards to a team reach every member.
type Team struct {
	ID      string   `json:"teamId"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
	// Online counts members who are online; set by the directory listing.
	Online int `json:"online"`
}

// Store is what the directory needs of storage.
type Store interface {
	Agents(ctx context.Context) ([]Agent, error)
	Teams(ctx context.Context) ([]Team, error)
}

// Presence says which agents have a live WebSocket connection.
type Presence interface {
	Connected(ctx context.Context, agentIDs []string) (map[string]bool, error)
}

// Service lists the directory with availability.
type Service struct {
	Store    Store
	Presence Presence // nil: nobody counts as connected
}

// ListAgents returns every agent; online means a live connection and status available.
func (s *Service) ListAgents(ctx context.Context) ([]Agent, error) {
	agents, err := s.Store.Agents(ctx)
	if err != nil {
		return nil, apperror.Internal(err)
	}
	ids := make([]string, len(agents))
	for i, a := range agents {
		ids[i] = a.ID
	}
	connected, err := s.connected(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range agents {
		agents[i].Online = IsOnline(agents[i], connected[agents[i].ID])
	}
	if agents == nil {
		agents = []Agent{}
	}
	return agents, nil
}

// ListTeams returns every team with how many members are online. The teams and the agents
// (with their presence) are independent reads, made at once.
func (s *Service) ListTeams(ctx context.Context) ([]Team, error) {
	var (
		teams, agents       = []Team(nil), []Agent(nil)
		teamsErr, agentsErr error
		wg                  sync.WaitGroup
	)
	wg.Go(func() { teams, teamsErr = s.Store.Teams(ctx) })
	wg.Go(func() { agents, agentsErr = s.ListAgents(ctx) })
	wg.Wait()
	if teamsErr != nil {
		return nil, apperror.Internal(teamsErr)
	}
	if agentsErr != nil {
		return nil, agentsErr
	}
	online := map[string]bool{}
	for _, a := range agents {
		online[a.ID] = a.Online
	}
	for i := range teams {
		for _, m := range teams[i].Members {
			if online[m] {
				teams[i].Online++
			}
		}
		if teams[i].Members == nil {
			teams[i].Members = []string{}
		}
	}
	if teams == nil {
		teams = []Team{}
	}
	return teams, nil
}

func (s *Service) connected(ctx context.Context, ids []string) (map[string]bool, error) {
	if s.Presence == nil || len(ids) == 0 {
		return map[string]bool{}, nil
	}
	c, err := s.Presence.Connected(ctx, ids)
	if err != nil {
		return nil, apperror.Internal(err)
	}
	return c, nil
}

// IsOnline is SPEC §4's rule: online = has a live connection and status available.
func IsOnline(a Agent, connected bool) bool { return connected && a.Status == StatusAvailable }

// Seed is the JSON file that loads a directory.
type Seed struct {
	Agents []Agent `json:"agents"`
	Teams  []Team  `json:"teams"`
}

// ParseSeed reads and checks a seed file: ids well-formed and unique, every team member a
// listed agent, statuses known.
func ParseSeed(r io.Reader) (Seed, error) {
	var s Seed
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Seed{}, fmt.Errorf("seed: %w", err)
	}
	agents := map[string]bool{}
	for i, a := range s.Agents {
		if !ValidID(a.ID) || a.Name == "" || agents[a.ID] {
			return Seed{}, fmt.Errorf("seed: agent %d: id must be unique and well-formed, name required", i)
		}
		switch a.Status {
		case "":
			s.Agents[i].Status = StatusAvailable
		case StatusAvailable, StatusAway, StatusOffline:
		default:
			return Seed{}, fmt.Errorf("seed: agent %s: unknown status %q", a.ID, a.Status)
		}
		agents[a.ID] = true
	}
	teams := map[string]bool{}
	for _, t := range s.Teams {
		if !ValidID(t.ID) || t.Name == "" || teams[t.ID] {
			return Seed{}, fmt.Errorf("seed: team %q: id must be unique and well-formed, name required", t.ID)
		}
		teams[t.ID] = true
		for _, m := range t.Members {
			if !agents[m] {
				return Seed{}, fmt.Errorf("seed: team %s: member %q is not a listed agent", t.ID, m)
			}
		}
		sort.Strings(t.Members)
	}
	return s, nil
}

// ValidID reports whether id has the shape of an agent or team id.
func ValidID(id string) bool { return ids.Valid(id) }
