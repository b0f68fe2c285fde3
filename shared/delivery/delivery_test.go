package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/delivery"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/mail"
	"github.com/invite-forward/invite-forward/shared/roundtrips"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// scene is a conversation held by ada, with a customer (Sam) in it, both connected.
type scene struct {
	t              *testing.T
	api            *apitest.API
	ada            string // ada's Authorization
	sam            string // the customer's Authorization
	conversationID string
	visitorID      string
	adaConn        string
	visitorConn    string
}

func newScene(t *testing.T, o ...func(*setup.Overrides)) *scene {
	t.Helper()
	api := apitest.New(t, o...)
	s := &scene{t: t, api: api, ada: apitest.Bearer(api.AgentToken("ada"))}
	r := api.Do(apitest.Request{Function: "StartConversationFunction", Method: "POST", Route: "/conversations",
		Authorization: s.ada, Body: map[string]any{"topic": "Delivery"}})
	if r.Status != 201 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	var started conversations.Started
	r.Decode(t, &started)
	s.conversationID = started.ConversationID
	r = api.Do(apitest.Request{Function: "CreatePinInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/pin",
		Params: s.onConv(), Authorization: s.ada})
	var pin invitations.PINIssued
	r.Decode(t, &pin)
	r = api.Do(apitest.Request{Function: "RedeemPinFunction", Method: "POST", Route: "/join/pin",
		Body: map[string]any{"pin": pin.PIN, "displayName": "Sam"}})
	if r.Status != 201 {
		t.Fatalf("redeem: %d %s", r.Status, r.Body)
	}
	var joined invitations.Joined
	r.Decode(t, &joined)
	s.visitorID = joined.ParticipantID
	s.sam = apitest.Bearer(joined.SessionToken)
	s.adaConn, s.visitorConn = "conn-ada-"+s.conversationID, "conn-sam-"+s.conversationID
	ctx := context.Background()
	now := time.Now()
	for _, c := range []store.Connection{
		{ID: s.adaConn, PrincipalKey: store.AgentPrincipal("ada"), Kind: "agent", AgentID: "ada", ConnectedAt: now},
		{ID: s.visitorConn, PrincipalKey: store.VisitorPrincipal(s.visitorID), Kind: "visitor",
			ConversationID: s.conversationID, ParticipantID: s.visitorID, ConnectedAt: now},
	} {
		if err := api.Store.PutConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *scene) onConv() map[string]string { return map[string]string{"id": s.conversationID} }

// invite sends an email invitation and returns it as stored, with SES's MessageId.
func (s *scene) invite() invitation.Invitation {
	s.t.Helper()
	r := s.api.Do(apitest.Request{Function: "CreateEmailInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/email",
		Params: s.onConv(), Authorization: s.ada, Body: map[string]any{"email": fmt.Sprintf("carl-%d@example.com", rand.Int64())}})
	if r.Status != 201 {
		s.t.Fatalf("email invitation: %d %s", r.Status, r.Body)
	}
	var sent invitations.EmailSent
	r.Decode(s.t, &sent)
	if sent.Delivery != invitation.DeliverySent {
		s.t.Fatalf("answer's delivery %q, want sent\n%s", sent.Delivery, s.api.Logs.String())
	}
	return s.stored(sent.InvitationID)
}

func (s *scene) stored(id string) invitation.Invitation {
	s.t.Helper()
	inv, err := s.api.Store.Invitation(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return inv
}

// listed is the invitation as GET …/invitations shows it.
func (s *scene) listed(id string) invitation.Invitation {
	s.t.Helper()
	r := s.api.Do(apitest.Request{Function: "ListInvitationsFunction", Method: "GET", Route: "/conversations/{id}/invitations",
		Params: s.onConv(), Authorization: s.ada})
	var l invitations.Listed
	r.Decode(s.t, &l)
	for _, inv := range l.Invitations {
		if inv.ID == id {
			return inv
		}
	}
	s.t.Fatalf("invitation %s not listed", id)
	return invitation.Invitation{}
}

// ses hands one record to the function and returns its outcome.
func (s *scene) ses(record string) delivery.Outcome {
	s.t.Helper()
	rep, err := s.api.SESEvent(record)
	if err != nil {
		s.t.Fatalf("EmailDelivery returned an error: %v", err)
	}
	if len(rep.Outcomes) != 1 {
		s.t.Fatalf("report %+v", rep)
	}
	return rep.Outcomes[0]
}

// pushes are what a connection received once everything committed so far is pushed.
func (s *scene) pushes(conn string) []wsapi.Message {
	s.api.AwaitStream()
	return s.api.Push.Messages(s.t, conn)
}

// deliveryPushes are the invitation.delivery pushes a connection received.
func (s *scene) deliveryPushes(conn string) []wsapi.Message {
	var out []wsapi.Message
	for _, m := range s.pushes(conn) {
		if m.Type == invitation.EventDelivery {
			out = append(out, m)
		}
	}
	return out
}

// record is an SES event record as SES publishes it.
func record(eventType, messageID string, at time.Time, fields map[string]any) string {
	r := map[string]any{
		"eventType": eventType,
		"mail": map[string]any{
			"timestamp": at.Add(-time.Minute).UTC().Format(time.RFC3339Nano), "source": "invites@example.com",
			"messageId": messageID, "destination": []string{"carl@example.com"},
		},
	}
	for k, v := range fields {
		r[k] = v
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func ts(at time.Time) string { return at.UTC().Format("2006-01-02T15:04:05.000Z") }

func delivered(id string, at time.Time) string {
	return record("Delivery", id, at, map[string]any{"delivery": map[string]any{"timestamp": ts(at), "recipients": []string{"carl@example.com"}, "smtpResponse": "250 ok"}})
}

func delayed(id string, at time.Time, why string) string {
	return record("DeliveryDelay", id, at, map[string]any{"deliveryDelay": map[string]any{"timestamp": ts(at), "delayType": why}})
}

func bounced(id string, at time.Time, typ, sub string) string {
	return record("Bounce", id, at, map[string]any{"bounce": map[string]any{"timestamp": ts(at), "bounceType": typ, "bounceSubType": sub,
		"bouncedRecipients": []any{map[string]any{"emailAddress": "carl@example.com"}}}})
}

func complained(id string, at time.Time) string {
	return record("Complaint", id, at, map[string]any{"complaint": map[string]any{"timestamp": ts(at), "complaintFeedbackType": "abuse",
		"complainedRecipients": []any{map[string]any{"emailAddress": "carl@example.com"}}}})
}

func rejected(id string, at time.Time) string {
	return record("Reject", id, at, map[string]any{"reject": map[string]any{"reason": "Bad content"}})
}

func sendEvent(id string, at time.Time) string {
	return record("Send", id, at, map[string]any{"send": map[string]any{}})
}

func (s *scene) wantDelivery(id string, state invitation.Delivery, detail string) {
	s.t.Helper()
	got := s.listed(id)
	if got.Delivery != state || got.DeliveryDetail != detail {
		s.t.Fatalf("delivery %q (%q), want %q (%q)", got.Delivery, got.DeliveryDetail, state, detail)
	}
}

func TestEmailInvitation_SentThenDelivered_PushedToAgentsOnly(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	inv := s.invite()
	if inv.MessageID == "" || inv.Delivery != invitation.DeliverySent {
		t.Fatalf("stored %q with MessageId %q, want sent with SES's MessageId", inv.Delivery, inv.MessageID)
	}
	s.wantDelivery(inv.ID, invitation.DeliverySent, "")

	if got := s.ses(delivered(inv.MessageID, time.Now())); got != delivery.Applied {
		t.Fatalf("outcome %s, want applied", got)
	}
	s.wantDelivery(inv.ID, invitation.DeliveryDelivered, "")

	// SendEmail's answer is told to the sender in the answer; SES's notifications to all agents.
	pushes := s.deliveryPushes(s.adaConn)
	if len(pushes) != 1 || pushes[0].Data["delivery"] != "delivered" || pushes[0].Data["invitationId"] != inv.ID ||
		pushes[0].Seq == 0 || pushes[0].ConversationID != s.conversationID {
		t.Fatalf("ada's invitation.delivery pushes %+v, want delivered", pushes)
	}
	if _, has := pushes[0].Data["detail"]; has {
		t.Errorf("delivered carries a detail: %v", pushes[0].Data)
	}
	for _, m := range s.pushes(s.visitorConn) {
		if m.Type == invitation.EventDelivery || m.Type == invitation.EventResent {
			t.Fatalf("the customer was pushed %s", m.Type)
		}
	}
	// History tells it to agents, never to the customer.
	if n := historyCount(t, s, s.ada, invitation.EventDelivery); n != 1 {
		t.Errorf("agent history has %d invitation.delivery events, want 1", n)
	}
	if n := historyCount(t, s, s.sam, invitation.EventDelivery); n != 0 {
		t.Errorf("the customer's history has %d invitation.delivery events", n)
	}
}

func historyCount(t *testing.T, s *scene, authz, typ string) int {
	t.Helper()
	r := s.api.Do(apitest.Request{Function: "ListEventsFunction", Method: "GET", Route: "/conversations/{id}/events",
		Params: s.onConv(), Authorization: authz})
	var page conversations.HistoryPage
	r.Decode(t, &page)
	n := 0
	for _, e := range page.Events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func TestDelivery_MovesOnlyForward_AndADuplicatePushesNothing(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	inv := s.invite()
	now := time.Now()
	steps := []struct {
		record string
		want   delivery.Outcome
		state  invitation.Delivery
		detail string
	}{
		{sendEvent(inv.MessageID, now), delivery.Unchanged, invitation.DeliverySent, ""},
		{delayed(inv.MessageID, now.Add(time.Second), "TransientCommunicationFailure"), delivery.Applied, invitation.DeliveryDelayed, "TransientCommunicationFailure"},
		{delayed(inv.MessageID, now.Add(time.Second), "TransientCommunicationFailure"), delivery.Unchanged, invitation.DeliveryDelayed, "TransientCommunicationFailure"},
		{delivered(inv.MessageID, now.Add(2*time.Second)), delivery.Applied, invitation.DeliveryDelivered, ""},
		{delivered(inv.MessageID, now.Add(2*time.Second)), delivery.Unchanged, invitation.DeliveryDelivered, ""},
		{delayed(inv.MessageID, now.Add(3*time.Second), "MailboxFull"), delivery.Unchanged, invitation.DeliveryDelivered, ""},
		{sendEvent(inv.MessageID, now.Add(4*time.Second)), delivery.Unchanged, invitation.DeliveryDelivered, ""},
	}
	for i, st := range steps {
		if got := s.ses(st.record); got != st.want {
			t.Fatalf("step %d: outcome %s, want %s", i, got, st.want)
		}
		s.wantDelivery(inv.ID, st.state, st.detail)
	}
	var states []any
	for _, m := range s.deliveryPushes(s.adaConn) {
		states = append(states, m.Data["delivery"])
	}
	if fmt.Sprint(states) != "[delayed delivered]" {
		t.Fatalf("pushed %v, want each change once: [delayed delivered]", states)
	}
}

func TestBounce_PermanentAndTransient_OverrideDelivery_AndResendIsRefused(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	for _, c := range []struct{ typ, sub, detail string }{
		{"Permanent", "General", "Permanent/General"},
		{"Transient", "MailboxFull", "Transient/MailboxFull"},
	} {
		inv := s.invite()
		now := time.Now()
		s.ses(delivered(inv.MessageID, now))
		if got := s.ses(bounced(inv.MessageID, now.Add(time.Second), c.typ, c.sub)); got != delivery.Applied {
			t.Fatalf("%s bounce after delivery: %s, want applied", c.typ, got)
		}
		s.wantDelivery(inv.ID, invitation.DeliveryBounced, c.detail)
		last := s.deliveryPushes(s.adaConn)
		if m := last[len(last)-1]; m.Data["delivery"] != "bounced" || m.Data["detail"] != c.detail || m.Data["invitationId"] != inv.ID {
			t.Fatalf("push %+v, want bounced %s", m, c.detail)
		}
		// Progress after a bounce changes nothing.
		if got := s.ses(delivered(inv.MessageID, now.Add(5*time.Second))); got != delivery.Unchanged {
			t.Fatalf("delivery after a bounce: %s", got)
		}
		r := s.resend(inv.ID)
		if r.Status != 409 || r.ErrorCode() != "email_bounced" {
			t.Fatalf("resend of a bounced invitation: %d %s, want 409 email_bounced", r.Status, r.Body)
		}
	}
}

func (s *scene) resend(id string) apitest.Response {
	return s.api.Do(apitest.Request{Function: "ResendInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/{invitationId}/resend",
		Params: map[string]string{"id": s.conversationID, "invitationId": id}, Authorization: s.ada})
}

func TestComplaint_TheLatestVerdictWins_AndResendIsRefused(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	inv := s.invite()
	t0 := time.Now()
	s.ses(bounced(inv.MessageID, t0.Add(2*time.Second), "Permanent", "General"))
	if got := s.ses(complained(inv.MessageID, t0.Add(time.Second))); got != delivery.Unchanged {
		t.Fatalf("a complaint older than the bounce: %s, want unchanged", got)
	}
	s.wantDelivery(inv.ID, invitation.DeliveryBounced, "Permanent/General")
	if got := s.ses(complained(inv.MessageID, t0.Add(3*time.Second))); got != delivery.Applied {
		t.Fatalf("a later complaint: %s, want applied", got)
	}
	s.wantDelivery(inv.ID, invitation.DeliveryComplained, "abuse")
	if r := s.resend(inv.ID); r.Status != 409 || r.ErrorCode() != "email_bounced" {
		t.Fatalf("resend after a complaint: %d %s", r.Status, r.Body)
	}
}

func TestReject_IsFailed_AndMayBeResent(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	inv := s.invite()
	if got := s.ses(rejected(inv.MessageID, time.Now())); got != delivery.Applied {
		t.Fatalf("reject: %s", got)
	}
	s.wantDelivery(inv.ID, invitation.DeliveryFailed, "Bad content")
	r := s.resend(inv.ID)
	if r.Status != 200 {
		t.Fatalf("resend after a reject: %d %s", r.Status, r.Body)
	}
	again := s.stored(inv.ID)
	if again.Delivery != invitation.DeliverySent || again.MessageID == inv.MessageID || again.DeliveryDetail != "" {
		t.Fatalf("after the resend: %q (%q), MessageId %q; want sent with a new MessageId", again.Delivery, again.DeliveryDetail, again.MessageID)
	}
	// The first email's news is stale now, unless it is about the address.
	if got := s.ses(delivered(inv.MessageID, time.Now())); got != delivery.Unchanged {
		t.Fatalf("the first email's delivery after a resend: %s, want unchanged", got)
	}
	if got := s.ses(bounced(inv.MessageID, time.Now(), "Permanent", "NoEmail")); got != delivery.Applied {
		t.Fatalf("the first email's bounce after a resend: %s, want applied (same address)", got)
	}
}

// failingMailer stands for SES refusing SendEmail.
type failingMailer struct{}

func (failingMailer) Send(context.Context, string, mail.Message) (string, error) {
	return "", &smithy.GenericAPIError{Code: "MessageRejected", Message: "Email address is not verified: carl@example.com"}
}

func TestSendEmailRefused_IsFailedWithSESsCode(t *testing.T) {
	t.Parallel()
	s := newScene(t, func(o *setup.Overrides) { o.Mailer = failingMailer{} })
	r := s.api.Do(apitest.Request{Function: "CreateEmailInvitationFunction", Method: "POST", Route: "/conversations/{id}/invitations/email",
		Params: s.onConv(), Authorization: s.ada, Body: map[string]any{"email": "carl@example.com"}})
	if r.Status != 502 || r.ErrorCode() != "email_not_sent" {
		t.Fatalf("%d %s, want 502 email_not_sent", r.Status, r.Body)
	}
	var l invitations.Listed
	s.api.Do(apitest.Request{Function: "ListInvitationsFunction", Method: "GET", Route: "/conversations/{id}/invitations",
		Params: s.onConv(), Authorization: s.ada}).Decode(t, &l)
	var inv invitation.Invitation
	for _, i := range l.Invitations {
		if i.Kind == invitation.KindEmail {
			inv = i
		}
	}
	if inv.Status != invitation.StatusFailed || inv.Delivery != invitation.DeliveryFailed || inv.DeliveryDetail != "MessageRejected" {
		t.Fatalf("invitation %s, delivery %q (%q); want failed, failed (MessageRejected)", inv.Status, inv.Delivery, inv.DeliveryDetail)
	}
	pushes := s.deliveryPushes(s.adaConn)
	if len(pushes) != 1 || pushes[0].Data["delivery"] != "failed" || pushes[0].Data["detail"] != "MessageRejected" {
		t.Fatalf("pushes %+v, want failed (MessageRejected)", pushes)
	}
}

func TestRecords_MalformedUnknownAndUntracked(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	inv := s.invite()
	for name, rec := range map[string]string{
		"not JSON":           `Delivery of carl`,
		"an array":           `[]`,
		"null":               `null`,
		"no eventType":       `{"mail":{"messageId":"x"}}`,
		"no mail":            `{"eventType":"Delivery"}`,
		"no messageId":       `{"eventType":"Delivery","mail":{"timestamp":"2026-12-01T10:00:00.000Z"}}`,
		"messageId a number": `{"eventType":"Delivery","mail":{"messageId":42}}`,
		"bounce a string":    `{"eventType":"Bounce","mail":{"messageId":"x"},"bounce":"Permanent"}`,
		"a bad timestamp":    `{"eventType":"Delivery","mail":{"messageId":"` + inv.MessageID + `","timestamp":"yesterday"}}`,
	} {
		if got := s.ses(rec); got != delivery.Malformed {
			t.Errorf("%s: outcome %s, want malformed", name, got)
		}
	}
	if got := s.ses(delivered("0100019a-unknown-000000", time.Now())); got != delivery.Unknown {
		t.Errorf("unknown message: %s", got)
	}
	for _, typ := range []string{"Open", "Click", "Subscription", "Rendering Failure"} {
		if got := s.ses(record(typ, inv.MessageID, time.Now(), nil)); got != delivery.Ignored {
			t.Errorf("%s: outcome %s, want ignored", typ, got)
		}
	}
	// A minimal record is well-formed: the time defaults to when it arrived.
	if got := s.ses(`{"eventType":"Delivery","mail":{"messageId":"` + inv.MessageID + `"}}`); got != delivery.Applied {
		t.Errorf("a minimal Delivery record: %s, want applied", got)
	}
	s.wantDelivery(inv.ID, invitation.DeliveryDelivered, "")
	if len(s.deliveryPushes(s.visitorConn)) != 0 {
		t.Error("the customer was pushed a delivery")
	}
}

// TestOutOfOrder_EveryOrderAndConcurrencyEndsTheSame: notifications arrive late, twice and
// out of order, and several at once; whatever the order, the recorded delivery is the same.
func TestOutOfOrder_EveryOrderAndConcurrencyEndsTheSame(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	rounds := 8
	if testing.Short() {
		rounds = 3
	}
	for round := range rounds {
		inv := s.invite()
		t0 := time.Now()
		records := []string{
			sendEvent(inv.MessageID, t0),
			delayed(inv.MessageID, t0.Add(time.Second), "TransientCommunicationFailure"),
			delivered(inv.MessageID, t0.Add(2*time.Second)),
			bounced(inv.MessageID, t0.Add(3*time.Second), "Transient", "General"),
			complained(inv.MessageID, t0.Add(4*time.Second)),
			bounced(inv.MessageID, t0.Add(5*time.Second), "Permanent", "General"),
		}
		records = append(records, records...) // every one twice
		rand.Shuffle(len(records), func(i, j int) { records[i], records[j] = records[j], records[i] })
		var wg sync.WaitGroup
		for _, rec := range records {
			wg.Go(func() {
				rep, err := s.api.SESEvent(rec)
				if err != nil || len(rep.Outcomes) != 1 || rep.Has(delivery.Malformed) {
					t.Errorf("round %d: %+v %v", round, rep, err)
				}
			})
		}
		wg.Wait()
		s.wantDelivery(inv.ID, invitation.DeliveryBounced, "Permanent/General")
	}
	// Every push was a change: no two pushes of one invitation say the same in a row.
	last := map[any]string{}
	for _, m := range s.deliveryPushes(s.adaConn) {
		said := fmt.Sprint(m.Data["delivery"], m.Data["detail"])
		if last[m.Data["invitationId"]] == said {
			t.Fatalf("pushed %s twice in a row for %v", said, m.Data["invitationId"])
		}
		last[m.Data["invitationId"]] = said
	}
}

// TestResendRacingABounce: a resend and a bounce of the same address at once end bounced,
// whichever came first; the resend is answered 200 or 409 email_bounced, nothing else.
func TestResendRacingABounce_EndsBounced(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	for range rounds {
		inv := s.invite()
		var status int
		var code string
		var wg sync.WaitGroup
		wg.Go(func() {
			r := s.resend(inv.ID)
			status, code = r.Status, r.ErrorCode()
		})
		wg.Go(func() { s.ses(bounced(inv.MessageID, time.Now(), "Permanent", "General")) })
		wg.Wait()
		if status != 200 && (status != 409 || code != "email_bounced") {
			t.Fatalf("resend answered %d %s", status, code)
		}
		s.wantDelivery(inv.ID, invitation.DeliveryBounced, "Permanent/General")
	}
}

func TestBounceAfterTheEnd_IsRecordedWithoutAnEvent(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	inv := s.invite()
	if r := s.api.Do(apitest.Request{Function: "EndConversationFunction", Method: "POST", Route: "/conversations/{id}/end",
		Params: s.onConv(), Authorization: s.ada}); r.Status != 204 {
		t.Fatalf("end: %d %s", r.Status, r.Body)
	}
	before := len(s.pushes(s.adaConn))
	if got := s.ses(bounced(inv.MessageID, time.Now(), "Permanent", "General")); got != delivery.Applied {
		t.Fatalf("bounce after the end: %s", got)
	}
	if got := s.stored(inv.ID); got.Delivery != invitation.DeliveryBounced {
		t.Fatalf("delivery %q, want bounced", got.Delivery)
	}
	if after := len(s.pushes(s.adaConn)); after != before {
		t.Fatalf("%d pushes after the end", after-before)
	}
	r := s.api.Do(apitest.Request{Function: "ListEventsFunction", Method: "GET", Route: "/conversations/{id}/events",
		Params: s.onConv(), Authorization: s.ada})
	var page conversations.HistoryPage
	r.Decode(t, &page)
	if n := len(page.Events); n == 0 || page.Events[n-1].Type != conversation.EventConversationEnded {
		t.Fatalf("history does not end with conversation.ended: %+v", page.Events[n-1])
	}
}

// TestNotification_FindsItsInvitationWithOneGetItem: a notification is matched by its
// MessageId with one GetItem, never a scan; applying it costs the invitation's read, the
// history head's and one transaction (the push function pushes it); a duplicate stops after the reads.
func TestNotification_FindsItsInvitationWithOneGetItem(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	inv := s.invite()
	for _, c := range []struct {
		name string
		want []string
	}{
		{"first", []string{"GetItem", "GetItem", "GetItem", "TransactWriteItems"}}, // the push function pushes it, from the stream
		{"duplicate", []string{"GetItem", "GetItem"}},
	} {
		ctx, counter := roundtrips.Start(context.Background())
		if _, err := s.api.SESEventContext(ctx, delivered(inv.MessageID, time.Unix(1_800_000_000, 0))); err != nil {
			t.Fatal(err)
		}
		if got := counter.Operations(); !slices.Equal(got, c.want) {
			t.Errorf("%s notification: %v, want %v", c.name, got, c.want)
		}
		t.Logf("%s notification: %d DynamoDB calls, %d sequential: %v", c.name, counter.Calls(), counter.Sequential(), counter.Operations())
	}
	if strings.Contains(s.api.Logs.String(), inv.Email) {
		t.Error("an address reached the log")
	}
}
