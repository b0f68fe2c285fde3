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
	"github.com/invite-forward/invite-forward/shared/idempotency"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/mail"
	"github.com/invite-forward/invite-forward/shared/outcome"
	"github.com/invite-forward/invite-forward/shared/store"
)

// EmailSent answers an invitation email that went out.
type EmailSent struct {
	InvitationID string            `json:"invitationId"`
	Status       invitation.Status `json:"status"`
	ExpiresAt    time.Time         `json:"expiresAt"`
	// Delivery is `sent` once SES has taken the email (`sending` if that could not be recorded).
	Delivery invitation.Delivery `json:"delivery"`
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
	if err := checkRoom(acc.Head); err != nil {
		return EmailSent{}, err
	}
	slot, window, err := s.emailSlot(p.AgentID)
	if err != nil {
		return EmailSent{}, err
	}
	token, hash := invitation.NewJoinToken()
	inv := invitation.Invitation{
		ID: ids.New("inv"), ConversationID: conversationID, Kind: invitation.KindEmail,
		Status: invitation.StatusPending, CreatedBy: p.AgentID, CreatedAt: now,
		ExpiresAt: invitation.ValidUntil(now, s.Config.JoinTokenTTL),
		Email:     req.Email, Name: req.Name, Note: req.Note, Admit: lobbyAdmit(req.Admit),
		SendCount: 1, LastSentAt: now, SecretHash: hash,
		Delivery: invitation.DeliverySending, DeliveryAt: now,
	}
	// Rendered before anything is written, so a configuration mistake leaves no trace.
	msg, err := s.render(ctx, acc, inv, token, now)
	if err != nil {
		return EmailSent{}, err
	}
	events := []conversation.Event{invitation.CreatedEvent(inv, acc.Participant.ID, now)}
	if err := s.Store.CreateInvitation(ctx, inv, events, slot); err != nil {
		if store.IsRateFull(err) {
			return EmailSent{}, window.Full()
		}
		return EmailSent{}, writeError(err)
	}
	return s.send(ctx, acc, inv, msg, func(sent EmailSent) any { return sent })
}

// resendEmail sends the invitation again with a new join token; the old link stops working.
// It is also how a failed invitation is retried.
func (s *Service) resendEmail(ctx context.Context, acc conversations.Access, inv invitation.Invitation) (Resent, error) {
	if s.Mailer == nil {
		return Resent{}, errNotConfigured("the mailer")
	}
	slot, window, err := s.emailSlot(acc.Participant.AgentID)
	if err != nil {
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
	if err := s.Store.RenewInvitation(ctx, inv, renewed, events, slot); err != nil {
		if store.IsRateFull(err) {
			return Resent{}, window.Full()
		}
		return Resent{}, s.renewError(ctx, inv, err)
	}
	sent, err := s.send(ctx, acc, renewed, msg, func(sent EmailSent) any { return sent.resent() })
	if err != nil {
		return Resent{}, err
	}
	return sent.resent(), nil
}

func (e EmailSent) resent() Resent {
	return Resent{InvitationID: e.InvitationID, Status: e.Status, ExpiresAt: e.ExpiresAt, Delivery: e.Delivery}
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

// renewError maps a failed renewal: a bounce or complaint recorded since the invitation was
// read is email_bounced, as it would have been had it come first.
func (s *Service) renewError(ctx context.Context, read invitation.Invitation, err error) error {
	if store.FailedOn(err, "invitation") {
		if now, rerr := s.Store.Invitation(ctx, read.ID); rerr == nil && now.CheckResendable() != nil {
			return now.CheckResendable()
		}
	}
	return writeError(err)
}

// send hands the email to SES. On failure the invitation is recorded failed (its token
// deleted) and the caller gets email_not_sent. On success SES's MessageId is recorded with
// delivery `sent`, so that SES's notifications about the email find the invitation; that
// write also records the request's answer (answer shapes it; idempotency.Answering).
func (s *Service) send(ctx context.Context, acc conversations.Access, inv invitation.Invitation, msg mail.Message,
	answer func(EmailSent) any) (EmailSent, error) {
	messageID, err := s.Mailer.Send(ctx, inv.Email, msg)
	if err != nil {
		return EmailSent{}, s.recordFailure(ctx, acc, inv, err)
	}
	out := EmailSent{InvitationID: inv.ID, Status: invitation.StatusPending, ExpiresAt: inv.ExpiresAt}
	out.Delivery = s.recordSent(ctx, inv, messageID, func(d invitation.Delivery) any {
		sent := out
		sent.Delivery = d
		return answer(sent)
	})
	return out, nil
}

// recordSent records SES's answer (one write, no event: the caller learns `sent` from the
// answer, the other agents from SES's notifications that follow), and with it the request's
// answer, answer(sent). The email is out whatever happens here, so a failure to record it is
// logged, not answered: the invitation then shows `sending`, and SES's notifications about
// this email find nothing to update.
func (s *Service) recordSent(ctx context.Context, inv invitation.Invitation, messageID string, answer func(invitation.Delivery) any) invitation.Delivery {
	sent, change := inv.SentAs(messageID, inv.SendCount, s.now())
	if change == invitation.DeliveryUnchanged || messageID == "" {
		s.warn(ctx, inv, "SES answered without a MessageId")
		return inv.Delivery
	}
	// The email is out: without its MessageId recorded, SES's notifications would find no
	// invitation, so a failed write is tried once more (a lost race is not: sent again or
	// settled meanwhile, the newer state stands).
	ctx, done := outcome.Context(ctx)
	defer done()
	ctx = idempotency.Answering(ctx, answer(sent.Delivery))
	err := s.Store.RecordSent(ctx, inv, sent)
	if err != nil && !store.IsCanceled(err) {
		err = s.Store.RecordSent(ctx, inv, sent)
	}
	if err != nil {
		s.warn(ctx, inv, err.Error())
		return inv.Delivery
	}
	return sent.Delivery
}

func (s *Service) warn(ctx context.Context, inv invitation.Invitation, cause string) {
	if s.Log != nil {
		s.Log.WarnContext(ctx, "delivery not recorded", "invitationId", inv.ID, "conversationId", inv.ConversationID, "cause", cause)
	}
}

func (s *Service) recordFailure(ctx context.Context, acc conversations.Access, inv invitation.Invitation, sendErr error) error {
	notSent := emailNotSent(sendErr)
	// The email may have failed because the request was cancelled; the record must still be
	// written, or the invitation would stay pending with a token nobody received.
	ctx, done := outcome.Context(ctx)
	defer done()
	now := s.now()
	failed := inv.NotSent(sendFailureDetail(sendErr), now)
	events := []conversation.Event{
		invitation.FailedEvent(inv, acc.Participant.ID, reasonEmailNotSent, now),
		invitation.DeliveryEvent(failed, now),
	}
	err := s.Store.FailInvitation(ctx, inv, failed, reasonEmailNotSent, now, events)
	if err != nil {
		// Revoked or ended meanwhile, or storage failed: the caller still learns that the
		// email did not go out; the log keeps why the record was not written.
		return notSent.WithCause(errors.Join(notSent.Cause, fmt.Errorf("record failure: %w", err)))
	}
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

// sendFailureDetail is the `detail` of a delivery that failed at SendEmail: SES's error code
// (MessageRejected, AccountSendingPausedException, …), never its text, which can quote the
// address.
func sendFailureDetail(err error) string {
	var coded interface{ ErrorCode() string }
	switch {
	case errors.As(err, &coded) && coded.ErrorCode() != "":
		return coded.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout"
	}
	return "SendEmailFailed"
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
