package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

func convPK(id string) string            { return "CONV#" + id }
func partSK(participantID string) string { return "PART#" + participantID }
func eventSK(seq int64) string           { return fmt.Sprintf("EVT#%012d", seq) }
func sessionPK(hash string) string       { return "SESSION#" + hash }

const (
	metaSK    = "META"
	sessionSK = "SESSION"
)

type conversationItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Type      string `dynamodbav:"type"`
	ID        string `dynamodbav:"id"`
	Status    string `dynamodbav:"status"`
	Topic     string `dynamodbav:"topic,omitempty"`
	PageURL   string `dynamodbav:"pageUrl,omitempty"`
	TeamID    string `dynamodbav:"teamId,omitempty"`
	Assignee  string `dynamodbav:"assignee,omitempty"`
	CreatedAt int64  `dynamodbav:"createdAt"`
	EndedAt   int64  `dynamodbav:"endedAt,omitempty"`
	// PendingForward is the forward the conversation waits on (see handover.go).
	PendingForward string `dynamodbav:"pendingForward,omitempty"`
}

func toConversationItem(c conversation.Conversation) conversationItem {
	it := conversationItem{
		PK: convPK(c.ID), SK: metaSK, Type: "conversation", ID: c.ID, Status: string(c.Status),
		Topic: c.Topic, PageURL: c.PageURL, TeamID: c.TeamID, Assignee: c.Assignee,
		CreatedAt: c.CreatedAt.UnixMilli(),
	}
	if !c.EndedAt.IsZero() {
		it.EndedAt = c.EndedAt.UnixMilli()
	}
	return it
}

func (it conversationItem) domain() conversation.Conversation {
	c := conversation.Conversation{
		ID: it.ID, Status: conversation.Status(it.Status), Topic: it.Topic, PageURL: it.PageURL,
		TeamID: it.TeamID, Assignee: it.Assignee, CreatedAt: time.UnixMilli(it.CreatedAt).UTC(),
	}
	if it.EndedAt != 0 {
		c.EndedAt = time.UnixMilli(it.EndedAt).UTC()
	}
	return c
}

type participantItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Type        string `dynamodbav:"type"`
	ID          string `dynamodbav:"id"`
	Kind        string `dynamodbav:"kind"`
	AgentID     string `dynamodbav:"agentId,omitempty"`
	DisplayName string `dynamodbav:"displayName,omitempty"`
	JoinedAt    int64  `dynamodbav:"joinedAt"`
	SessionHash string `dynamodbav:"sessionHash,omitempty"`
	// SinceSeq is written at commit (history.go, stampJoins).
	SinceSeq int64 `dynamodbav:"sinceSeq,omitempty"`
	// A participant waiting in the lobby (lobby.go): state "waiting" (absent: active), who
	// admits them, and until when (epoch seconds), with its place in the lobby's due index.
	State        string `dynamodbav:"state,omitempty"`
	Admit        string `dynamodbav:"admit,omitempty"`
	WaitingUntil int64  `dynamodbav:"waitingUntil,omitempty"`
	GSI3PK       string `dynamodbav:"gsi3pk,omitempty"`
	GSI3SK       string `dynamodbav:"gsi3sk,omitempty"`
}

const itemParticipant = "participant"

func toParticipantItem(p conversation.Participant) participantItem {
	it := participantItem{
		PK: convPK(p.ConversationID), SK: partSK(p.ID), Type: itemParticipant, ID: p.ID,
		Kind: string(p.Kind), AgentID: p.AgentID, DisplayName: p.DisplayName,
		JoinedAt: p.JoinedAt.UnixMilli(), SessionHash: p.SessionHash,
	}
	if !p.Active() {
		it.State, it.Admit, it.WaitingUntil = string(p.State), string(p.Admit), p.WaitingUntil.Unix()
		it.GSI3PK, it.GSI3SK = dueShard(p.ID), lobbyDueSK(p)
	}
	return it
}

func (it participantItem) domain(conversationID string) conversation.Participant {
	p := conversation.Participant{
		ConversationID: conversationID, ID: it.ID, Kind: conversation.ParticipantKind(it.Kind),
		AgentID: it.AgentID, DisplayName: it.DisplayName, JoinedAt: time.UnixMilli(it.JoinedAt).UTC(),
		SessionHash: it.SessionHash, SinceSeq: it.SinceSeq, State: conversation.StateActive,
	}
	if it.State == string(conversation.StateWaiting) {
		p.State, p.Admit, p.WaitingUntil = conversation.StateWaiting, conversation.Admit(it.Admit), time.Unix(it.WaitingUntil, 0).UTC()
	}
	return p
}

