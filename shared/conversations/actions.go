package conversations

import (
	"context"
	"strconv"
	"strings"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// History page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// maxCursorDigits bounds ?after=: a seq fits in 15 digits for any conversation's lifetime.
const maxCursorDigits = 15

// HistoryPage is one page of history.
type HistoryPage struct {
	Events []conversation.Event `json:"events"`
	// Next is the cursor for the following page (?after=Next); absent on the last page. A
	// client that reconnects passes the seq of the last event it saw.
	Next int64 `json:"next,omitempty"`
}

// History returns events after the cursor that the caller may see: visitors never see
// agents-only events.
func (s *Service) History(ctx context.Context, p auth.Principal, conversationID, after, limitParam string) (HistoryPage, error) {
	acc, err := Authorize(ctx, s.Store, p, conversationID)
	if err != nil {
		return HistoryPage{}, err
	}
	cursor, err := parseCursor(after)
	if err != nil {
		return HistoryPage{}, err
	}
	limit, err := PageSize(limitParam)
	if err != nil {
		return HistoryPage{}, err
	}
	page, err := s.Store.Events(ctx, conversationID, cursor, limit, acc.Participant.Kind)
	if err != nil {
		return HistoryPage{}, apperror.Internal(err)
	}
	if page.Events == nil {
		page.Events = []conversation.Event{}
	}
	return HistoryPage{Events: page.Events, Next: page.Next}, nil
}

// parseCursor reads ?after=<seq>: absent or 0 is the beginning of the history.
func parseCursor(raw string) (int64, error) {
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 || len(raw) > maxCursorDigits {
		return 0, apperror.Invalid("invalid_cursor", "after must be the seq of an event of this conversation's history")
	}
	return n, nil
}

// PageSize reads ?limit= of a paginated list: DefaultPageSize when absent, 1 to MaxPageSize.
func PageSize(raw string) (int, error) {
	if raw == "" {
		return DefaultPageSize, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxPageSize {
		return 0, apperror.Invalid("invalid_limit", "limit must be a whole number from 1 to "+strconv.Itoa(MaxPageSize))
	}
	return n, nil
}

// MessageRequest is the body of POST /conversations/{id}/messages.
type MessageRequest struct {
	Text string `json:"text"`
}

// PostMessage adds a message from a current participant of an open conversation.
func (s *Service) PostMessage(ctx context.Context, p auth.Principal, conversationID string, req MessageRequest) (conversation.Event, error) {
	acc, err := Authorize(ctx, s.Store, p, conversationID)
	if err != nil {
		return conversation.Event{}, err
	}
	if err := acc.Conversation.RequireOpen(); err != nil {
		return conversation.Event{}, err
	}
	text := strings.TrimSpace(req.Text)
	if text == "" {
		return conversation.Event{}, apperror.Invalid("text_required", "text must not be empty")
	}
	if err := conversation.CheckText("text", text, conversation.MaxMessageLen); err != nil {
		return conversation.Event{}, err
	}
	now := s.now()
	e := conversation.Event{
		ConversationID: conversationID, Type: conversation.EventMessageCreated,
		At: now, Audience: conversation.AudienceEveryone, ActorID: acc.Participant.ID,
		Data: map[string]any{"text": text, "kind": string(acc.Participant.Kind), "displayName": acc.Participant.DisplayName},
	}
	e, err = s.Store.PostMessage(ctx, e, acc.Participant.ID)
	switch {
	case store.FailedOn(err, "open"):
		return conversation.Event{}, apperror.Conflict("conversation_ended", "the conversation has ended")
	case store.FailedOn(err, "participant"):
		return conversation.Event{}, ErrNotParticipant
	case err != nil:
		return conversation.Event{}, apperror.Internal(err)
	}
	return e.For(acc.Participant.Kind), nil
}

// Leave removes the caller from the conversation. A visitor's session ends with it (and the
// push function closes their sockets when it reads participant.left); an agent
// who was the assignee leaves the conversation unassigned, which everyone sees, and the
// Offerer (when set) hands it to its team unless it waits on a forward already.
func (s *Service) Leave(ctx context.Context, p auth.Principal, conversationID string) error {
	acc, err := Authorize(ctx, s.Store, p, conversationID)
	if err != nil {
		return err
	}
	now := s.now()
	part := acc.Participant
	wasAssignee := part.IsAgent() && acc.Conversation.Assignee == part.AgentID
	events := []conversation.Event{{
		ConversationID: conversationID, Type: conversation.EventParticipantLeft,
		At: now, Audience: conversation.AudienceEveryone, ActorID: part.ID, Data: participantData(part),
	}}
	if wasAssignee {
		events = append(events, conversation.Event{
			ConversationID: conversationID, Type: conversation.EventConversationUnassigned,
			At: now, Audience: conversation.AudienceEveryone, ActorID: part.ID,
			Data: map[string]any{"previousAssigneeId": part.AgentID},
		})
	}
	if wasAssignee && acc.Conversation.Open() && s.Offers != nil {
		// Nobody would hold the conversation: the offerer hands it to its team.
		return s.Offers.LeaveAsAssignee(ctx, part, events)
	}
	err = s.Store.Leave(ctx, part, wasAssignee, events)
	switch {
	case store.FailedOn(err, "participant"):
		return ErrNotParticipant
	case store.FailedOn(err, "open"):
		return errEnded
	case err != nil:
		return apperror.Internal(err)
	}
	return nil
}

var errEnded = apperror.Conflict("conversation_ended", "the conversation has ended")

// End closes the conversation for everyone in one write: the status flips, with
// conversation.ended as the last event (listing the invitations it revokes), so from then on
// nothing can join, redeem, accept or post, and a visitor's session is refused (401) — every
// change and every access check reads the conversation's status. What is left is bookkeeping,
// and it follows the commit through the table's stream, as the pushes do: the end-cleanup
// function revokes the pending invitations (deleting their PINs and links) and deletes the
// visitors' sessions (EndCleanup), and the push function tells everyone and closes the
// visitors' sockets. A function that dies right after the commit loses neither; the retention
// sweep finishes a cleanup the stream gave up on. Ending an ended conversation answers 409.
func (s *Service) End(ctx context.Context, p auth.Principal, conversationID string) error {
	acc, err := AuthorizeAgent(ctx, s.Store, p, conversationID)
	if err != nil {
		return err
	}
	if !acc.Conversation.Open() {
		return errEnded
	}
	now := s.now()
	conv := acc.Conversation
	conv.EndedAt = now
	ended := conversation.Event{
		ConversationID: conversationID, Type: conversation.EventConversationEnded,
		At: now, Audience: conversation.AudienceEveryone, ActorID: acc.Participant.ID,
	}
	err = s.Store.EndConversation(ctx, conv, &ended)
	if store.FailedOn(err, "open") {
		return errEnded
	}
	if err != nil {
		return apperror.Internal(err)
	}
	return nil
}
