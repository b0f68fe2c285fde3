package invitation

import (
	"cmp"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
)

// Delivery is what became of an invitation's email (SPEC §9.1), as SES tells it: first the
// answer to SendEmail, then SES's own event notifications, which arrive late, twice or out of
// order.
type Delivery string

const (
	DeliverySending    Delivery = "sending"    // written before SES is asked; SES has not answered yet
	DeliverySent       Delivery = "sent"       // SES accepted it (SendEmail answered, or a Send event)
	DeliveryDelayed    Delivery = "delayed"    // SES keeps trying (a DeliveryDelay event)
	DeliveryDelivered  Delivery = "delivered"  // the recipient's mail server took it
	DeliveryBounced    Delivery = "bounced"    // it bounced (permanent or transient)
	DeliveryComplained Delivery = "complained" // the recipient marked it as spam
	DeliveryFailed     Delivery = "failed"     // SES refused it: SendEmail's error or a Reject event
)

// EventDelivery is the agents-only history event and push of a change of delivery.
const EventDelivery = "invitation.delivery"

// rank orders the states of one email's progress; the three verdicts (bounced, complained,
// failed) come after every one of them and are ordered among themselves by time.
func (d Delivery) rank() int {
	switch d {
	case DeliverySending:
		return 1
	case DeliverySent:
		return 2
	case DeliveryDelayed:
		return 3
	case DeliveryDelivered:
		return 4
	case DeliveryBounced:
		return 5
	case DeliveryComplained:
		return 6
	case DeliveryFailed:
		return 7
	}
	return 0 // none recorded (invitations from before delivery was tracked)
}

// verdict reports whether d overrides any progress: bounced, complained or failed.
func (d Delivery) verdict() bool { return d.rank() >= DeliveryBounced.rank() }

// aboutAddress reports whether d says something about the address rather than about one
// email: a bounce or a complaint about an earlier email of the invitation still counts after
// a resend, which goes to the same address.
func (d Delivery) aboutAddress() bool { return d == DeliveryBounced || d == DeliveryComplained }

// Valid reports whether d is one of the states.
func (d Delivery) Valid() bool { return d.rank() > 0 }

// DeliveryReport is one thing learned about an email: SendEmail's answer or one SES event.
type DeliveryReport struct {
	MessageID string // SES's MessageId of the email it is about
	State     Delivery
	Detail    string // Permanent/General, TransientCommunicationFailure, abuse, Bad content, …
	At        time.Time
}

// compareReports is the one order every report is judged by: progress by how far it got,
// verdicts after all progress and among themselves by time (the latest wins). Ties fall to the
// state and then the detail, so the order is total and the recorded delivery is the greatest
// report received, whatever order they arrived in.
func compareReports(a, b DeliveryReport) int {
	if a.State.verdict() != b.State.verdict() {
		if a.State.verdict() {
			return 1
		}
		return -1
	}
	if a.State.verdict() {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.State.rank(), b.State.rank()), cmp.Compare(a.Detail, b.Detail))
	}
	return cmp.Or(cmp.Compare(a.State.rank(), b.State.rank()), a.At.Compare(b.At), cmp.Compare(a.Detail, b.Detail))
}

// recorded is the invitation's delivery as a report, to compare others with.
func (i Invitation) recorded() DeliveryReport {
	return DeliveryReport{MessageID: i.MessageID, State: i.Delivery, Detail: i.DeliveryDetail, At: i.DeliveryAt}
}

// DeliveryChange is what a report does to an invitation.
type DeliveryChange int

const (
	// DeliveryUnchanged: a duplicate, a report older than what is recorded, or one about an
	// earlier email; nothing is written and nothing pushed.
	DeliveryUnchanged DeliveryChange = iota
	// DeliveryRefined: only when it happened moved (a later report of the same state and
	// detail); it is written, so later reports are judged against it, but nothing is pushed.
	DeliveryRefined
	// DeliveryChanged: the state or its detail changed; written and pushed.
	DeliveryChanged
)

// Record applies a report to an email invitation: delivery only moves forward along
// sending → sent → delayed → delivered, bounced, complained and failed override any of those,
// and among those three the latest wins. Reports about an earlier email of the invitation (it
// was resent since) count only when they are a bounce or a complaint.
func (i Invitation) Record(r DeliveryReport) (Invitation, DeliveryChange) {
	if i.Kind != KindEmail || !r.State.Valid() || r.MessageID == "" {
		return i, DeliveryUnchanged
	}
	if r.MessageID != i.MessageID && !r.State.aboutAddress() {
		return i, DeliveryUnchanged
	}
	cur := i.recorded()
	if compareReports(r, cur) <= 0 {
		return i, DeliveryUnchanged
	}
	change := DeliveryChanged
	if r.State == cur.State && r.Detail == cur.Detail {
		change = DeliveryRefined
	}
	i.Delivery, i.DeliveryDetail, i.DeliveryAt = r.State, r.Detail, r.At
	return i, change
}

// SentAs records SES's answer to the invitation's sendCount-th email: its MessageId, which
// SES's notifications name, and `sent`. If the invitation was sent again meanwhile, the newer
// email is the one tracked and this answer changes nothing.
func (i Invitation) SentAs(messageID string, sendCount int, at time.Time) (Invitation, DeliveryChange) {
	if i.Kind != KindEmail || i.SendCount != sendCount || i.MessageID != "" {
		return i, DeliveryUnchanged
	}
	i.MessageID = messageID
	return i.Record(DeliveryReport{MessageID: messageID, State: DeliverySent, At: at})
}

// NotSent records that SES refused the email outright (SendEmail's error): there is no
// message for notifications to name.
func (i Invitation) NotSent(detail string, at time.Time) Invitation {
	i.Delivery, i.DeliveryDetail, i.DeliveryAt = DeliveryFailed, detail, at
	return i
}

// ErrEmailBounced refuses to send an invitation again to an address that bounced or
// complained: the agent makes a new invitation with a corrected address.
var ErrEmailBounced = apperror.Conflict("email_bounced",
	"the email to this address bounced or was reported as spam; invite the customer again with a corrected address")

// CheckResendable allows another email only while the address has neither bounced nor
// complained.
func (i Invitation) CheckResendable() error {
	if i.Delivery.aboutAddress() {
		return ErrEmailBounced
	}
	return nil
}

// DeliveryEvent tells the conversation's agents what became of the email: history's record
// and the push `invitation.delivery` (data: invitationId, delivery, detail, and the invitation
// as agents see it). Agents only, like everything about an invitation.
func DeliveryEvent(inv Invitation, at time.Time) conversation.Event {
	extra := map[string]any{"delivery": string(inv.Delivery)}
	if inv.DeliveryDetail != "" {
		extra["detail"] = inv.DeliveryDetail
	}
	return agentsEvent(inv, EventDelivery, "", at, extra)
}
