package invitations_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/ratelimit"
)

func TestInvitations_OnlyAnAgentParticipantMayCreateListRevokeOrResend(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Access", "")
	pin := e.createPIN("anna", conv)
	j, err := redeemPIN(t, e.svc, pin.PIN, ip(1))
	e.mustJoin(j, err, conv)
	target := e.createPIN("anna", conv).InvitationID

	actions := map[string]func(p auth.Principal) error{
		"create PIN": func(p auth.Principal) error {
			_, err := e.svc.CreatePIN(t.Context(), p, conv, invitations.PINRequest{})
			return err
		},
		"create email": func(p auth.Principal) error {
			_, err := e.svc.CreateEmail(t.Context(), p, conv, invitations.EmailRequest{Email: address(t)})
			return err
		},
		"list":   func(p auth.Principal) error { _, err := e.svc.List(t.Context(), p, conv); return err },
		"revoke": func(p auth.Principal) error { _, err := e.svc.Revoke(t.Context(), p, conv, target); return err },
		"resend": func(p auth.Principal) error { _, err := e.svc.Resend(t.Context(), p, conv, target); return err },
	}
	callers := []struct {
		name string
		p    auth.Principal
		kind apperror.Kind
	}{
		{"the customer in the conversation", visitor(j), apperror.KindForbidden},
		{"an agent who is not a participant", agent("bob"), apperror.KindForbidden},
		{"anonymous", anonymous, apperror.KindUnauthenticated},
		{"an agent whose token failed", auth.Principal{Kind: auth.Agent, AuthError: "token_expired"}, apperror.KindUnauthenticated},
	}
	for name, act := range actions {
		for _, c := range callers {
			if err := act(c.p); apperror.As(err).Kind != c.kind {
				t.Errorf("%s by %s: %v, want kind %v", name, c.name, err, c.kind)
			}
		}
	}
	if e.mailer.sends.Load() != 0 {
		t.Fatal("a refused caller sent mail")
	}
	// Nothing changed: the target is still pending and the agent participant can revoke it.
	if _, err := e.svc.Revoke(t.Context(), agent("anna"), conv, target); err != nil {
		t.Fatalf("the agent participant: %v", err)
	}
}

func TestInvitations_AnInvitationOfAnotherConversationIsNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mine := e.startConversation("anna", "Mine", "")
	other := e.startConversation("anna", "Other", "")
	inv := e.createPIN("anna", other)
	_, err := e.svc.Revoke(t.Context(), agent("anna"), mine, inv.InvitationID)
	wantCode(t, err, "invitation_not_found")
	_, err = e.svc.Resend(t.Context(), agent("anna"), mine, inv.InvitationID)
	wantCode(t, err, "invitation_not_found")
}

func TestInvitations_NoneInAnEndedConversation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Over", "")
	if err := e.convs.End(t.Context(), agent("anna"), conv); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.CreatePIN(t.Context(), agent("anna"), conv, invitations.PINRequest{})
	wantCode(t, err, "conversation_ended")
	_, err = e.svc.CreateEmail(t.Context(), agent("anna"), conv, invitations.EmailRequest{Email: address(t)})
	wantCode(t, err, "conversation_ended")
}

func TestList_StatusesAsOfNowOldestFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Listing", "")
	redeemed := e.createPIN("anna", conv)
	time.Sleep(2 * time.Millisecond)
	revoked := e.createPIN("anna", conv)
	time.Sleep(2 * time.Millisecond)
	to := address(t)
	emailed := e.createEmail("anna", conv, invitations.EmailRequest{Email: to, Name: "Carl", Note: "for agents only"})
	j, err := redeemPIN(t, e.svc, redeemed.PIN, ip(1))
	e.mustJoin(j, err, conv)
	if _, err := e.svc.Revoke(t.Context(), agent("anna"), conv, revoked.InvitationID); err != nil {
		t.Fatal(err)
	}

	list, err := e.svc.List(t.Context(), agent("anna"), conv)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id     string
		status invitation.Status
	}{{redeemed.InvitationID, invitation.StatusRedeemed}, {revoked.InvitationID, invitation.StatusRevoked}, {emailed.InvitationID, invitation.StatusPending}}
	if len(list.Invitations) != len(want) {
		t.Fatalf("listed %d, want %d", len(list.Invitations), len(want))
	}
	for i, w := range want {
		got := list.Invitations[i]
		if got.ID != w.id || got.Status != w.status {
			t.Errorf("#%d: %s %s, want %s %s", i, got.ID, got.Status, w.id, w.status)
		}
		if got.SecretHash != "" && got.Status != invitation.StatusPending {
			t.Errorf("#%d keeps a secret after it ended", i)
		}
	}
	if list.Invitations[2].Email != to || list.Invitations[2].Note != "for agents only" {
		t.Errorf("the agents' list lacks the address or note: %+v", list.Invitations[2])
	}
	if list.Invitations[0].ResolvedBy != j.ParticipantID {
		t.Errorf("redeemed by %q, want the new participant %q", list.Invitations[0].ResolvedBy, j.ParticipantID)
	}

	// GET /conversations/{id} shows agents what is still pending now.
	open, err := e.svc.Store.Conversation(t.Context(), conv)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := e.svc.PendingInvitations(t.Context(), open)
	if err != nil || len(pending) != 1 || pending[0].(invitation.Invitation).ID != emailed.InvitationID {
		t.Fatalf("pending = %v, %v", pending, err)
	}
	later, err := e.after(25*time.Hour).PendingInvitations(t.Context(), open)
	if err != nil || len(later) != 0 {
		t.Fatalf("pending a day later = %v, %v", later, err)
	}
}

