package handover_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

func TestVisitorStart_OfferedToTheTeam_FirstAcceptWins(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	members := []string{"ada", "grace", "linus"}
	w.connect(members...)
	s, resp := w.startAsVisitor("support")
	if resp.Status != 201 {
		t.Fatalf("start: %d %s", resp.Status, resp.Body)
	}
	var offerID string
	for _, m := range members {
		in := w.inbox(m)
		if len(in) != 1 || in[0].ConversationID != s.ConversationID || in[0].Purpose != invitation.PurposeIncoming ||
			in[0].InvitedBy != nil || in[0].To.Name != "Support" || in[0].Topic != "Help!" {
			t.Fatalf("%s's inbox: %s", m, mustJSON(t, in))
		}
		offerID = in[0].InvitationID
		if got := w.pushed("ws-"+m, conversation.EventInvitationCreated); len(got) != 1 {
			t.Fatalf("%s was not pushed the offer: %+v", m, w.pushes("ws-"+m))
		}
	}
	w.neverOrphaned(s.ConversationID)
	if r := w.decline(offerID, "grace", ""); r.Status != 409 || r.ErrorCode() != "offer_not_declinable" {
		t.Fatalf("declining a new conversation: %d %s", r.Status, r.Body)
	}

	resps := concurrently(
		func() apitest.Response { return w.accept(offerID, "ada") },
		func() apitest.Response { return w.accept(offerID, "grace") },
		func() apitest.Response { return w.accept(offerID, "linus") },
	)
	if got := statuses(resps); got[200] != 1 || got[409] != 2 {
		t.Fatalf("three accepts: %v", got)
	}
	var winner string
	for i, r := range resps {
		if r.Status == 200 {
			winner = members[i]
		}
	}
	if v := w.view(s.ConversationID, w.bearer(winner)); v.Assignee != winner || len(v.Participants) != 2 {
		t.Fatalf("after the accept: %s", mustJSON(t, v))
	}
	for _, m := range members {
		if len(w.inbox(m)) != 0 {
			t.Errorf("%s still has the conversation in the inbox", m)
		}
	}
	w.neverOrphaned(s.ConversationID)
}

func TestVisitorStart_UnknownTeamIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	before := itemCount(t, w)
	_, resp := w.startAsVisitor("nemo")
	if resp.Status != 404 || resp.ErrorCode() != "team_not_found" {
		t.Fatalf("start with an unknown team: %d %s", resp.Status, resp.Body)
	}
	if after := itemCount(t, w); after != before {
		t.Fatalf("the refused start wrote %d items", after-before)
	}
}

func TestVisitorStart_WithoutTeamGoesToTheDefaultTeam(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	s, resp := w.startAsVisitor("")
	if resp.Status != 201 {
		t.Fatalf("start: %d %s", resp.Status, resp.Body)
	}
	if in := w.inbox("linus"); len(in) != 1 || in[0].ConversationID != s.ConversationID || in[0].To.ID != "support" {
		t.Fatalf("the default team's inbox: %s", mustJSON(t, in))
	}
}

func TestLeave_TheAssigneeLeavingHandsTheConversationToItsTeam(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	s, _ := w.startAsVisitor("billing")
	in := w.inbox("mia")
	if r := w.accept(in[0].InvitationID, "mia"); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	if r := w.leave(s.ConversationID, w.bearer("mia")); r.Status != 204 {
		t.Fatalf("leave: %d %s", r.Status, r.Body)
	}
	w.neverOrphaned(s.ConversationID)
	if in := w.inbox("grace"); len(in) != 1 || in[0].ConversationID != s.ConversationID || in[0].Purpose != invitation.PurposeIncoming {
		t.Fatalf("the team's inbox after the assignee left: %s", mustJSON(t, in))
	}
}

