// Package invitations holds the invitation actions: invite a customer by PIN or by email link,
// redeem a PIN or join token, list, revoke and resend invitations. One file per action; each
// loads, decides with the rules of shared/invitation, saves in one transaction, and pushes.
//
// Every conversation route uses conversations.AuthorizeAgent: only an agent who is a
// participant right now may invite, list, revoke or resend. Redemption is anonymous and rate
// limited; nothing here ever logs or stores a PIN, a join token or a session token in the clear.
package invitations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/mail"
	"github.com/invite-forward/invite-forward/shared/ratelimit"
	"github.com/invite-forward/invite-forward/shared/requestscope"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Store is what the invitation actions need of storage; conversations.Store is there for the
// access check.
type Store interface {
	conversations.Store
	CreateInvitation(ctx context.Context, inv invitation.Invitation, events []conversation.Event, take ...store.RateSlot) error
	Invitation(ctx context.Context, id string) (invitation.Invitation, error)
	InvitationToRedeem(ctx context.Context, secret store.LiveSecret) (invitation.Invitation, error)
	ConversationInvitations(ctx context.Context, conversationID string) ([]invitation.Invitation, error)
	LiveSecret(ctx context.Context, kind invitation.Kind, hash string) (store.LiveSecret, error)
	RedeemInvitation(ctx context.Context, r store.Redemption) error
	RevokeInvitation(ctx context.Context, inv invitation.Invitation, by string, at time.Time, events, notices []conversation.Event) error
	FailInvitation(ctx context.Context, inv, failed invitation.Invitation, reason string, at time.Time, events []conversation.Event) error
	RecordSent(ctx context.Context, waiting, sent invitation.Invitation) error
	RenewInvitation(ctx context.Context, old, renewed invitation.Invitation, events []conversation.Event, take ...store.RateSlot) error
	AgentName(ctx context.Context, agentID string) (string, error)
	Addressees(ctx context.Context, inv invitation.Invitation) []string
}

// Mailer sends one rendered email (mail.Sender in production).
type Mailer interface {
	Send(ctx context.Context, to string, msg mail.Message) (messageID string, err error)
}

// Limiter counts rate-limited events (ratelimit.Limiter in production).
type Limiter interface {
	Take(ctx context.Context, r ratelimit.Rule, subject string) (ratelimit.Slot, error)
	Refund(ctx context.Context, s ratelimit.Slot) error
	TakeShare(ctx context.Context, r ratelimit.Rule) (ratelimit.Slot, error)
	Window(r ratelimit.Rule, subject string) ratelimit.Window
}

// Config is the deployment's invitation settings.
type Config struct {
	PINLength    int
	PINTTL       time.Duration
	JoinTokenTTL time.Duration
	// SessionTTL is the life of the visitor session a redemption hands out.
	SessionTTL time.Duration
	// LobbyTimeout is how long an invitee waits to be let in before they are refused.
	LobbyTimeout time.Duration
	// AllowedOrigins may receive invitation links; DefaultJoinPage (on one of them) is used
	// when the conversation's page is elsewhere.
	AllowedOrigins  []string
	DefaultJoinPage string
	CompanyName     string
	Limits          ratelimit.Limits
}

// DefaultConfig has the defaults the README's guessing bound is computed for.
func DefaultConfig() Config {
	return Config{
		PINLength:    invitation.DefaultPINLength,
		PINTTL:       invitation.DefaultPINTTL,
		JoinTokenTTL: invitation.DefaultJoinTokenTTL,
		SessionTTL:   12 * time.Hour,
		LobbyTimeout: conversation.DefaultLobbyTimeout,
		Limits:       ratelimit.DefaultLimits(),
	}
}

// Validate refuses settings the rules do not allow; the function does not start with them.
func (c Config) Validate() error {
	if err := invitation.CheckPINSettings(c.PINLength, c.PINTTL); err != nil {
		return err
	}
	if err := invitation.CheckJoinTokenTTL(c.JoinTokenTTL); err != nil {
		return err
	}
	if c.SessionTTL <= 0 {
		return errors.New("invitations: the visitor session lifetime must be positive")
	}
	if c.LobbyTimeout < time.Minute {
		return errors.New("invitations: the lobby timeout must be at least a minute")
	}
	return c.Limits.Validate()
}

// ValidateMail checks what sending emails needs: a default join page on the allow-list, so
// that every link has somewhere allowed to go.
func (c Config) ValidateMail() error {
	if _, err := mail.JoinLink("", c.AllowedOrigins, c.DefaultJoinPage, "check"); err != nil {
		return fmt.Errorf("invitations: default join page %q must be on the allowed origins %v", c.DefaultJoinPage, c.AllowedOrigins)
	}
	return nil
}

