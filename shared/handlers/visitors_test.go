package handlers_test

import (
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/store"
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
