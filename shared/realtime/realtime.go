// Package realtime owns how a caller gets onto the WebSocket API and who each open
// connection belongs to. Browsers cannot set headers on a WebSocket and URLs end up in logs,
// so an authenticated caller trades its credentials for a connect ticket (SPEC §3): 256-bit
// random, stored only as its SHA-256, valid for seconds, good for exactly one $connect. The
// $connect authorizer redeems it for the caller's principal, and the connection is recorded
// under that principal so pushes can find it.
package realtime

import (
	"context"
	"strings"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/store"
)

// TicketTTL is how long a connect ticket works: long enough to open a WebSocket right after
// asking, short enough that a ticket seen in a log is already useless.
const TicketTTL = 30 * time.Second

// Store is what tickets and connections need of storage.
type Store interface {
	PutTicket(ctx context.Context, t store.Ticket) error
	RedeemTicket(ctx context.Context, hash string) (store.Ticket, error)
	PutConnection(ctx context.Context, c store.Connection) error
	DeleteConnection(ctx context.Context, c store.Connection) error
	RemoveConnection(ctx context.Context, connectionID string) error
}

// Service issues and redeems connect tickets and keeps the connection registry.
type Service struct {
	Store Store
	// Conversations is read to check, on current data, that a visitor is still a participant.
	Conversations conversations.Store
	Now           func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Ticket is the answer to POST /connect-ticket. The ticket is shown once and never stored.
type Ticket struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// ErrTicketInvalid is the one answer to an unknown, used, expired or malformed ticket: the
// caller learns nothing about which it was.
var ErrTicketInvalid = apperror.Unauthenticated("ticket_invalid", "the connect ticket is not valid")

// CreateTicket issues a connect ticket to an agent, or to a visitor who is still a
// participant of their conversation (the session may have been revoked a moment ago).
func (s *Service) CreateTicket(ctx context.Context, p auth.Principal) (Ticket, error) {
	if err := p.RequireAuthenticated(); err != nil {
		return Ticket{}, err
	}
	if p.IsVisitor() {
		// An invitee waiting in the lobby may connect: their admission or refusal is pushed.
		if _, err := conversations.AuthorizePresent(ctx, s.Conversations, p, p.ConversationID); err != nil {
			return Ticket{}, err
		}
	}
	token := ids.Token()
	expires := s.now().Add(TicketTTL)
	err := s.Store.PutTicket(ctx, store.Ticket{
		Hash: ids.Hash(token), Kind: string(p.Kind), AgentID: p.AgentID,
		ConversationID: p.ConversationID, ParticipantID: p.ParticipantID, SessionHash: p.SessionHash,
		ExpiresAt: expires,
	})
	if err != nil {
		return Ticket{}, apperror.Internal(err)
	}
	return Ticket{Ticket: token, ExpiresAt: expires}, nil
}

// RedeemTicket consumes a ticket and returns the principal it was issued to. A ticket works
// once: of concurrent redemptions exactly one gets the principal.
func (s *Service) RedeemTicket(ctx context.Context, ticket string) (auth.Principal, error) {
	if !wellFormed(ticket) {
		return auth.Principal{}, ErrTicketInvalid
	}
	t, err := s.Store.RedeemTicket(ctx, ids.Hash(ticket))
	if store.IsNotFound(err) {
		return auth.Principal{}, ErrTicketInvalid
	}
	if err != nil {
		return auth.Principal{}, apperror.Internal(err)
	}
	p := auth.Principal{
		Kind: auth.PrincipalKind(t.Kind), AgentID: t.AgentID, ConversationID: t.ConversationID,
		ParticipantID: t.ParticipantID, SessionHash: t.SessionHash,
	}
	if p.RequireAuthenticated() != nil {
		return auth.Principal{}, ErrTicketInvalid
	}
	// A ticket stands for access when it is used, not when it was issued: a visitor who left,
	// or whose conversation ended, since asking for it opens nothing.
	if err := s.stillIn(ctx, p); err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}

// stillIn checks, on current data, that a visitor is still a participant of their open
// conversation. Agents' connections serve all their conversations and need no check.
func (s *Service) stillIn(ctx context.Context, p auth.Principal) error {
	if !p.IsVisitor() {
		return nil
	}
	_, err := conversations.AuthorizePresent(ctx, s.Conversations, p, p.ConversationID)
	if apperror.Is(err, "internal") {
		return err
	}
	if err != nil {
		return ErrTicketInvalid
	}
	return nil
}

// wellFormed says whether s can be a ticket (ids.Token: 32 bytes, base64url, 43 characters),
// so garbage is refused without a lookup.
func wellFormed(s string) bool {
	return len(s) == 43 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == ""
}

// PrincipalKey is the key a principal's connections are recorded under; "" for anyone who
// is neither an agent nor a visitor.
func PrincipalKey(p auth.Principal) string {
	switch {
	case p.IsAgent():
		return store.AgentPrincipal(p.AgentID)
	case p.IsVisitor():
		return store.VisitorPrincipal(p.ParticipantID)
	}
	return ""
}

// Connect records an open connection of an authenticated principal.
func (s *Service) Connect(ctx context.Context, connectionID string, p auth.Principal) error {
	if err := p.RequireAuthenticated(); err != nil {
		return err
	}
	if connectionID == "" {
		return apperror.Invalid("missing_connection_id", "the connection id is missing")
	}
	now := s.now()
	c := store.Connection{
		ID: connectionID, PrincipalKey: PrincipalKey(p), Kind: string(p.Kind), AgentID: p.AgentID,
		ConversationID: p.ConversationID, ParticipantID: p.ParticipantID,
		ConnectedAt: now, ExpiresAt: now.Add(store.ConnectionTTL),
	}
	if err := s.Store.PutConnection(ctx, c); err != nil {
		return apperror.Internal(err)
	}
	// A leave or end between the ticket's redemption and this write found no connection to
	// close: look again now that it is recorded, and refuse it if access is gone.
	if err := s.stillIn(ctx, p); err != nil {
		if derr := s.Store.DeleteConnection(ctx, c); derr != nil {
			return apperror.Internal(derr)
		}
		return err
	}
	return nil
}

// Disconnect forgets a closed connection.
func (s *Service) Disconnect(ctx context.Context, connectionID string) error {
	if connectionID == "" {
		return nil
	}
	if err := s.Store.RemoveConnection(ctx, connectionID); err != nil {
		return apperror.Internal(err)
	}
	return nil
}
