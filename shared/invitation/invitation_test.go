package invitation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func pinInvitation() invitation.Invitation {
	return invitation.Invitation{
		ID: "inv_1", ConversationID: "conv_1", Kind: invitation.KindPIN, Status: invitation.StatusPending,
		CreatedBy: "anna", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute), SecretHash: "h1",
	}
}

func TestInvitation_PendingPastExpiryIsExpiredAtReadTime(t *testing.T) {
	inv := pinInvitation()
	if got := inv.EffectiveStatus(t0.Add(10*time.Minute - time.Nanosecond)); got != invitation.StatusPending {
		t.Fatalf("just before expiry: %s, want pending", got)
	}
	if got := inv.EffectiveStatus(t0.Add(10 * time.Minute)); got != invitation.StatusExpired {
		t.Fatalf("at expiry: %s, want expired", got)
	}
	if inv.AsOf(t0.Add(time.Hour)).Status != invitation.StatusExpired {
		t.Fatal("AsOf does not show the effective status")
	}
}

func TestInvitation_CannotOutliveItsConversation(t *testing.T) {
	inv := pinInvitation()
	if got := inv.AsSeen(t0, false).Status; got != invitation.StatusRevoked {
		t.Fatalf("pending in an ended conversation reads as %s, want revoked", got)
	}
	if got := inv.AsSeen(t0, true).Status; got != invitation.StatusPending {
		t.Fatalf("pending in an open conversation reads as %s", got)
	}
	inv.Status = invitation.StatusRedeemed
	if got := inv.AsSeen(t0, false).Status; got != invitation.StatusRedeemed {
		t.Fatalf("redeemed in an ended conversation reads as %s", got)
	}
}

func TestInvitation_FinalStatesDoNotExpire(t *testing.T) {
	for _, s := range []invitation.Status{invitation.StatusRedeemed, invitation.StatusRevoked, invitation.StatusFailed, invitation.StatusAccepted} {
		inv := pinInvitation()
		inv.Status = s
		if got := inv.EffectiveStatus(t0.Add(time.Hour)); got != s {
			t.Errorf("%s after expiry reads as %s", s, got)
		}
	}
}

func TestInvitation_WithoutExpiryNeverExpires(t *testing.T) {
	inv := pinInvitation()
	inv.Kind, inv.ExpiresAt = invitation.KindAgent, time.Time{}
	if !inv.Pending(t0.Add(365 * 24 * time.Hour)) {
		t.Fatal("an invitation without expiry expired")
	}
}

func TestInvitation_RevocableOnlyWhilePending(t *testing.T) {
	inv := pinInvitation()
	if err := inv.CheckRevocable(t0); err != nil {
		t.Fatalf("pending: %v", err)
	}
	if err := inv.CheckRevocable(t0.Add(11 * time.Minute)); !apperror.Is(err, "invitation_not_pending") {
		t.Fatalf("expired: %v, want invitation_not_pending", err)
	}
	inv.Status = invitation.StatusRedeemed
	err := inv.CheckRevocable(t0)
	if !apperror.Is(err, "invitation_not_pending") || apperror.As(err).Kind != apperror.KindConflict {
		t.Fatalf("redeemed: %v, want 409 invitation_not_pending", err)
	}
}

func TestInvitation_RenewableWhenPendingExpiredOrFailed_NotWhenRedeemedOrRevoked(t *testing.T) {
	cases := []struct {
		status invitation.Status
		at     time.Time
		ok     bool
	}{
		{invitation.StatusPending, t0, true},
		{invitation.StatusPending, t0.Add(time.Hour), true}, // expired
		{invitation.StatusExpired, t0, true},
		{invitation.StatusFailed, t0, true},
		{invitation.StatusRedeemed, t0, false},
		{invitation.StatusRevoked, t0, false},
	}
	for _, c := range cases {
		inv := pinInvitation()
		inv.Status = c.status
		if err := inv.CheckRenewable(c.at); (err == nil) != c.ok {
			t.Errorf("%s at %s: %v, want ok=%v", c.status, c.at, err, c.ok)
		}
	}
	agent := pinInvitation()
	agent.Kind = invitation.KindAgent
	if err := agent.CheckRenewable(t0); !apperror.Is(err, "invitation_not_resendable") {
		t.Errorf("agent invitation: %v, want invitation_not_resendable", err)
	}
}

func TestInvitation_RenewedIsPendingUnderTheNewSecret(t *testing.T) {
	inv := pinInvitation()
	inv.Kind, inv.Status, inv.Reason, inv.ResolvedAt, inv.SendCount = invitation.KindEmail, invitation.StatusFailed, "email_not_sent", t0, 1
	later := t0.Add(time.Hour)
	r := inv.Renewed("h2", later, later.Add(24*time.Hour))
	if r.Status != invitation.StatusPending || r.SecretHash != "h2" || !r.ExpiresAt.Equal(later.Add(24*time.Hour)) {
		t.Fatalf("renewed = %+v", r)
	}
	if r.Reason != "" || !r.ResolvedAt.IsZero() || r.SendCount != 2 || !r.LastSentAt.Equal(later) {
		t.Fatalf("renewed keeps its old end or does not count the send: %+v", r)
	}
}

func TestValidUntil_IsWholeSeconds(t *testing.T) {
	got := invitation.ValidUntil(t0.Add(1500*time.Millisecond), 10*time.Minute)
	if !got.Equal(t0.Add(10*time.Minute + time.Second)) {
		t.Fatalf("ValidUntil = %s", got)
	}
}

func TestEvents_SecretsAndAddressesOnlyForAgents(t *testing.T) {
	inv := pinInvitation()
	inv.Kind, inv.Email, inv.Note = invitation.KindEmail, "carl@example.com", "hello"
	p := conversation.Participant{ID: "vis_1", Kind: conversation.KindVisitor, DisplayName: "Carl"}
	events := []conversation.Event{
		invitation.CreatedEvent(inv, "agent_anna", t0),
		invitation.ResentEvent(inv, "agent_anna", t0),
		invitation.RevokedEvent(inv, "agent_anna", "", t0),
		invitation.FailedEvent(inv, "agent_anna", "email_not_sent", t0),
	}
	events = append(events, invitation.RedeemedEvents(inv, p, t0)...)
	for _, e := range events {
		mentionsInvitation := strings.Contains(e.Type, "invitation") || e.Data["invitationId"] != nil ||
			e.Data["email"] != nil || e.Data["note"] != nil
		if mentionsInvitation && e.Audience != conversation.AudienceAgents {
			t.Errorf("%s tells visitors about the invitation: %+v", e.Type, e)
		}
		for _, v := range e.Data {
			if v == inv.SecretHash {
				t.Errorf("%s carries the secret's hash", e.Type)
			}
		}
	}
	joined := events[4]
	if joined.Type != conversation.EventParticipantJoined || joined.Audience != conversation.AudienceEveryone || joined.Data["displayName"] != "Carl" {
		t.Fatalf("visitors do not see a neutral participant.joined: %+v", joined)
	}
}
