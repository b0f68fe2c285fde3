package invitations_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/ratelimit"
)

func TestPINInvitation_DigitsOnlyExpiringWithinTenMinutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Billing", "")
	out := e.createPIN("anna", conv)
	if len(out.PIN) != invitation.DefaultPINLength || strings.Trim(out.PIN, "0123456789") != "" {
		t.Fatalf("pin = %q", out.PIN)
	}
	if left := time.Until(out.ExpiresAt); left > 10*time.Minute || left < 9*time.Minute {
		t.Fatalf("expires in %s", left)
	}
	inv, err := e.st.Invitation(t.Context(), out.InvitationID)
	if err != nil {
		t.Fatal(err)
	}
	// Stored only under the keyed hash: not the PIN, not its plain SHA-256.
	if inv.SecretHash == "" || strings.Contains(inv.SecretHash, out.PIN) || inv.SecretHash == ids.Hash(out.PIN) {
		t.Fatalf("secret hash %q", inv.SecretHash)
	}
	if inv.SecretHash != e.svc.PINKey.Hash(out.PIN) {
		t.Fatal("the PIN is not stored under its HMAC")
	}
}

func TestPINRedemption_HundredConcurrentRedemptionsOfOnePIN_ExactlyOneJoins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *invitations.Config) { c.Limits.PINFailuresEverywhere.Limit = 1000 })
	conv := e.startConversation("anna", "Race", "")
	pin := e.createPIN("anna", conv).PIN

	const n = 100
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = redeemPIN(t, e.svc, pin, ip(i)) })
	}
	wg.Wait()

	joined := 0
	for _, err := range errs {
		switch {
		case err == nil:
			joined++
		case !apperror.Is(err, "pin_invalid"):
			t.Errorf("a refused redemption got %v, want pin_invalid", err)
		}
	}
	if joined != 1 {
		t.Fatalf("%d of %d concurrent redemptions joined, want exactly 1", joined, n)
	}
	parts, err := e.st.Participants(t.Context(), conv)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 {
		t.Fatalf("%d participants, want the agent and one customer", len(parts))
	}
}

func TestPINRedemption_ExpiredButStillStoredIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Late", "")
	out := e.createPIN("anna", conv)

	// Past its expiry the PIN item is still in the table (TTL deletes days later).
	_, err := redeemPIN(t, e.after(10*time.Minute+time.Second), out.PIN, ip(1))
	wantCode(t, err, "pin_invalid")

	list, err := e.after(10*time.Minute+time.Second).List(t.Context(), agent("anna"), conv)
	if err != nil {
		t.Fatal(err)
	}
	if list.Invitations[0].Status != invitation.StatusExpired {
		t.Fatalf("listed as %s after expiry, want expired", list.Invitations[0].Status)
	}
	// The refused attempt changed nothing: in time, the PIN works.
	j, err := redeemPIN(t, e.svc, out.PIN, ip(2))
	e.mustJoin(j, err, conv)
}

func TestPINRedemption_UnknownExpiredUsedAndRevokedPINsGetTheSameAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Oracle", "")
	used := e.createPIN("anna", conv)
	j, err := redeemPIN(t, e.svc, used.PIN, ip(1))
	e.mustJoin(j, err, conv)
	revoked := e.createPIN("anna", conv)
	if _, err := e.svc.Revoke(t.Context(), agent("anna"), conv, revoked.InvitationID); err != nil {
		t.Fatal(err)
	}
	expired := e.createPIN("anna", conv)

	answers := map[string]error{}
	_, answers["unknown"] = redeemPIN(t, e.svc, wrongPIN(wrongPIN(used.PIN)), ip(2))
	_, answers["mistyped"] = redeemPIN(t, e.svc, wrongPIN(expired.PIN), ip(3)) // a typo of the right shape
	_, answers["used"] = redeemPIN(t, e.svc, used.PIN, ip(4))
	_, answers["revoked"] = redeemPIN(t, e.svc, revoked.PIN, ip(5))
	_, answers["expired"] = redeemPIN(t, e.after(11*time.Minute), expired.PIN, ip(6))

	want := apperror.As(answers["unknown"])
	if want.Code != "pin_invalid" || want.Kind != apperror.KindInvalid {
		t.Fatalf("unknown PIN: %v, want 400 pin_invalid", answers["unknown"])
	}
	for name, err := range answers {
		got := apperror.As(err)
		if got.Code != want.Code || got.Kind != want.Kind || got.Message != want.Message {
			t.Errorf("%s PIN answered %v, unknown PIN %v: an oracle", name, err, answers["unknown"])
		}
	}
}

