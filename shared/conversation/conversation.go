// Package conversation holds the product's core: conversations, the people in them, the
// history that tells their story, and the rules about who may do what. It knows nothing of
// AWS, HTTP or JSON wire formats beyond struct tags for the API.
package conversation

import (
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/ids"
)

// Status of a conversation.
type Status string

const (
	StatusOpen  Status = "open"
	StatusEnded Status = "ended"
)

// Conversation is one live customer conversation.
type Conversation struct {
	ID        string    `json:"conversationId"`
	Status    Status    `json:"status"`
	Topic     string    `json:"topic,omitempty"`
	PageURL   string    `json:"pageUrl,omitempty"`
	TeamID    string    `json:"teamId,omitempty"`
	Assignee  string    `json:"assigneeId,omitempty"` // agent id of the agent responsible, "" while unassigned
	CreatedAt time.Time `json:"createdAt"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
}

// Open reports whether people can still act in the conversation.
func (c Conversation) Open() bool { return c.Status == StatusOpen }

// RequireOpen refuses any change to an ended conversation.
func (c Conversation) RequireOpen() error {
	if !c.Open() {
		return apperror.Conflict("conversation_ended", "the conversation has ended")
	}
	return nil
}

// ParticipantKind says whether a participant is one of the company's agents or a customer.
type ParticipantKind string

const (
	KindAgent   ParticipantKind = "agent"
	KindVisitor ParticipantKind = "visitor"
)

// Participant is a person currently in a conversation. Someone who leaves is no longer a
// participant; the history keeps that they were.
type Participant struct {
	ConversationID string          `json:"-"`
	ID             string          `json:"participantId"`
	Kind           ParticipantKind `json:"kind"`
	AgentID        string          `json:"agentId,omitempty"`
	DisplayName    string          `json:"displayName,omitempty"`
	JoinedAt       time.Time       `json:"joinedAt"`
	// State is "active", or "waiting" in the lobby (lobby.go) until admitted by Admit's side
	// or refused; WaitingUntil is when the wait times out.
	State        ParticipantState `json:"state"`
	Admit        Admit            `json:"admit,omitempty"`
	WaitingUntil time.Time        `json:"waitingUntil,omitzero"`
	// SessionHash is a visitor's session (hashed), so leaving or ending can revoke it.
	SessionHash string `json:"-"`
}

// IsAgent reports whether the participant is an agent.
func (p Participant) IsAgent() bool { return p.Kind == KindAgent }

// AgentParticipantID is the participant id an agent has in every conversation: one agent is
// at most once in a conversation, so the id is derived and can be looked up directly.
func AgentParticipantID(agentID string) string { return "agent_" + agentID }

// Limits on what callers send; they keep items well under DynamoDB's 400 KB and pages small.
const (
	MaxTopicLen       = 200
	MaxDisplayNameLen = 80
	MaxPageURLLen     = 2048
	MaxMessageLen     = 4000
)

// StartRequest is what a caller may say when starting a conversation.
type StartRequest struct {
	Topic       string `json:"topic,omitempty"`
	PageURL     string `json:"pageUrl,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
	TeamID      string `json:"teamId,omitempty"`
}

// Normalize trims the request and checks every field against the rules.
func (r *StartRequest) Normalize() error {
	r.Topic = strings.TrimSpace(r.Topic)
	r.DisplayName = strings.TrimSpace(r.DisplayName)
	r.PageURL = strings.TrimSpace(r.PageURL)
	r.TeamID = strings.TrimSpace(r.TeamID)
	if err := CheckText("topic", r.Topic, MaxTopicLen); err != nil {
		return err
	}
	if err := CheckDisplayName(r.DisplayName); err != nil {
		return err
	}
	if r.PageURL != "" {
		if err := CheckPageURL(r.PageURL); err != nil {
			return err
		}
	}
	if r.TeamID != "" {
		return ids.Check("teamId", r.TeamID)
	}
	return nil
}

// CheckDisplayName accepts an optional human name of bounded length without control characters.
func CheckDisplayName(name string) error {
	return CheckText("displayName", name, MaxDisplayNameLen)
}

// CheckText refuses strings that are too long, not UTF-8, or carry control characters other
// than newlines and tabs.
func CheckText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return apperror.Invalid("invalid_"+snake(field), field+" must be UTF-8 text")
	}
	if utf8.RuneCountInString(s) > max {
		return apperror.Invalid(snake(field)+"_too_long", field+" is too long")
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return apperror.Invalid("invalid_"+snake(field), field+" must not contain control characters")
		}
	}
	return nil
}

// CheckPageURL accepts an absolute http(s) URL. Whether its origin may be used in links is a
// separate question answered by an allow-list (see OriginAllowed).
func CheckPageURL(raw string) error {
	if len(raw) > MaxPageURLLen {
		return apperror.Invalid("page_url_too_long", "pageUrl is too long")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return apperror.Invalid("invalid_page_url", "pageUrl must be an absolute http(s) URL")
	}
	return nil
}

// Origin returns scheme://host[:port] of a URL, lower-cased, or "" if it has none.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// OriginAllowed reports whether raw's origin is exactly one of the allowed origins.
func OriginAllowed(raw string, allowed []string) bool {
	o := Origin(raw)
	if o == "" {
		return false
	}
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimRight(a, "/"), o) {
			return true
		}
	}
	return false
}

func snake(field string) string {
	var b strings.Builder
	for _, r := range field {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
