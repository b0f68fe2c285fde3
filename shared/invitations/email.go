package invitations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/mail"
)

// EmailSent answers an invitation email that went out.
type EmailSent struct {
	InvitationID string            `json:"invitationId"`
	Status       invitation.Status `json:"status"`
	ExpiresAt    time.Time         `json:"expiresAt"`
}

// reasonEmailNotSent is the reason recorded on an invitation whose email failed.
const reasonEmailNotSent = "email_not_sent"

// CreateEmail invites a customer by email: POST /conversations/{id}/invitations/email. The
// invitation and its join token are written first, then the email is sent; if SES fails the
// invitation is recorded failed and the caller gets 502 email_not_sent (resend retries it).
func (s *Service) CreateEmail(ctx context.Context, p auth.Principal, conversationID string, req EmailRequest) (EmailSent, error) {
	if s.Mailer == nil {
		return EmailSent{}, errNotConfigured("the mailer")
	}
	acc, err := s.authorizeOpen(ctx, p, conversationID)
	if err != nil {
		return EmailSent{}, err
	}
	if err := req.Normalize(); err != nil {
		return EmailSent{}, err
	}
	now := s.now()
	if err := s.checkRoom(ctx, conversationID); err != nil {
		return EmailSent{}, err
	}
	if err := s.checkRate(ctx, s.Config.Limits.EmailsPerAgent, p.AgentID); err != nil {
		return EmailSent{}, err
	}
	token, hash := invitation.NewJoinToken()
	inv := invitation.Invitation{
		ID: ids.New("inv"), ConversationID: conversationID, Kind: invitation.KindEmail,
		Status: invitation.StatusPending, CreatedBy: p.AgentID, CreatedAt: now,
		ExpiresAt: invitation.ValidUntil(now, s.Config.JoinTokenTTL),
		Email:     req.Email, Name: req.Name, Note: req.Note, Admit: lobbyAdmit(req.Admit),
		SendCount: 1, LastSentAt: now, SecretHash: hash,
	}
	// Rendered before anything is written, so a configuration mistake leaves no trace.
	msg, err := s.render(ctx, acc, inv, token, now)
	if err != nil {
		return EmailSent{}, err
	}
	events := []conversation.Event{invitation.CreatedEvent(inv, acc.Participant.ID, now)}
	if err := s.Store.CreateInvitation(ctx, inv, events); err != nil {
		return EmailSent{}, writeError(err)
	}
	s.publish(ctx, events...)
	return s.send(ctx, acc, inv, msg)
}

// resendEmail sends the invitation again with a new join token; the old link stops working.
// It is also how a failed invitation is retried.
func (s *Service) resendEmail(ctx context.Context, acc conversations.Access, inv invitation.Invitation) (Resent, error) {
	if s.Mailer == nil {
		return Resent{}, errNotConfigured("the mailer")
	}
	if err := s.checkRate(ctx, s.Config.Limits.EmailsPerAgent, acc.Participant.AgentID); err != nil {
		return Resent{}, err
	}
	now := s.now()
	token, hash := invitation.NewJoinToken()
	renewed := inv.Renewed(hash, now, invitation.ValidUntil(now, s.Config.JoinTokenTTL))
	msg, err := s.render(ctx, acc, renewed, token, now)
	if err != nil {
		return Resent{}, err
	}
	events := []conversation.Event{invitation.ResentEvent(renewed, acc.Participant.ID, now)}
	if err := s.Store.RenewInvitation(ctx, inv, renewed, events); err != nil {
		return Resent{}, writeError(err)
	}
	s.publish(ctx, events...)
	sent, err := s.send(ctx, acc, renewed, msg)
	if err != nil {
		return Resent{}, err
	}
	return Resent{InvitationID: sent.InvitationID, Status: sent.Status, ExpiresAt: sent.ExpiresAt}, nil
}

// render builds the email: the link goes to the conversation's page if its origin is allowed,
// else to the default join page, and carries the token in its fragment.
func (s *Service) render(ctx context.Context, acc conversations.Access, inv invitation.Invitation, token string, now time.Time) (mail.Message, error) {
	link, err := mail.JoinLink(acc.Conversation.PageURL, s.Config.AllowedOrigins, s.Config.DefaultJoinPage, token)
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Render(mail.Invitation{
		InviterName:  s.inviterName(ctx, acc),
		CustomerName: inv.Name,
		Topic:        acc.Conversation.Topic,
		Note:         inv.Note,
		Link:         link,
		ExpiresAt:    inv.ExpiresAt,
		CompanyName:  s.Config.CompanyName,
		SentAt:       now,
	})
}

// inviterName is the agent's name as the conversation shows it, else as the directory has it;
// the email says "Someone" rather than fail for want of a name.
func (s *Service) inviterName(ctx context.Context, acc conversations.Access) string {
	if acc.Participant.DisplayName != "" {
		return acc.Participant.DisplayName
	}
	name, err := s.Store.AgentName(ctx, acc.Participant.AgentID)
	if err != nil {
		return ""
	}
	return name
}

// send hands the email to SES. On failure the invitation is recorded failed (its token
// deleted) and the caller gets email_not_sent.
func (s *Service) send(ctx context.Context, acc conversations.Access, inv invitation.Invitation, msg mail.Message) (EmailSent, error) {
	if _, err := s.Mailer.Send(ctx, inv.Email, msg); err != nil {
		return EmailSent{}, s.recordFailure(ctx, acc, inv, err)
	}
	return EmailSent{InvitationID: inv.ID, Status: invitation.StatusPending, ExpiresAt: inv.ExpiresAt}, nil
}

func (s *Service) recordFailure(ctx context.Context, acc conversations.Access, inv invitation.Invitation, sendErr error) error {
	notSent := emailNotSent(sendErr)
	// The email may have failed because the request was cancelled; the record must still be
	// written, or the invitation would stay pending with a token nobody received.
	ctx = context.WithoutCancel(ctx)
	now := s.now()
	events := []conversation.Event{invitation.FailedEvent(inv, acc.Participant.ID, reasonEmailNotSent, now)}
	err := s.Store.FailInvitation(ctx, inv, reasonEmailNotSent, now, events)
	if err != nil {
		// Revoked or ended meanwhile, or storage failed: the caller still learns that the
		// email did not go out; the log keeps why the record was not written.
		return notSent.WithCause(errors.Join(notSent.Cause, fmt.Errorf("record failure: %w", err)))
	}
	s.publish(ctx, events...)
	return notSent
}

// emailNotSent is the caller's answer to any send failure. SES's own text is dropped from the
// cause, because it can quote the recipient's address (sandbox refusals do) and causes are
// logged; what is kept (error types and SES's error code) is enough to diagnose.
func emailNotSent(err error) *apperror.Error {
	e := apperror.New(apperror.KindUnavailable, "email_not_sent", "the invitation email could not be sent")
	cause := err
	if ae := apperror.As(err); ae.Cause != nil {
		cause = ae.Cause
	}
	return e.WithCause(errors.New("send email: " + describeWithoutText(cause)))
}

// describeWithoutText names the types along an error chain and any service error code.
func describeWithoutText(err error) string {
	var types []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		types = append(types, fmt.Sprintf("%T", e))
	}
	out := strings.Join(types, " → ")
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		out += " (code " + coded.ErrorCode() + ")"
	}
	return out
}
