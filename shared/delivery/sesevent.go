package delivery

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/invite-forward/invite-forward/shared/invitation"
)

// sesRecord is one SES event record as SES's event publishing writes it (the JSON SNS carries
// in Message): its type, the mail it is about, and the object of its type. Only what
// delivery needs is read; everything SES defines must still have its type.
type sesRecord struct {
	EventType string `json:"eventType"`
	// NotificationType is the same field in SES's older identity notifications.
	NotificationType string `json:"notificationType"`
	Mail             *struct {
		MessageID string `json:"messageId"`
		Timestamp string `json:"timestamp"`
	} `json:"mail"`
	Bounce *struct {
		BounceType    string `json:"bounceType"`
		BounceSubType string `json:"bounceSubType"`
		Timestamp     string `json:"timestamp"`
	} `json:"bounce"`
	Complaint *struct {
		ComplaintFeedbackType string `json:"complaintFeedbackType"`
		ComplaintSubType      string `json:"complaintSubType"`
		Timestamp             string `json:"timestamp"`
	} `json:"complaint"`
	Delivery *struct {
		Timestamp string `json:"timestamp"`
	} `json:"delivery"`
	DeliveryDelay *struct {
		DelayType string `json:"delayType"`
		Timestamp string `json:"timestamp"`
	} `json:"deliveryDelay"`
	Reject *struct {
		Reason string `json:"reason"`
	} `json:"reject"`
}

// errMalformed is a record that is not an SES event record: answered 400 locally, logged and
// dropped in AWS (a retry would not make it better).
var errMalformed = errors.New("malformed SES event record")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// maxMessageIDLen bounds SES MessageIds (theirs are about 60 characters).
const maxMessageIDLen = 256

// parsed is what one record says: the report for the invitation, or nil for an event type
// that says nothing about delivery (Open, Click, Subscription, …).
type parsed struct {
	eventType string
	report    *invitation.DeliveryReport
}

// parseRecord reads one SES event record. It must be a JSON object with eventType and
// mail.messageId, every field of the right type; the time of the event is its object's
// timestamp, else the mail's, else received.
func parseRecord(message string, received time.Time) (parsed, error) {
	if !strings.HasPrefix(strings.TrimSpace(message), "{") {
		return parsed{}, malformed("not a JSON object")
	}
	var r sesRecord
	if err := json.Unmarshal([]byte(message), &r); err != nil {
		return parsed{}, malformed("%v", jsonProblem(err))
	}
	typ := r.EventType
	if typ == "" {
		typ = r.NotificationType
	}
	if typ == "" {
		return parsed{}, malformed("eventType is missing")
	}
	if r.Mail == nil || r.Mail.MessageID == "" {
		return parsed{}, malformed("mail.messageId is missing")
	}
	if len(r.Mail.MessageID) > maxMessageIDLen || strings.IndexFunc(r.Mail.MessageID, unicode.IsControl) >= 0 {
		return parsed{}, malformed("mail.messageId is not an SES message id")
	}
	report, err := r.report(typ, received)
	if err != nil {
		return parsed{}, err
	}
	if report != nil {
		report.MessageID = r.Mail.MessageID
	}
	return parsed{eventType: typ, report: report}, nil
}

// report maps the event types that say something about delivery; the others are nil.
func (r sesRecord) report(typ string, received time.Time) (*invitation.DeliveryReport, error) {
	var (
		state   invitation.Delivery
		detail  string
		stamped string
	)
	switch typ {
	case "Send":
		state = invitation.DeliverySent
	case "Delivery":
		state = invitation.DeliveryDelivered
		if r.Delivery != nil {
			stamped = r.Delivery.Timestamp
		}
	case "DeliveryDelay":
		state, detail = invitation.DeliveryDelayed, "Undetermined"
		if r.DeliveryDelay != nil {
			detail, stamped = or(r.DeliveryDelay.DelayType, detail), r.DeliveryDelay.Timestamp
		}
	case "Bounce":
		state, detail = invitation.DeliveryBounced, "Undetermined"
		if b := r.Bounce; b != nil {
			detail, stamped = or(strings.Trim(b.BounceType+"/"+b.BounceSubType, "/"), detail), b.Timestamp
		}
	case "Complaint":
		state, detail = invitation.DeliveryComplained, "unspecified"
		if c := r.Complaint; c != nil {
			detail, stamped = or(c.ComplaintFeedbackType, or(c.ComplaintSubType, detail)), c.Timestamp
		}
	case "Reject":
		state, detail = invitation.DeliveryFailed, "Rejected"
		if r.Reject != nil {
			detail = or(r.Reject.Reason, detail)
		}
	default:
		return nil, nil
	}
	at, err := eventTime(stamped, r.Mail.Timestamp, received)
	if err != nil {
		return nil, err
	}
	return &invitation.DeliveryReport{State: state, Detail: cleanDetail(detail), At: at}, nil
}

// eventTime is the first of the timestamps that is there; one that is there must parse.
func eventTime(event, mail string, received time.Time) (time.Time, error) {
	for _, s := range []string{event, mail} {
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, malformed("timestamp %q is not RFC 3339", s)
		}
		return t.UTC(), nil
	}
	return received.UTC(), nil
}

func or(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}

// maxDetailLen bounds detail, which is stored and pushed.
const maxDetailLen = 100

// cleanDetail keeps detail one short line of text.
func cleanDetail(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > maxDetailLen {
		s = string(r[:maxDetailLen])
	}
	return s
}

// jsonProblem says what was wrong without quoting the record, which holds addresses.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("%s is not a %s", typeErr.Field, typeErr.Type)
	}
	return "not valid JSON"
}
