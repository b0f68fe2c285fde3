package apitest

import (
	"context"
	"encoding/json"
	"time"

	"github.com/invite-forward/invite-forward/shared/delivery"
	"github.com/invite-forward/invite-forward/shared/snsverify"
)

// TestTopic is the SNS topic test SES events claim to come from.
const TestTopic = "arn:aws:sns:us-east-1:123456789012:invite-forward-ses-events"

// SESEvent hands EmailDeliveryFunction one SES event record (the JSON SNS carries in
// Message), unsigned, as the local gateway does.
func (a *API) SESEvent(record string) (delivery.Report, error) {
	a.T.Helper()
	return a.SESEventContext(context.Background(), record)
}

// SESEventContext is SESEvent with ctx handed to the handler (a round-trip counter, say).
func (a *API) SESEventContext(ctx context.Context, record string) (delivery.Report, error) {
	a.T.Helper()
	return a.SNSContext(ctx, snsverify.Message{
		Type: "Notification", MessageID: "sns-" + time.Now().Format("150405.000000000"), TopicArn: TestTopic,
		Message: record, Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), SignatureVersion: "1",
	})
}

// SNS hands EmailDeliveryFunction one SNS message, through JSON as Lambda delivers it.
func (a *API) SNS(m snsverify.Message) (delivery.Report, error) {
	a.T.Helper()
	return a.SNSContext(context.Background(), m)
}

// SNSContext is SNS with ctx handed to the handler.
func (a *API) SNSContext(ctx context.Context, m snsverify.Message) (delivery.Report, error) {
	a.T.Helper()
	raw, err := json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": m}}})
	if err != nil {
		a.T.Fatal(err)
	}
	var ev delivery.SNSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		a.T.Fatal(err)
	}
	h := a.handler("EmailDeliveryFunction").(func(context.Context, delivery.SNSEvent) (delivery.Report, error))
	return h(ctx, ev)
}