func TestPINRedemption_OverThePerIPLimit_429EvenForTheRightPIN(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *invitations.Config) { c.Limits.PINFailuresPerIP.Limit = 5 })
	conv := e.startConversation("anna", "Typos", "")
	pin := e.createPIN("anna", conv).PIN

	// A customer who mistypes gets 5 tries …
	for i := range 5 {
		_, err := redeemPIN(t, e.svc, wrongPIN(pin), "203.0.113.9")
		if !apperror.Is(err, "pin_invalid") {
			t.Fatalf("try %d: %v, want pin_invalid", i+1, err)
		}
	}
	// … then the limit is checked before the PIN: even the right one gets 429.
	_, err := redeemPIN(t, e.svc, pin, "203.0.113.9")
	wantRateLimited(t, err)
	if retry := apperror.As(err).RetryAfter; retry > 10*time.Minute {
		t.Fatalf("Retry-After %s is beyond the window", retry)
	}
	// The PIN was not touched: from another address it still works.
	j, err := redeemPIN(t, e.svc, pin, "203.0.113.10")
	e.mustJoin(j, err, conv)
}

// spendBudget makes 8 addresses fail twice: the first guess of each is free, the second
// takes one of the 8 shares of a budget of 8, which is then spent.
func spendBudget(t *testing.T, e *env, pin string) {
	t.Helper()
	for i := range ratelimit.BudgetShards {
		for range 2 {
			_, err := redeemPIN(t, e.svc, wrongPIN(pin), ip(100+i))
			wantCode(t, err, "pin_invalid")
		}
	}
}

// TestPINRedemption_ASpentBudgetStopsAddressesThatFailed_NeverACleanCustomer (SPEC §5, no
// lockout): once others have spent the deployment-wide budget, an address that failed is
// refused even with the right PIN, while a customer with a clean record still joins — and a
// fresh address gets exactly one guess.
func TestPINRedemption_ASpentBudgetStopsAddressesThatFailed_NeverACleanCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *invitations.Config) { c.Limits.PINFailuresEverywhere.Limit = ratelimit.BudgetShards })
	conv := e.startConversation("anna", "Botnet", "")
	pin := e.createPIN("anna", conv).PIN
	spendBudget(t, e, pin)
	_, err := redeemPIN(t, e.svc, pin, ip(101)) // an address that failed, now with the right PIN
	wantRateLimited(t, err)
	_, err = redeemPIN(t, e.svc, wrongPIN(pin), ip(300)) // a fresh address: one guess …
	wantCode(t, err, "pin_invalid")
	_, err = redeemPIN(t, e.svc, wrongPIN(wrongPIN(pin)), ip(300)) // … and no second
	wantRateLimited(t, err)
	j, err := redeemPIN(t, e.svc, pin, ip(200)) // the customer, who never failed
	e.mustJoin(j, err, conv)
}

// TestPINRedemption_ValidPINsUnderLoadAreNeverRefused: with the budget spent, many customers
// redeeming at once from clean addresses all join — a first attempt needs no share of the
// deployment's budget.
func TestPINRedemption_ValidPINsUnderLoadAreNeverRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *invitations.Config) { c.Limits.PINFailuresEverywhere.Limit = ratelimit.BudgetShards })
	const customers = 40
	pins := make([]string, customers)
	var conv string
	for i := range pins {
		if i%invitation.MaxPendingPerConversation == 0 {
			conv = e.startConversation("anna", "Rush hour", "")
		}
		pins[i] = e.createPIN("anna", conv).PIN
	}
	spendBudget(t, e, pins[0])
	errs := make(chan error, customers)
	for i, pin := range pins {
		go func() {
			_, err := redeemPIN(t, e.svc, pin, ip(1000+i))
			errs <- err
		}()
	}
	for range customers {
		if err := <-errs; err != nil {
			t.Errorf("a valid PIN from a clean address: %v", err)
		}
	}
}

