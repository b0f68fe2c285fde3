package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

func agentPK(id string) string  { return "AGENT#" + id }
func teamPK(id string) string   { return "TEAM#" + id }
func memberSK(id string) string { return "MEMBER#" + id }

const (
	profileSK    = "PROFILE"
	dirAgentsKey = "DIR#AGENT"
	dirTeamsKey  = "DIR#TEAM"
)

type agentItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	Type   string `dynamodbav:"type"`
	ID     string `dynamodbav:"id"`
	Name   string `dynamodbav:"name"`
	Email  string `dynamodbav:"email,omitempty"`
	Status string `dynamodbav:"status"`
	GSI1PK string `dynamodbav:"gsi1pk"`
	GSI1SK string `dynamodbav:"gsi1sk"`
}

type teamItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	Type   string `dynamodbav:"type"`
	ID     string `dynamodbav:"id"`
	Name   string `dynamodbav:"name"`
	GSI1PK string `dynamodbav:"gsi1pk"`
	GSI1SK string `dynamodbav:"gsi1sk"`
}

type memberItem struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Type    string `dynamodbav:"type"`
	TeamID  string `dynamodbav:"teamId"`
	AgentID string `dynamodbav:"agentId"`
	GSI1PK  string `dynamodbav:"gsi1pk"`
	GSI1SK  string `dynamodbav:"gsi1sk"`
}

// PutAgent creates or replaces an agent's profile.
func (s *Store) PutAgent(ctx context.Context, a directory.Agent) error {
	item, err := marshal(agentItem{
		PK: agentPK(a.ID), SK: profileSK, Type: "agent", ID: a.ID, Name: a.Name, Email: a.Email,
		Status: string(a.Status), GSI1PK: dirAgentsKey, GSI1SK: a.Name + "#" + a.ID,
	})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	if err != nil {
		return fmt.Errorf("put agent: %w", err)
	}
	return nil
}

// PutTeam creates or replaces a team and adds its members. Members no longer listed are
// removed, so seeding the same file twice converges.
func (s *Store) PutTeam(ctx context.Context, t directory.Team) error {
	old, err := s.TeamMembers(ctx, t.ID)
	if err != nil {
		return err
	}
	tx := s.newTx().put("team", teamItem{
		PK: teamPK(t.ID), SK: profileSK, Type: "team", ID: t.ID, Name: t.Name,
		GSI1PK: dirTeamsKey, GSI1SK: t.Name + "#" + t.ID,
	}, cond{})
	keep := map[string]bool{}
	for _, m := range t.Members {
		keep[m] = true
		tx.put("member", memberItem{
			PK: teamPK(t.ID), SK: memberSK(m), Type: "member", TeamID: t.ID, AgentID: m,
			GSI1PK: "MEMBER#" + m, GSI1SK: teamPK(t.ID),
		}, cond{})
	}
	for _, m := range old {
		if !keep[m] {
			tx.del("member", teamPK(t.ID), memberSK(m), cond{})
		}
	}
	return tx.commit(ctx)
}

// Agent reads one agent; ErrNotFound if unknown.
func (s *Store) Agent(ctx context.Context, id string) (directory.Agent, error) {
	var it agentItem
	if err := s.getItem(ctx, agentPK(id), profileSK, false, &it); err != nil {
		return directory.Agent{}, err
	}
	return it.domain(), nil
}

// domain is the team without its members, which are items of their own (TeamMembers).
func (it teamItem) domain() directory.Team { return directory.Team{ID: it.ID, Name: it.Name} }

func (it agentItem) domain() directory.Agent {
	return directory.Agent{ID: it.ID, Name: it.Name, Email: it.Email, Status: directory.Status(it.Status)}
}

// Team reads one team with its members; ErrNotFound if unknown.
func (s *Store) Team(ctx context.Context, id string) (directory.Team, error) {
	var it teamItem
	var members []string
	var membersErr error
	var wg sync.WaitGroup // the profile and the members at once: one round trip
	wg.Go(func() { members, membersErr = s.TeamMembers(ctx, id) })
	profileErr := s.getItem(ctx, teamPK(id), profileSK, false, &it)
	wg.Wait()
	if profileErr != nil {
		return directory.Team{}, profileErr
	}
	if membersErr != nil {
		return directory.Team{}, membersErr
	}
	team := it.domain()
	team.Members = members
	return team, nil
}

// Addressees are the agents an agent offer is addressed to now: its agent, or its team's
// members. A customer's invitation has none. For pushes only, which are a convenience (the
// inbox is the truth): a failed lookup is nobody.
func (s *Store) Addressees(ctx context.Context, inv invitation.Invitation) []string {
	switch {
	case inv.TargetAgentID != "":
		return []string{inv.TargetAgentID}
	case inv.TargetTeamID != "":
		members, _ := s.TeamMembers(ctx, inv.TargetTeamID)
		return members
	}
	return nil
}

// TeamMembers lists the agent ids of a team's members.
func (s *Store) TeamMembers(ctx context.Context, teamID string) ([]string, error) {
	var out []string
	err := s.queryPrefix(ctx, teamPK(teamID), "MEMBER#", func(m map[string]types.AttributeValue) error {
		var it memberItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return err
		}
		out = append(out, it.AgentID)
		return nil
	})
	return out, err
}

// TeamsOf lists the ids of the teams an agent belongs to.
func (s *Store) TeamsOf(ctx context.Context, agentID string) ([]string, error) {
	var out []string
	err := s.queryIndex(ctx, IndexGSI1, "MEMBER#"+agentID, func(m map[string]types.AttributeValue) error {
		var it memberItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return err
		}
		out = append(out, it.TeamID)
		return nil
	})
	return out, err
}

// Agents lists every agent, by name.
func (s *Store) Agents(ctx context.Context) ([]directory.Agent, error) {
	var out []directory.Agent
	err := s.queryIndex(ctx, IndexGSI1, dirAgentsKey, func(m map[string]types.AttributeValue) error {
		var it agentItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return err
		}
		out = append(out, it.domain())
		return nil
	})
	return out, err
}

// Teams lists every team with its members, by name.
func (s *Store) Teams(ctx context.Context) ([]directory.Team, error) {
	var teams []directory.Team
	err := s.queryIndex(ctx, IndexGSI1, dirTeamsKey, func(m map[string]types.AttributeValue) error {
		var it teamItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return err
		}
		teams = append(teams, it.domain())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return teams, s.withMembers(ctx, teams)
}

// membersAtOnce bounds the member queries in flight: one round trip for a usual directory,
// without opening a connection per team of a large one.
const membersAtOnce = 16

// withMembers reads every team's members, the teams' queries at once.
func (s *Store) withMembers(ctx context.Context, teams []directory.Team) error {
	errs := make([]error, len(teams))
	slots := make(chan struct{}, membersAtOnce)
	var wg sync.WaitGroup
	for i := range teams {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			teams[i].Members, errs[i] = s.TeamMembers(ctx, teams[i].ID)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// queryIndex runs fn on every item of an index partition, page by page.
func (s *Store) queryIndex(ctx context.Context, index, pk string, fn func(map[string]types.AttributeValue) error) error {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String(index + "pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("query %s %s: %w", index, pk, err)
		}
		for _, m := range page.Items {
			if err := fn(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// AgentName implements conversations.AgentNames: the directory name, or "" if unknown.
func (s *Store) AgentName(ctx context.Context, agentID string) (string, error) {
	a, err := s.Agent(ctx, agentID)
	if IsNotFound(err) {
		return "", nil
	}
	return a.Name, err
}