func TestLeave_TheAssigneeLeavingWhileAForwardIsPending_ItWaitsInTheTargetsInbox(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.connect("ada")
	convID, _, _ := w.startAsAgent("ada")
	f := w.mustForward(convID, "ada", "agent", "grace", "")
	if r := w.leave(convID, w.bearer("ada")); r.Status != 204 {
		t.Fatalf("leave: %d %s", r.Status, r.Body)
	}
	st := w.state(convID)
	if st.Conversation.Assignee != "" || st.PendingForward != f.ID || !inboxHas(w.inbox("grace"), f.ID) {
		t.Fatalf("after the forwarder left: %+v", st)
	}
	// Nobody holds it now, so a decline returns it to the forwarder's inbox.
	if r := w.decline(f.ID, "grace", "no"); r.Status != 204 {
		t.Fatalf("decline: %d %s", r.Status, r.Body)
	}
	w.neverOrphaned(convID)
	if in := w.inbox("ada"); len(in) != 1 || in[0].Purpose != invitation.PurposeReturn {
		t.Fatalf("the forwarder's inbox: %s", mustJSON(t, in))
	}
}

func TestRevoke_AForwardIsRevocableWhileTheForwarderHoldsTheConversation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	convID, _, _ := w.startAsAgent("ada")
	f := w.mustForward(convID, "ada", "agent", "grace", "")
	if r := w.revoke(convID, f.ID, "ada"); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	st := w.state(convID)
	if o := w.offer(f.ID); o.Status != invitation.StatusRevoked || st.PendingForward != "" || st.Conversation.Assignee != "ada" {
		t.Fatalf("after the revoke: %s, %+v", o.Status, st)
	}
	if len(w.inbox("grace")) != 0 {
		t.Fatal("a revoked forward is still in the inbox")
	}
	if r := w.accept(f.ID, "grace"); r.Status != 409 {
		t.Fatalf("accept after the revoke: %d %s", r.Status, r.Body)
	}
}

func TestRevoke_AForwardOfAConversationNobodyHoldsIsNotRevocable(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeImmediate)
	convID, _, _ := w.startAsAgent("ada")
	var helper invitation.Offer
	w.inviteAgent(convID, "ada", "linus", "").Decode(t, &helper)
	if r := w.accept(helper.ID, "linus"); r.Status != 200 {
		t.Fatal(r.Status)
	}
	f := w.mustForward(convID, "ada", "agent", "grace", "")
	if r := w.revoke(convID, f.ID, "linus"); r.Status != 409 {
		t.Fatalf("revoking the only offer of an unheld conversation: %d %s", r.Status, r.Body)
	}
	w.neverOrphaned(convID)
	if o := w.offer(f.ID); o.Status != invitation.StatusPending {
		t.Fatalf("the forward: %s", o.Status)
	}
}

// itemCount counts the table's items (a scan is fine in a test, never in the product).
// itemCount counts the table's items but the remembered answers of Idempotency-Keys (a refusal
// is one: the same request would be refused again).
func itemCount(t *testing.T, w *world) int32 {
	t.Helper()
	out, err := testenv.DynamoDB(t).Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(w.st.Table()), Select: "COUNT",
		FilterExpression:          aws.String("NOT begins_with(pk, :key)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":key": &types.AttributeValueMemberS{Value: "IDEM#"}}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Count
}

func TestRevoke_TheInvitedTeamIsToldAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept)
	w.team("billing", "Billing", "grace", "linus")
	w.connect("grace", "linus")
	convID, _, _ := w.startAsAgent("ada")
	r := w.inviteTeam(convID, "ada", "billing", "can someone help with a refund?")
	if r.Status != 201 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	var inv invitation.Offer
	r.Decode(t, &inv)
	if rv := w.revoke(convID, inv.ID, "ada"); rv.Status != 200 {
		t.Fatalf("revoke: %d %s", rv.Status, rv.Body)
	}
	for _, member := range []string{"grace", "linus"} {
		if len(w.pushed("ws-"+member, conversation.EventInvitationRevoked)) != 1 {
			t.Errorf("%s, invited through the team, was not pushed invitation.revoked", member)
		}
	}
}