// TestPINRedemption_AMalformedPINIsBadInputAndCostsNothing: letters or the wrong length are
// 400 pin_malformed, before any limit is counted.
func TestPINRedemption_AMalformedPINIsBadInputAndCostsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *invitations.Config) {
		c.Limits.PINFailuresPerIP.Limit = 5
		c.Limits.PINFailuresEverywhere.Limit = ratelimit.BudgetShards
	})
	conv := e.startConversation("anna", "Fat fingers", "")
	pin := e.createPIN("anna", conv).PIN
	for _, typed := range []string{"12345", "1234567890", "abcdefghi", pin + "0", ""} {
		for range 6 {
			_, err := redeemPIN(t, e.svc, typed, ip(7))
			if e := apperror.As(err); e.Code != "pin_malformed" || e.Kind != apperror.KindInvalid {
				t.Fatalf("%q: %v, want 400 pin_malformed", typed, err)
			}
		}
	}
	j, err := redeemPIN(t, e.svc, pin, ip(7))
	e.mustJoin(j, err, conv)
}

func TestPINRedemption_OnlyFailuresCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *invitations.Config) { c.Limits.PINFailuresPerIP.Limit = 5 })
	conv := e.startConversation("anna", "Office", "")
	const office = "198.51.100.50" // many customers behind one address
	for range 4 {
		_, err := redeemPIN(t, e.svc, wrongPIN(e.createPIN("anna", conv).PIN), office)
		wantCode(t, err, "pin_invalid")
	}
	for range 3 {
		j, err := redeemPIN(t, e.svc, e.createPIN("anna", conv).PIN, office)
		e.mustJoin(j, err, conv)
	}
	_, err := redeemPIN(t, e.svc, "000000000", office)
	wantCode(t, err, "pin_invalid") // the fifth failure, not the eighth attempt
}

func TestPINInvitation_RevokedPINIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Revoke", "")
	out := e.createPIN("anna", conv)
	revoked, err := e.svc.Revoke(t.Context(), agent("anna"), conv, out.InvitationID)
	if err != nil {
		t.Fatal(err)
	}
	if revoked.Status != invitation.StatusRevoked {
		t.Fatalf("revoke answered %+v", revoked)
	}
	_, err = redeemPIN(t, e.svc, out.PIN, ip(1))
	wantCode(t, err, "pin_invalid")
	// Revocable only while pending.
	_, err = e.svc.Revoke(t.Context(), agent("anna"), conv, out.InvitationID)
	if apperror.As(err).Kind != apperror.KindConflict {
		t.Fatalf("second revoke: %v, want 409", err)
	}
}

func TestPINInvitation_RenewedPIN_OldRefusedNewWorks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Renew", "")
	old := e.createPIN("anna", conv)
	renewed, err := e.svc.Resend(t.Context(), agent("anna"), conv, old.InvitationID)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.InvitationID != old.InvitationID || renewed.PIN == "" || renewed.PIN == old.PIN || renewed.Status != invitation.StatusPending {
		t.Fatalf("renewed = %+v", renewed)
	}
	_, err = redeemPIN(t, e.svc, old.PIN, ip(1))
	wantCode(t, err, "pin_invalid")
	j, err := redeemPIN(t, e.svc, renewed.PIN, ip(2))
	e.mustJoin(j, err, conv)

	// Redeemed: no new PIN for it.
	_, err = e.svc.Resend(t.Context(), agent("anna"), conv, old.InvitationID)
	wantCode(t, err, "invitation_not_pending")
}