type eventItem struct {
	PK             string         `dynamodbav:"pk"`
	SK             string         `dynamodbav:"sk"`
	Type           string         `dynamodbav:"type"`
	Seq            int64          `dynamodbav:"seq"`
	PrevVisitorSeq int64          `dynamodbav:"prevVisitorSeq"`
	Event          string         `dynamodbav:"event"`
	At             int64          `dynamodbav:"at"`
	Audience       string         `dynamodbav:"audience"`
	ActorID        string         `dynamodbav:"actorId,omitempty"`
	Data           map[string]any `dynamodbav:"data,omitempty"`
	// PushTo: who the event is addressed to besides the participants (outbox.go).
	PushTo []string `dynamodbav:"pushTo,stringset,omitempty"`
	// ExpiresAt: an outbox item's short life (outbox.go). A history event gets its
	// conversation's expiry only after the end, written by the retention sweep (retention.go).
	ExpiresAt int64 `dynamodbav:"expiresAt,omitempty"`
}

func toEventItem(e conversation.Event) eventItem {
	return eventItem{
		PK: convPK(e.ConversationID), SK: eventSK(e.Seq), Type: itemEvent, Seq: e.Seq, PrevVisitorSeq: e.PrevVisitorSeq, Event: e.Type,
		At: e.At.UnixMilli(), Audience: string(e.Audience), ActorID: e.ActorID, Data: e.Data, PushTo: e.PushTo,
	}
}

func (it eventItem) domain(conversationID string) conversation.Event {
	return conversation.Event{
		Seq: it.Seq, PrevVisitorSeq: it.PrevVisitorSeq, ConversationID: conversationID, Type: it.Event, At: time.UnixMilli(it.At).UTC(),
		Audience: conversation.Audience(it.Audience), ActorID: it.ActorID, Data: it.Data, PushTo: it.PushTo,
	}
}

// Session is a visitor session as stored: only the token's hash, never the token.
type Session struct {
	Hash           string
	ConversationID string
	ParticipantID  string
	ExpiresAt      time.Time
}

type sessionItem struct {
	PK             string `dynamodbav:"pk"`
	SK             string `dynamodbav:"sk"`
	Type           string `dynamodbav:"type"`
	ConversationID string `dynamodbav:"conversationId"`
	ParticipantID  string `dynamodbav:"participantId"`
	ExpiresAt      int64  `dynamodbav:"expiresAt"`
}

func toSessionItem(s Session) sessionItem {
	return sessionItem{
		PK: sessionPK(s.Hash), SK: sessionSK, Type: "session", ConversationID: s.ConversationID,
		ParticipantID: s.ParticipantID, ExpiresAt: s.ExpiresAt.Unix(),
	}
}

// NewConversation is everything written when a conversation starts: all or nothing.
type NewConversation struct {
	Conversation conversation.Conversation
	Participant  conversation.Participant
	Session      *Session // visitors only
	Events       []conversation.Event
	// Offer, for a conversation nobody holds yet, offers it to a team (see handover.go).
	Offer *invitation.Offer
}

// CreateConversation writes a new conversation, its history head, its first participant, the
// visitor's session and the opening events (numbered from 1, in place) in one transaction.
func (s *Store) CreateConversation(ctx context.Context, n NewConversation) error {
	conv := toConversationItem(n.Conversation)
	var pending []string
	if n.Offer != nil {
		conv.PendingForward = n.Offer.ID
		pending = []string{n.Offer.ID}
	}
	head := newHead(n.Conversation, n.Events, pending)
	head.Offers = pending
	t := s.newTx().
		put("conversation", conv, notExists).
		put("head", head, notExists).
		put("participant", toParticipantItem(n.Participant), notExists)
	if n.Offer != nil {
		t.put("offer", offerWithContext(*n.Offer, head.Context.domain(), [][]conversation.Event{n.Events}), notExists)
	}
	if n.Session != nil {
		t.put("session", toSessionItem(*n.Session), notExists)
	}
	for _, e := range n.Events {
		t.put("event", toEventItem(e), notExists)
	}
	return t.commit(ctx)
}

// Conversation reads a conversation; ErrNotFound if there is none.
func (s *Store) Conversation(ctx context.Context, id string) (conversation.Conversation, error) {
	var it conversationItem
	if err := s.getItem(ctx, convPK(id), metaSK, true, &it); err != nil {
		return conversation.Conversation{}, err
	}
	return it.domain(), nil
}