func TestRedeem_BadCredentialsAreRefusedNotTreatedAsAnonymous(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Creds", "")
	pin := e.createPIN("anna", conv)
	_, err := e.svc.RedeemPIN(t.Context(), auth.Principal{Kind: auth.Visitor, AuthError: "session_invalid"}, ip(1), invitations.RedeemPINRequest{PIN: pin.PIN})
	if apperror.As(err).Kind != apperror.KindUnauthenticated {
		t.Fatalf("err = %v, want 401", err)
	}
}

// README, "Why PINs cannot be guessed": with the defaults, an attacker needs more than 200
// client addresses within one PIN lifetime before their chance to hit any of 1,000 live PINs
// passes 0.1%, and a customer who mistypes gets at least 5 tries.
func TestDefaults_GuessingAnyOfAThousandLivePINsNeedsHundredsOfAddresses(t *testing.T) {
	c := invitations.DefaultConfig()
	failures, bound := invitations.GuessingBound(c, 1000, 0)
	if failures != 11*8*6 {
		t.Errorf("budgeted failures per PIN lifetime = %d, want 11 windows × 8 shards × 6 = 528", failures)
	}
	addresses := invitations.AddressesForChance(c, 1000, 0.001)
	if addresses < 200 {
		t.Fatalf("%d addresses pass 0.1%% (bound without them %.4f%%)", addresses, bound*100)
	}
	// The exact chance for independent guesses is below the bound.
	f, p := invitations.GuessingBound(c, 1000, addresses-1)
	exact := 1 - math.Pow(1-1000/math.Pow10(c.PINLength), float64(f))
	if exact > p || p > 0.001 {
		t.Fatalf("with %d addresses: exact %.6f%%, bound %.6f%%", addresses-1, exact*100, p*100)
	}
	tries, wait := invitations.CustomerTries(c)
	if tries < 5 || wait > 10*time.Minute {
		t.Fatalf("a customer gets %d tries and waits up to %s", tries, wait)
	}
	t.Logf("defaults: %d budgeted failures per PIN lifetime; %d addresses pass 0.1%%", failures, addresses)
}

func TestGuessingBound_EachAddressAddsItsFreeAttempts(t *testing.T) {
	c := invitations.DefaultConfig()
	base, _ := invitations.GuessingBound(c, 1000, 0)
	more, _ := invitations.GuessingBound(c, 1000, 100)
	if more-base != 200 { // a 10-minute lifetime touches two 10-minute client windows
		t.Fatalf("100 addresses add %d failures, want 200", more-base)
	}
	c.PINLength = 8
	if n := invitations.AddressesForChance(c, 1000, 0.001); n != 0 {
		t.Fatalf("8 digits with the default limits pass 0.1%% only from %d addresses; expected at once", n)
	}
}

// failingLimiter stands for a table that cannot be reached.
type failingLimiter struct{}

func (failingLimiter) Take(context.Context, ratelimit.Rule, string) (ratelimit.Slot, error) {
	return ratelimit.Slot{}, context.DeadlineExceeded
}
func (failingLimiter) Refund(context.Context, ratelimit.Slot) error { return nil }
func (failingLimiter) TakeShare(context.Context, ratelimit.Rule) (ratelimit.Slot, error) {
	return ratelimit.Slot{}, context.DeadlineExceeded
}

// Window reads nothing, so it cannot fail: a write that counts in it fails instead.
func (failingLimiter) Window(r ratelimit.Rule, subject string) ratelimit.Window {
	return ratelimit.Window{Counter: r.Name + "#" + subject, Limit: r.Limit}
}

func TestRedeem_WhenCountingFails_NothingIsTried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Down", "")
	pin := e.createPIN("anna", conv)
	broken := *e.svc
	broken.Limiter = failingLimiter{}
	_, err := redeemPIN(t, &broken, pin.PIN, ip(1))
	if apperror.As(err).Kind != apperror.KindInternal {
		t.Fatalf("err = %v, want 500", err)
	}
	j, err := redeemPIN(t, e.svc, pin.PIN, ip(1))
	e.mustJoin(j, err, conv) // the PIN was not used up
}
