// Package store is the DynamoDB adapter: one table, keys and indexes below, conditional
// writes and transactions wherever a rule of the product needs atomicity, and typed errors
// when a condition fails. Items carry `expiresAt` (epoch seconds) for DynamoDB TTL, but TTL
// deletes late (up to days), so every read and every condition here treats an item whose
// expiresAt has passed as absent. A conversation's items get theirs when it ends
// (retention.go): an open conversation keeps everything.
//
// Keys (pk, sk) of the single table:
//
//	CONV#<id>             META                  conversation; pendingForward: the forward it waits on (handover.go)
//	CONV#<id>             HEAD                  history head: seq, visitorSeq, status, pending
//	                                            invitation ids — every change of the conversation
//	                                            goes through it (history.go)
//	                      (ended, not yet       gsi3 DUE#<shard> / <ended ms>#<conversationId>
//	                       stamped)             until every item has its expiry (retention.go)
//	CONV#<id>             PART#<participantId>  participant (present while in the conversation)
//	                      (waiting, lobby.go)   gsi3 DUE#<shard> / <waitingUntil ms>#<conversationId>#<participantId>
//	CONV#<id>             EVT#<seq, 12 digits>  history event, numbered 1, 2, 3… (history.go)
//	SESSION#<sha256>      SESSION               visitor session (TTL)
//	AGENT#<id>            PROFILE               agent            gsi1 DIR#AGENT / <name>#<id>
//	AGENT#<id>            PRESENCE#<yyyy-mm-dd> the agent's connections live that UTC day: one
//	                                            attribute conn#<connectionId> = its expiresAt
//	                                            each; expires with its day (presence.go)
//	TEAM#<id>             PROFILE               team             gsi1 DIR#TEAM / <name>#<id>
//	TEAM#<id>             MEMBER#<agentId>      team membership  gsi1 MEMBER#<agentId> / TEAM#<id>
//	INV#<id>              INV                   invitation       gsi1 CONV#<cid>#INV / <created ms>#<id>
//	                                            (pending only)   gsi2 INBOX#AGENT#<id> | INBOX#TEAM#<id> / <created ms>#<id>
//	                                            (pending, due)   gsi3 DUE#<shard> / <validUntil ms>#<id>
//	                                            no expiresAt while its conversation is open (retention.go);
//	                                            its own expiry is validUntil
//	                                            (epoch seconds), checked in every condition;
//	                                            agent/team/forward offers add purpose, declinedBy (handover.go)
//	PIN#<hmac>            PIN                   live PIN (TTL): invitationId, conversationId;
//	                                            deleted only while invitationId is still its own
//	JOIN#<sha256>         JOIN                  live join token (TTL): invitationId, conversationId
//	IDEM#<scope>          IDEM                  idempotency record (TTL)
//	RATE#<scope>#<window> RATE                  rate-limit counter (TTL); scope <rule>#<subject>,
//	                                            window = its start in epoch seconds
//	CONN#<connectionId>   CONN                  WebSocket connection (TTL)
//	WHO#<principal>       CONN#<connectionId>   connections of one agent or participant (TTL)
//	                                            principal: agent#<agentId> | visitor#<participantId>
//	TICKET#<sha256>       TICKET                connect ticket (TTL)
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Index names, as declared in template.yaml.
const (
	IndexGSI1 = "gsi1"
	IndexGSI2 = "gsi2"
	IndexGSI3 = "gsi3"
)

// ErrNotFound is returned when an item is absent or expired.
var ErrNotFound = errors.New("store: not found")

// ErrConditionFailed is returned when a single conditional write's condition did not hold.
var ErrConditionFailed = errors.New("store: condition failed")

// TxCanceledError says which operations of a transaction made it fail. Names are the ones
// given to the operations when the transaction was built, so callers can tell "the PIN was
// already used" from "the conversation has ended".
type TxCanceledError struct {
	Failed  []string // names of the operations whose condition failed
	Reasons []string // DynamoDB's cancellation reason code per operation, in order
}

