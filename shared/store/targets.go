package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/directory"
)

// Targets is what an invitation or a forward needs of the agents and teams it names: their
// profiles, each team's members, for an invitation whether each named agent is in the
// conversation already, and for a chain whether its agents are connected.
type Targets struct {
	agents    map[string]directory.Agent
	teams     map[string]directory.Team
	in        map[string]conversation.Participant // by agent id
	connected map[string]bool
}

// TargetsQuery names what Store.Targets reads.
type TargetsQuery struct {
	Agents, Teams  []string
	ConversationID string // when set, each agent's participant item in it
	Presence       bool   // each agent's presence (as Connected)
}

// Agent is a named agent's profile; ErrNotFound if unknown.
func (t Targets) Agent(id string) (directory.Agent, error) { return found(t.agents, id) }

// Team is a named team with its members; ErrNotFound if unknown.
func (t Targets) Team(id string) (directory.Team, error) { return found(t.teams, id) }

// In is a named agent's participant item in the conversation; ErrNotFound if it has none.
func (t Targets) In(agentID string) (conversation.Participant, error) { return found(t.in, agentID) }

// Connected is which of the named agents have a live connection, as Store.Connected says it.
func (t Targets) Connected() map[string]bool { return t.connected }

func found[T any](m map[string]T, id string) (T, error) {
	v, ok := m[id]
	if !ok {
		return v, ErrNotFound
	}
	return v, nil
}

// Targets reads what q names with one consistent BatchGetItem, beside one Query of members
// per team: one round trip, and one connection per team more, however long the route (#13:
// a cold function pays for every connection it opens). A route names at most a few targets,
// far below a BatchGetItem's 100 keys.
func (s *Store) Targets(ctx context.Context, q TargetsQuery) (Targets, error) {
	members := make([][]string, len(q.Teams))
	errs := make([]error, len(q.Teams)+1)
	var wg sync.WaitGroup
	for i, id := range q.Teams {
		wg.Go(func() { members[i], errs[i] = s.TeamMembers(ctx, id) })
	}
	out := Targets{agents: map[string]directory.Agent{}, teams: map[string]directory.Team{},
		in: map[string]conversation.Participant{}, connected: map[string]bool{}}
	errs[len(q.Teams)] = s.readTargets(ctx, q, &out)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Targets{}, err
	}
	for i, id := range q.Teams {
		if t, ok := out.teams[id]; ok {
			t.Members = members[i]
			out.teams[id] = t
		}
	}
	return out, nil
}

// readTargets is Targets' BatchGetItem: every item filed by its keys.
func (s *Store) readTargets(ctx context.Context, q TargetsQuery, out *Targets) error {
	now := s.now()
	var keys []map[string]types.AttributeValue
	for _, id := range q.Agents {
		keys = append(keys, key(agentPK(id), profileSK))
		if q.ConversationID != "" {
			keys = append(keys, key(convPK(q.ConversationID), partSK(conversation.AgentParticipantID(id))))
		}
		if q.Presence {
			out.connected[id] = false
			keys = append(keys, key(agentPK(id), presenceSK(now.Unix())))
		}
	}
	for _, id := range q.Teams {
		keys = append(keys, key(teamPK(id), profileSK))
	}
	if len(keys) == 0 {
		return nil
	}
	items, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return fmt.Errorf("read targets: %w", err)
	}
	for _, item := range items {
		if err := out.add(item, q.ConversationID, now); err != nil {
			return err
		}
	}
	return nil
}

// add files one item of the batch by its keys.
func (t *Targets) add(item map[string]types.AttributeValue, conversationID string, now time.Time) error {
	pk, sk := stringAttr(item, "pk"), stringAttr(item, "sk")
	if pk == "" || sk == "" {
		return fmt.Errorf("decode targets: an item without its keys")
	}
	switch {
	case strings.HasPrefix(sk, presencePrefix):
		t.connected[strings.TrimPrefix(pk, agentPK(""))] = anyLive(item, now)
		return nil
	case strings.HasPrefix(pk, agentPK("")):
		var it agentItem
		return decodeInto(item, &it, func() { t.agents[it.ID] = it.domain() })
	case strings.HasPrefix(pk, teamPK("")):
		var it teamItem
		return decodeInto(item, &it, func() { t.teams[it.ID] = it.domain() })
	default: // a participant: the only other keys asked for
		var it participantItem
		return decodeInto(item, &it, func() { t.in[it.AgentID] = it.domain(conversationID) })
	}
}
