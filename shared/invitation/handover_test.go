package invitation_test

import (
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

func teamForward() invitation.Offer {
	return invitation.NewForward("conv_1", "ada", invitation.Target{Kind: invitation.TargetTeam, ID: "billing"}, "secret note", t0, 10*time.Minute)
}

func TestOffer_OnlyTheInvitedAnswer(t *testing.T) {
	f := teamForward()
	if err := f.CheckAnswerer("grace", true); err != nil {
		t.Fatalf("a member: %v", err)
	}
	if err := f.CheckAnswerer("linus", false); !apperror.Is(err, "not_invited") {
		t.Fatalf("a non-member: %v", err)
	}
	if err := f.CheckAnswerer("ada", true); !apperror.Is(err, "own_forward") {
		t.Fatalf("the forwarder in the target team: %v", err)
	}
	inv := invitation.NewAgentInvitation("conv_1", "ada", invitation.Target{Kind: invitation.TargetAgent, ID: "mia"}, "", t0, time.Hour)
	if err := inv.CheckAnswerer("mia", false); err != nil || inv.CheckAnswerer("grace", true) == nil {
		t.Fatal("an agent invitation is answered by that agent alone")
	}
}

func TestOffer_TeamDeclineIsFinalOnceEveryMemberDeclined(t *testing.T) {
	f := teamForward()
	members := []string{"grace", "mia"}
	if f.DeclineIsFinal("grace", members) {
		t.Fatal("the first of two members ended it")
	}
	f.DeclinedBy = []string{"grace"}
	if !f.DeclineIsFinal("mia", members) {
		t.Fatal("the last member did not end it")
	}
	if f.InInboxOf("grace", t0) || !f.InInboxOf("mia", t0) || f.InInboxOf("ada", t0) {
		t.Fatal("the inbox must hide it from decliners and from the forwarder")
	}
}

// An offer of a conversation nobody holds cannot be declined (nobody would be left), and
// waits only as long as a customer should: then the conversation ends as unanswered. A
// returned forward waits for its forwarder without end.
func TestOffer_AnOfferOfAConversationNobodyHoldsCannotBeDeclinedAndEnds(t *testing.T) {
	in := invitation.NewIncomingOffer("conv_1", "support", t0, 30*time.Minute)
	if err := in.CheckDeclinable("grace", t0); !apperror.Is(err, "offer_not_declinable") {
		t.Fatalf("incoming: %v", err)
	}
	if !in.Pending(t0.Add(29*time.Minute)) || in.Pending(t0.Add(30*time.Minute)) {
		t.Fatal("an incoming offer must wait 30 minutes, no more")
	}
	ret := invitation.NewReturn(teamForward(), invitation.ReturnedDeclined, "busy", t0)
	if ret.TargetAgentID != "ada" || ret.Message != "secret note" || ret.CheckDeclinable("ada", t0) == nil || !ret.ExpiresAt.IsZero() {
		t.Fatalf("return: %+v", ret)
	}
}

func TestOffer_AnswersAfterTheEnd(t *testing.T) {
	f := teamForward()
	if err := f.CheckPending(t0.Add(10 * time.Minute)); !apperror.Is(err, "invitation_expired") || apperror.As(err).Kind != apperror.KindGone {
		t.Fatalf("at the deadline: %v", err)
	}
	f.Status = invitation.StatusAccepted
	if err := f.CheckPending(t0); !apperror.Is(err, "invitation_taken") {
		t.Fatalf("accepted: %v", err)
	}
	f.Status = invitation.StatusRevoked
	if err := f.CheckPending(t0); !apperror.Is(err, "invitation_not_pending") {
		t.Fatalf("revoked: %v", err)
	}
}

func TestOfferEvents_TheMessageIsForAgentsOnly(t *testing.T) {
	f := teamForward()
	notice := invitation.ForwardNotice("conv_1", "agent_ada", "Billing", invitation.TargetTeam, t0)
	if notice.Audience != conversation.AudienceEveryone || len(notice.Data) != 2 || notice.Data["to"] != "Billing" {
		t.Fatalf("notice: %+v", notice)
	}
	for _, e := range []conversation.Event{
		invitation.OfferedEvent(f, "agent_ada", t0),
		invitation.AcceptedEvent(f, "mia", "agent_mia", t0),
		invitation.DeclinedEvent(f, "mia", "busy", false, t0),
		invitation.TakenEvent(f, "mia", t0),
		invitation.ExpiredEvent(f.Invitation, t0),
	} {
		if e.Audience != conversation.AudienceAgents {
			t.Errorf("%s is for %s", e.Type, e.Audience)
		}
	}
}
