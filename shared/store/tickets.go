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
)

func ticketPK(hash string) string { return "TICKET#" + hash }

const ticketSK = "TICKET"

// Ticket is a connect ticket as stored: the hash of the ticket, never the ticket, and the
// principal it stands for.
type Ticket struct {
	Hash           string
	Kind           string // "agent" or "visitor"
	AgentID        string
	ConversationID string
	ParticipantID  string
	SessionHash    string
	ExpiresAt      time.Time
}

type ticketItem struct {
	PK             string `dynamodbav:"pk"`
	SK             string `dynamodbav:"sk"`
	Type           string `dynamodbav:"type"`
	Kind           string `dynamodbav:"kind"`
	AgentID        string `dynamodbav:"agentId,omitempty"`
	ConversationID string `dynamodbav:"conversationId,omitempty"`
	ParticipantID  string `dynamodbav:"participantId,omitempty"`
	SessionHash    string `dynamodbav:"sessionHash,omitempty"`
	ExpiresAt      int64  `dynamodbav:"expiresAt"`
}

// PutTicket stores a new connect ticket. The hash is of a fresh 256-bit token, so a
// collision means a bug, and the write refuses to overwrite.
func (s *Store) PutTicket(ctx context.Context, t Ticket) error {
	item, err := marshal(ticketItem{
		PK: ticketPK(t.Hash), SK: ticketSK, Type: "ticket", Kind: t.Kind, AgentID: t.AgentID,
		ConversationID: t.ConversationID, ParticipantID: t.ParticipantID, SessionHash: t.SessionHash,
		ExpiresAt: t.ExpiresAt.Unix(),
	})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item, ConditionExpression: aws.String(notExists.expr),
	})
	if err != nil {
		return fmt.Errorf("put ticket: %w", mapCondition(err))
	}
	return nil
}

// RedeemTicket consumes a ticket: one conditional delete that succeeds only while the
// ticket exists and has not expired, and returns what it held. Of any number of concurrent
// redemptions exactly one wins; the others, and any later one, get ErrNotFound — as do
// unknown and expired tickets, which TTL may not have deleted yet.
func (s *Store) RedeemTicket(ctx context.Context, hash string) (Ticket, error) {
	res, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(ticketPK(hash), ticketSK),
		ConditionExpression: aws.String("attribute_exists(pk) AND expiresAt > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": num(s.nowUnix()),
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	if errors.Is(mapCondition(err), ErrConditionFailed) {
		return Ticket{}, ErrNotFound
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("redeem ticket: %w", err)
	}
	var it ticketItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return Ticket{}, fmt.Errorf("decode ticket: %w", err)
	}
	return Ticket{
		Hash: hash, Kind: it.Kind, AgentID: it.AgentID, ConversationID: it.ConversationID,
		ParticipantID: it.ParticipantID, SessionHash: it.SessionHash,
		ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC(),
	}, nil
}
