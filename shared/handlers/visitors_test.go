package handlers_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// addVisitor puts a visitor participant with a live session into a conversation directly,
// as redeeming an invitation does, and returns the session token.
func addVisitor(t *testing.T, api *apitest.API, conversationID string) string {
	t.Helper()
	token := ids.Token()
	now := time.Now()
	p := conversation.Participant{ConversationID: conversationID, ID: ids.New("vis"), Kind: conversation.KindVisitor,
		JoinedAt: now, SessionHash: ids.Hash(token)}
	err := api.Store.AddParticipant(t.Context(), p, &store.Session{Hash: p.SessionHash, ConversationID: conversationID,
		ParticipantID: p.ID, ExpiresAt: now.Add(time.Hour)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// scanTable returns every item of the test's table as text, to look for secrets at rest.
func scanTable(t *testing.T, api *apitest.API) string {
	t.Helper()
	out, err := testenv.DynamoDB(t).Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(api.Store.Table())})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(out.Items)
}

// countItems counts the items of the test's table.
func countItems(t *testing.T, api *apitest.API) int32 {
	t.Helper()
	out, err := testenv.DynamoDB(t).Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(api.Store.Table()), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Count
}
