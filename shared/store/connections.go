package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ConnectionTTL is how long a connection item lives. API Gateway closes every WebSocket
// connection after 2 hours at the latest, so an item older than that is certainly stale even
// if $disconnect never reached us.
const ConnectionTTL = 2 * time.Hour

// lookupConcurrency bounds parallel reads when many principals are looked up at once (a
// team push, the directory's presence): enough to hide latency, few enough not to throttle.
const lookupConcurrency = 16

func connPK(id string) string          { return "CONN#" + id }
func whoPK(principal string) string    { return "WHO#" + principal }
func whoSK(connectionID string) string { return "CONN#" + connectionID }

const connSK = "CONN"

// AgentPrincipal is the principal key of an agent's connections.
func AgentPrincipal(agentID string) string { return "agent#" + agentID }

// AgentPrincipals are the principal keys of the agents' connections.
func AgentPrincipals(agentIDs []string) []string {
	out := make([]string, 0, len(agentIDs))
	for _, id := range agentIDs {
		out = append(out, AgentPrincipal(id))
	}
	return out
}

// VisitorPrincipal is the principal key of a visitor's connections: a visitor is one
// participant of one conversation, so the participant id names them.
func VisitorPrincipal(participantID string) string { return "visitor#" + participantID }

// Connection is one open WebSocket connection and who opened it.
type Connection struct {
	ID             string
	PrincipalKey   string // AgentPrincipal or VisitorPrincipal
	Kind           string // "agent" or "visitor"
	AgentID        string
	ConversationID string // visitors
	ParticipantID  string // visitors
	ConnectedAt    time.Time
	ExpiresAt      time.Time
}

type connectionItem struct {
	PK             string `dynamodbav:"pk"`
	SK             string `dynamodbav:"sk"`
	Type           string `dynamodbav:"type"`
	ConnectionID   string `dynamodbav:"connectionId"`
	Principal      string `dynamodbav:"principal"`
	Kind           string `dynamodbav:"kind"`
	AgentID        string `dynamodbav:"agentId,omitempty"`
	ConversationID string `dynamodbav:"conversationId,omitempty"`
	ParticipantID  string `dynamodbav:"participantId,omitempty"`
	ConnectedAt    int64  `dynamodbav:"connectedAt"`
	ExpiresAt      int64  `dynamodbav:"expiresAt"`
}

func toConnectionItem(c Connection, pk, sk, typ string) connectionItem {
	return connectionItem{
		PK: pk, SK: sk, Type: typ, ConnectionID: c.ID, Principal: c.PrincipalKey, Kind: c.Kind,
		AgentID: c.AgentID, ConversationID: c.ConversationID, ParticipantID: c.ParticipantID,
		ConnectedAt: c.ConnectedAt.UnixMilli(), ExpiresAt: c.ExpiresAt.Unix(),
	}
}

func (it connectionItem) domain() Connection {
	return Connection{
		ID: it.ConnectionID, PrincipalKey: it.Principal, Kind: it.Kind, AgentID: it.AgentID,
		ConversationID: it.ConversationID, ParticipantID: it.ParticipantID,
		ConnectedAt: time.UnixMilli(it.ConnectedAt).UTC(), ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC(),
	}
}

// PutConnection records an open connection: the connection item (found by id on
// $disconnect), the index item under its principal (found when pushing) and, for an agent,
// its entry in their presence (presence.go), in one transaction so none exists without the
// others. ConnectedAt defaults to now and ExpiresAt to ConnectedAt + ConnectionTTL, which is
// also the longest a connection may live: API Gateway's limit.
func (s *Store) PutConnection(ctx context.Context, c Connection) error {
	if c.ID == "" || c.PrincipalKey == "" {
		return errors.New("store: a connection needs an id and a principal")
	}
	if c.ConnectedAt.IsZero() {
		c.ConnectedAt = s.now()
	}
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = c.ConnectedAt.Add(ConnectionTTL)
	}
	if c.ExpiresAt.Sub(c.ConnectedAt) > ConnectionTTL {
		return errors.New("store: a connection lives at most ConnectionTTL")
	}
	conn := toConnectionItem(c, connPK(c.ID), connSK, "connection")
	return s.newTx().
		put("connection", conn, cond{}).
		put("who", toConnectionItem(c, whoPK(c.PrincipalKey), whoSK(c.ID), "connectionIndex"), cond{}).
		addPresence(conn).
		commit(ctx)
}

// ConnectionByID reads a connection; ErrNotFound if it is unknown or expired.
func (s *Store) ConnectionByID(ctx context.Context, id string) (Connection, error) {
	var it connectionItem
	if err := s.getItem(ctx, connPK(id), connSK, true, &it); err != nil {
		return Connection{}, err
	}
	return it.domain(), nil
}

// DeleteConnection removes both items of a connection and, for an agent, its presence entry;
// c is the connection as recorded (its times name the presence items it is in). Deleting what
// is already gone is not an error: $disconnect and a GoneException may race to clean up the
// same connection.
func (s *Store) DeleteConnection(ctx context.Context, c Connection) error {
	return s.newTx().
		del("connection", connPK(c.ID), connSK, cond{}).
		del("who", whoPK(c.PrincipalKey), whoSK(c.ID), cond{}).
		removePresence(toConnectionItem(c, "", "", "")).
		commit(ctx)
}

// RemoveConnection removes a connection known only by its id ($disconnect). It reads the
// connection item (even an expired one) to learn its principal, then deletes both items.
func (s *Store) RemoveConnection(ctx context.Context, id string) error {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(connPK(id), connSK), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("get connection: %w", err)
	}
	if res.Item == nil {
		return nil
	}
	var it connectionItem
	if err := attributevalue.UnmarshalMap(res.Item, &it); err != nil {
		return fmt.Errorf("decode connection: %w", err)
	}
	return s.DeleteConnection(ctx, it.domain())
}

// ConnectionsOf returns the live connections of the given principals, by one Query per
// principal (never a Scan), run in parallel with a bound. Expired items that TTL has not
// deleted yet are left out.
func (s *Store) ConnectionsOf(ctx context.Context, principalKeys []string) ([]Connection, error) {
	results := make([][]Connection, len(principalKeys))
	err := forEachBounded(ctx, len(principalKeys), lookupConcurrency, func(ctx context.Context, i int) error {
		conns, err := s.connectionsOf(ctx, principalKeys[i])
		results[i] = conns
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []Connection
	for _, r := range results {
		out = append(out, r...)
	}
	return out, nil
}

func (s *Store) connectionsOf(ctx context.Context, principal string) ([]Connection, error) {
	now := s.now()
	var out []Connection
	err := s.queryPrefix(ctx, whoPK(principal), "CONN#", func(m map[string]types.AttributeValue) error {
		var it connectionItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return fmt.Errorf("decode connection: %w", err)
		}
		if live(it.ExpiresAt, now) {
			out = append(out, it.domain())
		}
		return nil
	})
	return out, err
}

// forEachBounded runs fn for 0..n-1 with at most limit calls at a time and returns the first
// error; after an error the remaining calls see a cancelled context.
func forEachBounded(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		slots    = make(chan struct{}, limit)
	)
	for i := 0; i < n; i++ {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { firstErr = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return firstErr
}