func (e *TxCanceledError) Error() string {
	return fmt.Sprintf("store: transaction cancelled (failed: %s; reasons: %s)",
		strings.Join(e.Failed, ","), strings.Join(e.Reasons, ","))
}

// FailedOn reports whether the named operation's condition failed.
func (e *TxCanceledError) FailedOn(name string) bool {
	for _, f := range e.Failed {
		if f == name {
			return true
		}
	}
	return false
}

// Conflicted reports whether the transaction lost a race with another transaction on the
// same items (TransactionConflict): the caller may retry.
func (e *TxCanceledError) Conflicted() bool {
	for _, r := range e.Reasons {
		if r == "TransactionConflict" {
			return true
		}
	}
	return false
}

// FailedOn reports whether err is a cancelled transaction whose named operation failed.
func FailedOn(err error, name string) bool {
	var tx *TxCanceledError
	return errors.As(err, &tx) && tx.FailedOn(name)
}

// IsCanceled reports whether err is a transaction DynamoDB refused (a condition or a
// conflict): it did not apply, and the answer was not lost.
func IsCanceled(err error) bool {
	var tx *TxCanceledError
	return errors.As(err, &tx)
}

// Store is the table, reached through one DynamoDB client built at init.
type Store struct {
	db    *dynamodb.Client
	table string
	now   func() time.Time
	// retention is how long an ended conversation is kept (retention.go).
	retention time.Duration
	// retainMargin is the time a retention step leaves before its caller's deadline.
	retainMargin time.Duration
}

// New returns a store over the named table, keeping ended conversations DefaultRetention.
func New(db *dynamodb.Client, table string) *Store {
	return &Store{db: db, table: table, now: time.Now, retention: DefaultRetention, retainMargin: defaultRetainMargin}
}

// WithClock returns a copy of the store that reads time from now (tests of expiry).
func (s *Store) WithClock(now func() time.Time) *Store {
	c := *s
	c.now = now
	return &c
}

// Table is the table's name.
func (s *Store) Table() string { return s.table }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

func (s *Store) nowUnix() int64 { return s.now().Unix() }

// key builds a primary key attribute map.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// stringAttr is a raw item's string attribute, "" when it has none of that name.
func stringAttr(item map[string]types.AttributeValue, name string) string {
	v, _ := item[name].(*types.AttributeValueMemberS)
	if v == nil {
		return ""
	}
	return v.Value
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// live reports whether an item with the given expiresAt is still valid; 0 means no expiry.
func live(expiresAt int64, now time.Time) bool {
	return expiresAt == 0 || expiresAt > now.Unix()
}

// liveItem reports whether an item as read is still valid: it has no expiresAt, or one still
// ahead. Reads that return items skip the others, whether or not TTL has deleted them yet.
func liveItem(item map[string]types.AttributeValue, now time.Time) bool {
	exp, ok := item["expiresAt"].(*types.AttributeValueMemberN)
	if !ok {
		return true
	}
	n, _ := strconv.ParseInt(exp.Value, 10, 64)
	return live(n, now)
}

// getItem reads one item into out, treating expired items as absent. It reports
// ErrNotFound when there is nothing live.
func (s *Store) getItem(ctx context.Context, pk, sk string, consistent bool, out any) error {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(pk, sk),
		ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return fmt.Errorf("get %s/%s: %w", pk, sk, err)
	}
	if res.Item == nil || !liveItem(res.Item, s.now()) {
		return ErrNotFound
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return fmt.Errorf("decode %s/%s: %w", pk, sk, err)
	}
	return nil
}

// mapCondition turns a failed single conditional write into ErrConditionFailed.
func mapCondition(err error) error {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ErrConditionFailed
	}
	return err
}

// marshal encodes an item; items are our own structs, so a failure is a programming error
// surfaced as an ordinary error.
func marshal(item any) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMap(item)
	if err != nil {
		return nil, fmt.Errorf("encode item: %w", err)
	}
	return m, nil
}
