package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/invite-forward/invite-forward/shared/delivery"
)

// Locally the SES emulator publishes no event notifications, so POST /_dev/ses-events takes
// one SES event record exactly as SES publishes it (the JSON SNS carries in Message, with
// eventType and mail.messageId), wraps it in the SNS event Lambda would receive, and hands it
// to EmailDeliveryFunction's handler — the same handler the Lambda runs. Like /_dev/token it
// exists only here, never in the template.

// sesEventsFunction consumes the records.
const sesEventsFunction = "EmailDeliveryFunction"

// localSESTopic is the topic the wrapped records claim to come from.
const localSESTopic = "arn:aws:sns:" + localRegion + ":" + localAccount + ":invite-forward-ses-events"

// maxSESEventSize bounds a record (SNS messages are at most 256 KiB).
const maxSESEventSize = 256 << 10

// sesEvents answers 202 {"outcome"} for any well-formed record — applied, unchanged (a
// duplicate, out of order), unknown_message or ignored (an event type not tracked) — and 400
// invalid_ses_event for a malformed one.
func (g *Gateway) sesEvents(w http.ResponseWriter, r *http.Request) {
	fns := g.fns.Load()
	if fns == nil || !fns.has(sesEventsFunction) {
		gatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSESEventSize+1))
	if err != nil {
		devError(w, http.StatusBadRequest, "invalid_ses_event", "the body could not be read")
		return
	}
	if len(body) > maxSESEventSize {
		devError(w, http.StatusRequestEntityTooLarge, "body_too_large", "an SES event record is at most 256 KiB")
		return
	}
	var rep delivery.Report
	if err := fns.byID[sesEventsFunction].invoke(r.Context(), snsEventOf(string(body), time.Now()), &rep); err != nil {
		g.log.Error("POST /_dev/ses-events", "function", sesEventsFunction, "error", err.Error())
		devError(w, http.StatusInternalServerError, "internal", "the function failed; see the gateway's log")
		return
	}
	switch {
	case len(rep.Outcomes) != 1:
		devError(w, http.StatusInternalServerError, "internal", "the function answered for no record")
	case rep.Has(delivery.Malformed):
		devError(w, http.StatusBadRequest, "invalid_ses_event", firstOr(rep.Problems, "not an SES event record"))
	case rep.Has(delivery.Rejected):
		devError(w, http.StatusForbidden, "signature_rejected", firstOr(rep.Problems, "not signed by SNS"))
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]delivery.Outcome{"outcome": rep.Outcomes[0]})
	}
}

// snsEventOf is the SNS event Lambda receives for one message. It carries no signature: the
// gateway's functions accept unsigned messages (setup.UnsignedSESEventsVar).
func snsEventOf(message string, at time.Time) map[string]any {
	return map[string]any{"Records": []any{map[string]any{
		"EventSource":          "aws:sns",
		"EventVersion":         "1.0",
		"EventSubscriptionArn": localSESTopic + ":" + newRequestID(),
		"Sns": map[string]any{
			"Type": "Notification", "MessageId": newRequestID(), "TopicArn": localSESTopic,
			"Subject": nil, "Message": message, "Timestamp": at.UTC().Format("2006-01-02T15:04:05.000Z"),
			"SignatureVersion": "1", "Signature": "", "SigningCertUrl": "", "UnsubscribeUrl": "",
			"MessageAttributes": map[string]any{},
		},
	}}}
}

// devError answers like the API does: {"error":{"code","message"}}.
func devError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}
