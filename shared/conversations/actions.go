package conversations

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/store"
)

// History page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

var cursorPattern = regexp.MustCompile(`^[0-9]{14}-[0-9a-f]{12}$`)

// HistoryPage is one page of history.
type HistoryPage struct {
	Events []conversation.Event `json:"events"`
	// Next is the cursor for the following page (?after=Next); empty on the last page. A
	// client that reconnects passes the id of the last event it saw.
	Next string `json:"next,omitempty"`
}

// History returns events after the cursor that the caller may see: visitors never see
// agents-only events.
func (s *Service) History(ctx context.Context, p auth.Principal, conversationID, after, limitParam string) (HistoryPage, error) {
	acc, err := Authorize(ctx, s.Store, p, conversationID)
	if err != nil {
		return HistoryPage{}, err
	}
	if after != "" && !cursorPattern.MatchString(after) {
		return HistoryPage{}, apperror.Invalid("invalid_cursor", "after must be an event id from this conversation's history")
	}
	limit, err := pageSize(limitParam)
	if err != nil {
		return HistoryPage{}, err
	}
	page, err := s.Store.Events(ctx, conversationID, after, limit, acc.Participant.Kind)
	if err != nil {
		return HistoryPage{}, apperror.Internal(err)
	}
	if page.Events == nil {
		page.Events = []conversation.Event{}
	}
	return HistoryPage{Events: page.Events, Next: page.Next}, nil
}

func pageSize(raw string) (int, error) {
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
		ID: ids.Sortable(now), ConversationID: conversationID, Type: conversation.EventMessageCreated,
		At: now, Audience: conversation.AudienceEveryone, ActorID: acc.Participant.ID,
		Data: map[string]any{"text": text, "kind": string(acc.Participant.Kind), "displayName": acc.Participant.DisplayName},
	}
	err = s.Store.PostMessage(ctx, e, acc.Participant.ID)
	switch {
	case store.FailedOn(err, "open"):
		return conversation.Event{}, apperror.Conflict("conversation_ended", "the conversation has ended")
	case store.FailedOn(err, "participant"):
		return conversation.Event{}, ErrNotParticipant
	case err != nil:
		return conversation.Event{}, apperror.Internal(err)
	}
	s.publish(ctx, e)
	return e, nil
}

// Leave removes the caller from the conversation. A visitor's session ends with it; an agent
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
		ID: ids.Sortable(now), ConversationID: conversationID, Type: conversation.EventParticipantLeft,
		At: now, Audience: conversation.AudienceEveryone, ActorID: part.ID, Data: participantData(part),
	}}
	if wasAssignee {
		events = append(events, conversation.Event{
			ID: ids.Sortable(now), ConversationID: conversationID, Type: conversation.EventConversationUnassigned,
			At: now, Audience: conversation.AudienceEveryone, ActorID: part.ID,
			Data: map[string]any{"previousAssigneeId": part.AgentID},
		})
	}
	if wasAssignee && acc.Conversation.Open() && s.Offers != nil {
		// Nobody would hold the conversation: the offerer hands it to its team.
		return s.Offers.LeaveAsAssignee(ctx, part, events)
	}
	err = s.Store.Leave(ctx, part, wasAssignee, events)
	if store.FailedOn(err, "participant") {
		return ErrNotParticipant
	}
	if err != nil {
		return apperror.Internal(err)
	}
	s.publish(ctx, events...)
	return nil
}

// End closes the conversation for everyone: visitors' sessions end, pending invitations are
// revoked (their PINs and links stop working), everyone is told.
func (s *Service) End(ctx context.Context, p auth.Principal, conversationID string) error {
	acc, err := AuthorizeAgent(ctx, s.Store, p, conversationID)
	if err != nil {
		return err
	}
	if err := acc.Conversation.RequireOpen(); err != nil {
		return err
	}
	parts, err := s.Store.Participants(ctx, conversationID)
	if err != nil {
		return apperror.Internal(err)
	}
	var visitors []conversation.Participant
	for _, part := range parts {
		if !part.IsAgent() {
			visitors = append(visitors, part)
		}
	}
	now := s.now()
	conv := acc.Conversation
	conv.EndedAt = now
	events := []conversation.Event{{
		ID: ids.Sortable(now), ConversationID: conversationID, Type: conversation.EventConversationEnded,
		At: now, Audience: conversation.AudienceEveryone, ActorID: acc.Participant.ID,
	}}
	events, err = s.endRevokingInvitations(ctx, conv, visitors, events, acc.Participant.ID)
	if store.FailedOn(err, "open") {
		return apperror.Conflict("conversation_ended", "the conversation has ended")
	}
	if err != nil {
		return apperror.Internal(err)
	}
	// Push before the sessions' connections are dropped, so visitors learn it ended.
	s.publish(ctx, events...)
	return nil
}
