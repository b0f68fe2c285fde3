package gateway_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// TestDevSESEvents_HandsOneRecordToTheDeliveryFunction: POST /_dev/ses-events takes one SES
// event record as SES publishes it and answers 202 for any well-formed one — applied, a
// duplicate, an unknown message, an event type not tracked — and 400 for a malformed one.
func TestDevSESEvents_HandsOneRecordToTheDeliveryFunction(t *testing.T) {
	s := start(t)
	ada := s.agentToken("ada")
	conv := s.startConversation(ada)
	ctx := context.Background()
	now := time.Now().UTC()
	waiting := invitation.Invitation{
		ID: "inv_dev_ses", ConversationID: conv.ConversationID, Kind: invitation.KindEmail, Status: invitation.StatusPending,
		CreatedBy: "ada", CreatedAt: now, ExpiresAt: now.Add(time.Hour), Email: "carl@example.com", SendCount: 1,
		LastSentAt: now, Delivery: invitation.DeliverySending, DeliveryAt: now,
	}
	if err := s.store.CreateInvitation(ctx, waiting, []conversation.Event{invitation.CreatedEvent(waiting, "agent_ada", now)}); err != nil {
		t.Fatal(err)
	}
	sent, _ := waiting.SentAs("0100019a-dev-ses-000000", 1, now)
	if err := s.store.RecordSent(ctx, waiting, sent); err != nil {
		t.Fatal(err)
	}
	bounce := `{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"carl@example.com"}],"timestamp":"2026-12-03T07:00:01.000Z","feedbackId":"f"},` +
		`"mail":{"timestamp":"2026-12-03T07:00:00.000Z","source":"invites@example.test","messageId":"0100019a-dev-ses-000000","destination":["carl@example.com"]}}`
	for _, c := range []struct {
		name, record string
		status       int
		want         string
	}{
		{"a bounce", bounce, http.StatusAccepted, `{"outcome":"applied"}`},
		{"the same bounce again", bounce, http.StatusAccepted, `{"outcome":"unchanged"}`},
		{"an unknown message", `{"eventType":"Delivery","mail":{"messageId":"0100019a-nobody-000000"},"delivery":{}}`, http.StatusAccepted, `{"outcome":"unknown_message"}`},
		{"an open", `{"eventType":"Open","mail":{"messageId":"0100019a-dev-ses-000000"},"open":{}}`, http.StatusAccepted, `{"outcome":"ignored"}`},
		{"not a record", `{"mail":{"messageId":"0100019a-dev-ses-000000"}}`, http.StatusBadRequest, "invalid_ses_event"},
		{"not JSON", `bounce`, http.StatusBadRequest, "invalid_ses_event"},
	} {
		r := s.do(http.MethodPost, "/_dev/ses-events", "", c.record)
		if r.status != c.status || !bytes.Contains(r.body, []byte(c.want)) {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.want)
		}
	}
	got, err := s.store.Invitation(ctx, waiting.ID)
	if err != nil || got.Delivery != invitation.DeliveryBounced || got.DeliveryDetail != "Permanent/General" {
		t.Fatalf("invitation %q (%q) %v, want bounced (Permanent/General)", got.Delivery, got.DeliveryDetail, err)
	}
}
