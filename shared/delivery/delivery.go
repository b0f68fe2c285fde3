// Package delivery consumes SES's event notifications about invitation emails (SPEC §9.1): a
// configuration set publishes them to an SNS topic, whose messages reach the EmailDelivery
// function. Each message's SNS signature is checked, its SES event record read, the invitation
// found by the email's MessageId (one GetItem), its delivery updated by the rules of
// shared/invitation, and a change pushed to the conversation's agents as
// `invitation.delivery`. Locally the gateway hands records in through POST /_dev/ses-events.
package delivery

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/snsverify"
	"github.com/invite-forward/invite-forward/shared/store"
)

// SNSEvent is what Lambda receives from an SNS subscription: one record per message.
type SNSEvent struct {
	Records []SNSRecord `json:"Records"`
}

// SNSRecord is one SNS message as Lambda passes it on.
type SNSRecord struct {
	EventSource string            `json:"EventSource"`
	SNS         snsverify.Message `json:"Sns"`
}

// Store is what delivery needs of storage.
type Store interface {
	SentMessage(ctx context.Context, messageID string) (store.SentMessage, error)
	RecordDelivery(ctx context.Context, invitationID string, decide func(invitation.Invitation) (store.DeliveryUpdate, bool)) ([]conversation.Event, error)
}

// Verifier checks an SNS message's signature (snsverify.Verifier in AWS).
type Verifier interface {
	Verify(ctx context.Context, m snsverify.Message) error
}

// Service consumes SES event notifications.
type Service struct {
	Store     Store
	Publisher conversations.Publisher
	// Verifier checks SNS signatures; nil accepts unsigned messages, which only a local run
	// may do (see setup.SESEventsVerifier).
	Verifier Verifier
	Log      *slog.Logger
	Now      func() time.Time
}

// Outcome is what became of one record.
type Outcome string

const (
	Applied   Outcome = "applied"         // the invitation's delivery changed (and was pushed)
	Unchanged Outcome = "unchanged"       // a duplicate, out of order, or about an earlier email
	Unknown   Outcome = "unknown_message" // no invitation sent an email with that MessageId
	Ignored   Outcome = "ignored"         // an event type delivery does not track (Open, Click, …)
	Malformed Outcome = "malformed"       // not an SES event record
	Rejected  Outcome = "rejected"        // not signed by SNS
)

// Report is the function's answer: each record's outcome, and for a malformed or rejected one
// why (never the record, which holds addresses). SNS ignores it; the local gateway answers by it.
type Report struct {
	Outcomes []Outcome `json:"outcomes"`
	Problems []string  `json:"problems,omitempty"`
}

// Has reports whether any record had the outcome.
func (r Report) Has(o Outcome) bool {
	for _, got := range r.Outcomes {
		if got == o {
			return true
		}
	}
	return false
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Consume handles the records of one invocation. A malformed or forged record is answered in
// the report and dropped (retrying cannot mend it); a storage or certificate-fetch failure is
// returned, so Lambda retries the invocation, which is safe: applying a record twice changes
// nothing the second time.
func (s *Service) Consume(ctx context.Context, ev SNSEvent) (Report, error) {
	var rep Report
	for _, r := range ev.Records {
		outcome, problem, err := s.consume(ctx, r.SNS)
		if err != nil {
			return rep, err
		}
		rep.Outcomes = append(rep.Outcomes, outcome)
		if problem != "" {
			rep.Problems = append(rep.Problems, problem)
		}
	}
	return rep, nil
}

func (s *Service) consume(ctx context.Context, m snsverify.Message) (Outcome, string, error) {
	log := s.Log.With("action", "email_delivery", "snsMessageId", m.MessageID)
	if s.Verifier != nil {
		if err := s.Verifier.Verify(ctx, m); errors.Is(err, snsverify.ErrInvalid) {
			log.WarnContext(ctx, "ses event", "outcome", Rejected, "cause", err.Error())
			return Rejected, err.Error(), nil
		} else if err != nil {
			return "", "", err
		}
	}
	p, err := parseRecord(m.Message, s.now())
	if err != nil {
		log.WarnContext(ctx, "ses event", "outcome", Malformed, "cause", err.Error())
		return Malformed, err.Error(), nil
	}
	log = log.With("eventType", p.eventType)
	if p.report == nil {
		log.InfoContext(ctx, "ses event", "outcome", Ignored)
		return Ignored, "", nil
	}
	outcome, err := s.apply(ctx, log, *p.report)
	return outcome, "", err
}

// apply records the report on the invitation whose email it is about, and pushes a change.
func (s *Service) apply(ctx context.Context, log *slog.Logger, r invitation.DeliveryReport) (Outcome, error) {
	sent, err := s.Store.SentMessage(ctx, r.MessageID)
	if store.IsNotFound(err) {
		log.InfoContext(ctx, "ses event", "outcome", Unknown)
		return Unknown, nil
	}
	if err != nil {
		return "", err
	}
	log = log.With("invitationId", sent.InvitationID, "conversationId", sent.ConversationID)
	now := s.now()
	var change invitation.DeliveryChange
	var after invitation.Invitation
	events, err := s.Store.RecordDelivery(ctx, sent.InvitationID, func(read invitation.Invitation) (store.DeliveryUpdate, bool) {
		after, change = read.Record(r)
		if change == invitation.DeliveryUnchanged {
			return store.DeliveryUpdate{}, false
		}
		up := store.DeliveryUpdate{Invitation: after}
		if change == invitation.DeliveryChanged {
			up.Events = []conversation.Event{invitation.DeliveryEvent(after, now)}
		}
		return up, true
	})
	if err != nil {
		return "", err
	}
	if change != invitation.DeliveryChanged {
		log.InfoContext(ctx, "ses event", "outcome", Unchanged)
		return Unchanged, nil
	}
	if s.Publisher != nil && len(events) > 0 {
		s.Publisher.Publish(context.WithoutCancel(ctx), events...)
	}
	log.InfoContext(ctx, "ses event", "outcome", Applied, "delivery", string(after.Delivery))
	return Applied, nil
}