func TestPINInvitation_ExpiredOneCanBeRenewed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Renew later", "")
	old := e.createPIN("anna", conv)
	later := e.after(15 * time.Minute)
	renewed, err := later.Resend(t.Context(), agent("anna"), conv, old.InvitationID)
	if err != nil {
		t.Fatal(err)
	}
	j, err := redeemPIN(t, later, renewed.PIN, ip(1))
	e.mustJoin(j, err, conv)
}

func TestEndConversation_PINsAndLinksStopWorking(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Ending", appOrigin+"/help")
	pin := e.createPIN("anna", conv)
	to := address(t)
	e.createEmail("anna", conv, invitations.EmailRequest{Email: to})
	token := tokenOf(t, linkIn(t, onlyMailTo(t, to, 1)[0]))

	if err := e.convs.End(t.Context(), agent("anna"), conv); err != nil {
		t.Fatal(err)
	}
	_, err := redeemPIN(t, e.svc, pin.PIN, ip(1))
	wantCode(t, err, "pin_invalid")
	_, err = redeemToken(t, e.svc, token, ip(1))
	wantCode(t, err, "join_token_invalid")

	list, err := e.svc.List(t.Context(), agent("anna"), conv)
	if err != nil {
		t.Fatal(err)
	}
	// The end's cleanup, which the end-cleanup function does when the stream brings it
	// conversation.ended; until then the list says revoked from the conversation's status.
	if err := e.st.FinishEnd(t.Context(), conv, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, inv := range list.Invitations {
		if inv.Status != invitation.StatusRevoked {
			t.Errorf("%s invitation is %s after the end, want revoked", inv.Kind, inv.Status)
		}
		stored, _ := e.st.Invitation(t.Context(), inv.ID)
		if stored.Status != invitation.StatusRevoked || stored.Reason != "conversation_ended" || stored.SecretHash != "" {
			t.Errorf("stored after end: %+v", stored)
		}
	}
	// What the end revoked is listed in conversation.ended, the last event: nothing follows it.
	ended := e.committed(conv, conversation.EventConversationEnded)
	if len(ended) != 1 {
		t.Fatalf("%d conversation.ended committed, want 1", len(ended))
	}
	if revoked, _ := ended[0].Data["revokedInvitationIds"].([]any); len(revoked) != 2 {
		t.Errorf("conversation.ended lists %v as revoked, want the 2 invitations", ended[0].Data["revokedInvitationIds"])
	}
}

func TestPINInvitation_HistoryTellsAgentsAndShowsVisitorsANeutralJoin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "History", "")
	out := e.createPIN("anna", conv)
	j, err := redeemPIN(t, e.svc, out.PIN, ip(1))
	e.mustJoin(j, err, conv)

	agentView, err := e.convs.History(t.Context(), agent("anna"), conv, "", "")
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, ev := range agentView.Events {
		types[ev.Type] = true
	}
	for _, want := range []string{conversation.EventInvitationCreated, conversation.EventInvitationRedeemed, conversation.EventParticipantJoined} {
		if !types[want] {
			t.Errorf("agents' history lacks %s", want)
		}
	}
	visitorView, err := e.convs.History(t.Context(), visitor(j), conv, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range visitorView.Events {
		if strings.HasPrefix(ev.Type, "invitation.") {
			t.Errorf("the visitor sees %s", ev.Type)
		}
	}
	for _, ev := range agentView.Events {
		for k, v := range ev.Data {
			if s, ok := v.(string); ok && strings.Contains(s, out.PIN) {
				t.Errorf("%s carries the PIN in %s", ev.Type, k)
			}
		}
	}
}

func TestPINInvitation_AtMostTwentyPendingPerConversation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conv := e.startConversation("anna", "Many", "")
	for range invitation.MaxPendingPerConversation {
		e.createPIN("anna", conv)
	}
	// The index behind the count is eventually consistent; DynamoDB Local is not lagging.
	_, err := e.svc.CreatePIN(t.Context(), agent("anna"), conv, invitations.PINRequest{})
	wantCode(t, err, "too_many_pending_invitations")
}
