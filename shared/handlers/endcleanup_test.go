package handlers_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/faults"
	"github.com/invite-forward/invite-forward/shared/handlers"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// The end answers after its one write; the end-cleanup function, driven by the stream's
// conversation.ended, revokes what the end left pending and deletes the visitors' sessions.
// A step that fails reports the record back to Lambda, and the retry finishes the cleanup;
// any other event costs the function no call.
func TestEndCleanup_AFailedStepIsReportedAndTheRetryFinishesIt(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t) // no stream: this test hands the function its records
	cleanup := handlers.EndCleanup(api.Deps)
	for _, failing := range []string{"GetItem", "Query", "TransactWriteItems"} {
		s := startAsAgent(t, api, "ada")
		ada := apitest.Bearer(api.AgentToken("ada"))
		pin := createPIN(t, api, s.ConversationID, ada)
		session := addVisitor(t, api, s.ConversationID)
		end := api.Do(apitest.Request{Function: "EndConversationFunction", Method: "POST", Route: "/conversations/{id}/end",
			Params: map[string]string{"id": s.ConversationID}, Authorization: ada})
		if end.Status != 204 {
			t.Fatalf("end: %d %s", end.Status, end.Body)
		}
		if got := cleanedUp(t, api, pin.InvitationID, session); got {
			t.Fatal("the end cleaned up in the request; it is the stream's to do")
		}
		batch := endedRecords(t, api, s.ConversationID)

		ctx, log := faults.Inject(context.Background(), faults.Plan{Operation: failing, Mode: faults.Refuse})
		resp, err := cleanup(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		ended := batch.Records[len(batch.Records)-1]
		if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ended.Change.SequenceNumber {
			t.Fatalf("%s failing: reported %+v, want the conversation.ended record (calls %v)", failing, resp.BatchItemFailures, log.Calls())
		}
		resp, err = cleanup(t.Context(), batch) // Lambda's retry
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("the retry: %+v %v", resp, err)
		}
		if !cleanedUp(t, api, pin.InvitationID, session) {
			t.Fatalf("%s failing, then a retry: the end is not cleaned up", failing)
		}
	}

	s := startAsAgent(t, api, "ada")
	ctx, log := faults.Inject(context.Background())
	if resp, err := cleanup(ctx, endedRecords(t, api, s.ConversationID)); err != nil || len(resp.BatchItemFailures) != 0 || len(log.Calls()) != 0 {
		t.Fatalf("an open conversation's events: %+v %v, calls %v", resp, err, log.Calls())
	}
}

// cleanedUp reports whether the invitation is revoked by the end and the visitor's session gone.
func cleanedUp(t *testing.T, api *apitest.API, invitationID, sessionToken string) bool {
	t.Helper()
	inv, err := api.Store.Invitation(t.Context(), invitationID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.Store.Session(t.Context(), ids.Hash(sessionToken))
	if err != nil && !store.IsNotFound(err) {
		t.Fatal(err)
	}
	return inv.Status == invitation.StatusRevoked && inv.Reason == "conversation_ended" && store.IsNotFound(err)
}

// endedRecords is the conversation's history as the stream delivers it: one INSERT per event.
func endedRecords(t *testing.T, api *apitest.API, conversationID string) events.DynamoDBEvent {
	t.Helper()
	page, err := api.Store.Events(t.Context(), conversationID, 0, 100, conversation.KindAgent)
	if err != nil {
		t.Fatal(err)
	}
	var batch events.DynamoDBEvent
	for _, e := range page.Events {
		batch.Records = append(batch.Records, events.DynamoDBEventRecord{
			EventName: string(events.DynamoDBOperationTypeInsert),
			Change: events.DynamoDBStreamRecord{SequenceNumber: fmt.Sprint(1000 + e.Seq), NewImage: map[string]events.DynamoDBAttributeValue{
				"pk":       events.NewStringAttribute("CONV#" + conversationID),
				"sk":       events.NewStringAttribute(fmt.Sprintf("EVT#%012d", e.Seq)),
				"type":     events.NewStringAttribute("event"),
				"seq":      events.NewNumberAttribute(strconv.FormatInt(e.Seq, 10)),
				"event":    events.NewStringAttribute(e.Type),
				"at":       events.NewNumberAttribute(strconv.FormatInt(e.At.UnixMilli(), 10)),
				"audience": events.NewStringAttribute(string(e.Audience)),
			}},
		})
	}
	return batch
}
