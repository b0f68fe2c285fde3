package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/requestscope"
)

// Standing is what an access check needs, read in one round trip: the conversation, the
// caller's participant item and, for a visitor, their session. Each Found flag says whether
// that item exists (and has not expired).
type Standing struct {
	Conversation      conversation.Conversation
	PendingForward    string // the conversation's pending forward, "" for none
	ConversationFound bool
	Participant       conversation.Participant
	ParticipantFound  bool
	SessionFound      bool
	Head              Head
}

// Standing reads a caller's standing in a conversation with one consistent BatchGetItem
// instead of three or four GetItems one after another (#13: an access check is one round
// trip). sessionHash is "" for an agent. The conversation's head comes with it: the request's
// write takes it (requestscope) instead of reading it again, guarded by its revision.
func (s *Store) Standing(ctx context.Context, conversationID, participantID, sessionHash string) (Standing, error) {
	keys := []map[string]types.AttributeValue{
		key(convPK(conversationID), metaSK),
		key(convPK(conversationID), partSK(participantID)),
		key(convPK(conversationID), headSK),
	}
	if sessionHash != "" {
		keys = append(keys, key(sessionPK(sessionHash), sessionSK))
	}
	items, err := s.batchGet(ctx, keys, true)
	if err != nil {
		return Standing{}, err
	}
	var out Standing
	for _, it := range items {
		if err := out.add(ctx, it); err != nil {
			return Standing{}, err
		}
	}
	return out, nil
}

// add files one item of the batch by its sort key.
func (st *Standing) add(ctx context.Context, item map[string]types.AttributeValue) error {
	sk := stringAttr(item, "sk")
	switch {
	case sk == metaSK:
		var it conversationItem
		st.ConversationFound = true
		return decodeInto(item, &it, func() { st.Conversation, st.PendingForward = it.domain(), it.PendingForward })
	case sk == headSK:
		var h headItem
		return decodeInto(item, &h, func() {
			st.Head = h.public()
			rememberHead(ctx, h)
		})
	case sk == sessionSK:
		st.SessionFound = true
		return nil
	default: // the participant: the only other key asked for
		var it participantItem
		st.ParticipantFound = true
		return decodeInto(item, &it, func() { st.Participant = it.domain(conversationIDOf(it.PK)) })
	}
}

// decodeInto decodes a raw item into out, then does what the caller keeps of it.
func decodeInto(item map[string]types.AttributeValue, out any, then func()) error {
	if err := attributevalue.UnmarshalMap(item, out); err != nil {
		return fmt.Errorf("decode %T: %w", out, err)
	}
	then()
	return nil
}

// conversationIDOf is the id in a conversation's partition key (convPK).
func conversationIDOf(pk string) string { return pk[len(convPK("")):] }

// headScopeKey names a conversation's head in the request's scope.
func headScopeKey(conversationID string) string { return "head#" + conversationID }

func rememberHead(ctx context.Context, h headItem) {
	requestscope.Remember(ctx, headScopeKey(conversationIDOf(h.PK)), h)
}

// takeHead is the head this request read moments ago, if it did; a write that takes it is
// conditioned on its revision like any other, so a stale one only costs a fresh read.
func takeHead(ctx context.Context, conversationID string) (headItem, bool) {
	v, ok := requestscope.Take(ctx, headScopeKey(conversationID))
	if !ok {
		return headItem{}, false
	}
	h, ok := v.(headItem)
	return h, ok
}