// Service runs the invitation actions.
type Service struct {
	Store   Store
	Limiter Limiter
	Config  Config
	// PINKey hashes PINs; only actions that create, renew or redeem PINs need it.
	PINKey *invitation.PINKey
	// Mailer sends invitation emails; only actions that send need it.
	Mailer Mailer
	Now    func() time.Time
	// Log notes what went wrong after an answer was decided (an email sent but not recorded).
	Log *slog.Logger
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// addressees are whom a change of the invitation is pushed to besides the participants: its
// target agent, or its target team's members now, whose inboxes change.
func (s *Service) addressees(ctx context.Context, inv invitation.Invitation) []string {
	return store.AgentPrincipals(s.Store.Addressees(ctx, inv))
}

// errNotConfigured is a wiring mistake: the handler's function was built without a part.
func errNotConfigured(part string) error {
	return apperror.Internal(fmt.Errorf("invitations: %s is not configured for this function", part))
}

// authorizeOpen establishes that the caller is an agent participant of an open conversation.
func (s *Service) authorizeOpen(ctx context.Context, p auth.Principal, conversationID string) (conversations.Access, error) {
	return conversations.AuthorizeAgentInOpen(ctx, s.Store, p, conversationID)
}

// ErrInvitationNotFound answers an invitation id that is unknown or of another conversation.
var ErrInvitationNotFound = apperror.NotFound("invitation_not_found", "there is no such invitation in this conversation")

// errChanged answers a write that lost a race with another change of the same invitation.
var errChanged = apperror.Conflict("invitation_changed", "the invitation changed meanwhile; look at it again")

// load reads an invitation of the conversation.
// PrefetchInvitation reads the invitation a request is about beside the caller's standing
// and the request's idempotency key (httpapi.Prefetch); load takes it once, after the access
// check.
func (s *Service) PrefetchInvitation(ctx context.Context, invitationID string) {
	if invitationID != "" {
		requestscope.ReadAhead(ctx, invitationKey(invitationID), s.readInvitation(invitationID))
	}
}

func invitationKey(id string) string { return "invitation#" + id }

func (s *Service) readInvitation(id string) func(context.Context) (invitation.Invitation, error) {
	return func(ctx context.Context) (invitation.Invitation, error) { return s.Store.Invitation(ctx, id) }
}

func (s *Service) load(ctx context.Context, conversationID, invitationID string) (invitation.Invitation, error) {
	if invitationID == "" {
		return invitation.Invitation{}, ErrInvitationNotFound
	}
	inv, err := requestscope.ReadOnce(ctx, invitationKey(invitationID), s.readInvitation(invitationID))
	if store.IsNotFound(err) || (err == nil && inv.ConversationID != conversationID) {
		return invitation.Invitation{}, ErrInvitationNotFound
	}
	if err != nil {
		return invitation.Invitation{}, apperror.Internal(err)
	}
	return inv, nil
}

// checkRoom refuses another invitation early, before an email is counted against the
// sender's rate, when the conversation's count is at the cap (on the head the access check
// read). The write itself is what holds the cap under races (see store.CreateInvitation);
// this is only the cheap early answer.
func checkRoom(head store.Head) error {
	if len(head.Pending) >= invitation.MaxPendingPerConversation {
		return invitation.ErrTooManyPending
	}
	return nil
}

// writeError maps a failed invitation write to what the caller is told.
func writeError(err error) error {
	switch {
	case err == nil:
		return nil
	case store.FailedOn(err, "open"):
		return apperror.Conflict("conversation_ended", "the conversation has ended")
	case store.FailedOn(err, "invitation"):
		return errChanged
	case store.IsTooManyPending(err):
		return invitation.ErrTooManyPending
	}
	return apperror.Internal(err)
}

// emailSlot is the agent's slot of the emails-per-agent window, taken in the write that
// records the email (an invitation made or renewed): an email refused for any reason counts
// nothing, and the count costs no round trip of its own. The window answers 429 when full.
func (s *Service) emailSlot(agentID string) (store.RateSlot, ratelimit.Window, error) {
	if s.Limiter == nil {
		return store.RateSlot{}, ratelimit.Window{}, errNotConfigured("the rate limiter")
	}
	w := s.Limiter.Window(s.Config.Limits.EmailsPerAgent, agentID)
	return store.RateSlot{Counter: w.Counter, Limit: w.Limit, ExpiresAt: w.Ends}, w, nil
}