// Participant reads one current participant; ErrNotFound if they are not (or no longer) in.
func (s *Store) Participant(ctx context.Context, conversationID, participantID string) (conversation.Participant, error) {
	var it participantItem
	if err := s.getItem(ctx, convPK(conversationID), partSK(participantID), true, &it); err != nil {
		return conversation.Participant{}, err
	}
	return it.domain(conversationID), nil
}

// Participants lists the current participants of a conversation.
func (s *Store) Participants(ctx context.Context, conversationID string) ([]conversation.Participant, error) {
	var out []conversation.Participant
	err := s.queryPrefix(ctx, convPK(conversationID), "PART#", func(m map[string]types.AttributeValue) error {
		var it participantItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return err
		}
		out = append(out, it.domain(conversationID))
		return nil
	})
	return out, err
}

// Session reads a live visitor session by the token's hash; ErrNotFound if it is unknown,
// revoked or expired.
func (s *Store) Session(ctx context.Context, hash string) (Session, error) {
	var it sessionItem
	if err := s.getItem(ctx, sessionPK(hash), sessionSK, true, &it); err != nil {
		return Session{}, err
	}
	return Session{Hash: hash, ConversationID: it.ConversationID, ParticipantID: it.ParticipantID,
		ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC()}, nil
}

// EventPage is one page of history.
type EventPage struct {
	Events []conversation.Event
	Next   int64 // seq to pass as after= for the next page, 0 when this is the last page
}

// Events returns history events after the given seq, oldest first, keeping only those visible
// to the given kind of participant, each with the prevSeq of that kind's stream. It reads until
// it has limit visible events or the history ends, so filtered-out events never produce short
// or empty middle pages.
func (s *Store) Events(ctx context.Context, conversationID string, after int64, limit int, viewer conversation.ParticipantKind) (EventPage, error) {
	var page EventPage
	var lastKey map[string]types.AttributeValue
	for {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:              aws.String(s.table),
			KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :from AND :to"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": str(convPK(conversationID)), ":from": str(eventSK(after + 1)), ":to": str("EVT#\xff"),
			},
			ConsistentRead:    aws.Bool(true),
			Limit:             aws.Int32(int32(limit + 1)),
			ExclusiveStartKey: lastKey,
		})
		if err != nil {
			return EventPage{}, fmt.Errorf("query events: %w", err)
		}
		for _, m := range res.Items {
			if !liveItem(m, s.now()) {
				continue // past retention (retention.go): gone, whether or not TTL has deleted it
			}
			var it eventItem
			if err := attributevalue.UnmarshalMap(m, &it); err != nil {
				return EventPage{}, fmt.Errorf("decode event: %w", err)
			}
			e := it.domain(conversationID)
			if !e.VisibleTo(viewer) {
				continue
			}
			if len(page.Events) == limit {
				page.Next = page.Events[len(page.Events)-1].Seq
				return page, nil
			}
			page.Events = append(page.Events, e.For(viewer))
		}
		if res.LastEvaluatedKey == nil {
			return page, nil
		}
		lastKey = res.LastEvaluatedKey
	}
}

// PostMessage writes a message event only while the author is still a participant of an open
// conversation: a participant who was removed a moment ago cannot slip a message in. It
// returns the event with its seq.
func (s *Store) PostMessage(ctx context.Context, e conversation.Event, participantID string) (conversation.Event, error) {
	events := []conversation.Event{e}
	err := s.newTx().
		check("participant", convPK(e.ConversationID), partSK(participantID), cond{expr: "attribute_exists(pk)"}).
		events(events).
		commit(ctx)
	return events[0], err
}

// condOpen is the condition that a conversation exists and has not ended.
func condOpen() cond {
	return cond{
		expr:   "attribute_exists(pk) AND #status = :open",
		names:  map[string]string{"#status": "status"},
		values: map[string]types.AttributeValue{":open": str(string(conversation.StatusOpen))},
	}
}

// queryPrefix runs fn on every live item of pk whose sk begins with prefix, page by page
// (an item past its expiresAt is skipped, whether or not TTL has deleted it).
func (s *Store) queryPrefix(ctx context.Context, pk, prefix string, fn func(map[string]types.AttributeValue) error) error {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(pk), ":prefix": str(prefix),
		},
		ConsistentRead: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("query %s %s*: %w", pk, prefix, err)
		}
		for _, m := range page.Items {
			if !liveItem(m, s.now()) {
				continue
			}
			if err := fn(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// IsNotFound reports whether err means "absent or expired".
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// VisitorSession implements auth.VisitorSessions.
func (s *Store) VisitorSession(ctx context.Context, hash string) (conversationID, participantID string, found bool, err error) {
	sess, err := s.Session(ctx, hash)
	if IsNotFound(err) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	return sess.ConversationID, sess.ParticipantID, true, nil
}
