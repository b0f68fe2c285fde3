package store_test

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

// openConversation writes an open conversation and returns its id.
func openConversation(t *testing.T, st *store.Store, now time.Time) string {
	t.Helper()
	n := newConversation(now)
	created(t, st, n)
	return n.Conversation.ID
}

// endConversation ends an open conversation (its status flips; the cleanup is left to
// FinishEnd) and returns the conversation as it was read to end it, and the
// conversation.ended event as the store numbered it.
func endConversation(t *testing.T, st *store.Store, convID string, now time.Time) (conversation.Conversation, conversation.Event) {
	t.Helper()
	conv, err := st.Conversation(t.Context(), convID)
	if err != nil {
		t.Fatal(err)
	}
	conv.EndedAt = now
	ended := conversation.Event{ConversationID: convID, Type: conversation.EventConversationEnded, At: now, Audience: conversation.AudienceEveryone}
	if err := st.EndConversation(t.Context(), conv, &ended); err != nil {
		t.Fatal(err)
	}
	return conv, ended
}

func pinInvitation(conversationID string, now time.Time) invitation.Invitation {
	return invitation.Invitation{
		ID: ids.New("inv"), ConversationID: conversationID, Kind: invitation.KindPIN,
		Status: invitation.StatusPending, CreatedBy: "anna", CreatedAt: now,
		ExpiresAt: invitation.ValidUntil(now, 10*time.Minute), SecretHash: ids.Hash(ids.Token()),
	}
}

func redemptionOf(inv invitation.Invitation, now time.Time) store.Redemption {
	p := conversation.Participant{ConversationID: inv.ConversationID, ID: ids.New("vis"), Kind: conversation.KindVisitor,
		JoinedAt: now, SessionHash: ids.Hash(ids.Token())}
	return store.Redemption{
		Invitation: inv, Participant: p, At: now,
		Session: store.Session{Hash: p.SessionHash, ConversationID: inv.ConversationID, ParticipantID: p.ID, ExpiresAt: now.Add(time.Hour)},
		Events:  invitation.RedeemedEvents(inv, p, now),
	}
}

func TestInvitation_RoundTripsThroughTheTable(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	inv := pinInvitation(openConversation(t, st, now), now)
	inv.Kind, inv.Email, inv.Name, inv.Note, inv.SendCount, inv.LastSentAt = invitation.KindEmail, "carl@example.com", "Carl", "hi", 1, now
	if err := st.CreateInvitation(t.Context(), inv, nil); err != nil {
		t.Fatal(err)
	}
	got, err := st.Invitation(t.Context(), inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, inv) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, inv)
	}
	secret, err := st.LiveSecret(t.Context(), invitation.KindEmail, inv.SecretHash)
	if err != nil || secret.InvitationID != inv.ID || secret.ConversationID != inv.ConversationID {
		t.Fatalf("join token: %+v, %v", secret, err)
	}
	if _, err := st.LiveSecret(t.Context(), invitation.KindPIN, inv.SecretHash); !store.IsNotFound(err) {
		t.Fatalf("a join token is found as a PIN: %v", err)
	}
}

func TestPIN_UniqueAmongLivePINs(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	conv := openConversation(t, st, now)
	first := pinInvitation(conv, now)
	if err := st.CreateInvitation(t.Context(), first, nil); err != nil {
		t.Fatal(err)
	}
	second := pinInvitation(conv, now)
	second.SecretHash = first.SecretHash
	if err := st.CreateInvitation(t.Context(), second, nil); !store.FailedOn(err, "secret") {
		t.Fatalf("same PIN while the first is live: %v, want a failure on secret", err)
	}
	// Once the first PIN has expired (its item still waiting for TTL), the PIN is free again.
	later := st.WithClock(func() time.Time { return now.Add(11 * time.Minute) })
	second.ExpiresAt = invitation.ValidUntil(now.Add(11*time.Minute), 10*time.Minute)
	if err := later.CreateInvitation(t.Context(), second, nil); err != nil {
		t.Fatalf("same PIN after the first expired: %v", err)
	}
}

func TestRedemption_ExpiredButPresentPINIsRefused(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	inv := pinInvitation(openConversation(t, st, now), now)
	if err := st.CreateInvitation(t.Context(), inv, nil); err != nil {
		t.Fatal(err)
	}
	// Ten minutes and one second later the PIN item is still in the table (TTL deletes
	// late), but the transaction's own conditions refuse it.
	later := st.WithClock(func() time.Time { return now.Add(10*time.Minute + time.Second) })
	err := later.RedeemInvitation(t.Context(), redemptionOf(inv, now))
	if !errors.Is(err, store.ErrRedemptionRefused) {
		t.Fatalf("redeem after expiry: %v, want ErrRedemptionRefused", err)
	}
	if _, err := later.LiveSecret(t.Context(), invitation.KindPIN, inv.SecretHash); !store.IsNotFound(err) {
		t.Fatalf("expired PIN is still found: %v", err)
	}
	if err := st.RedeemInvitation(t.Context(), redemptionOf(inv, now)); err != nil {
		t.Fatalf("redeem in time: %v", err)
	}
}

func TestRedemption_SingleUse(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	inv := pinInvitation(openConversation(t, st, now), now)
	if err := st.CreateInvitation(t.Context(), inv, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.RedeemInvitation(t.Context(), redemptionOf(inv, now)); err != nil {
		t.Fatal(err)
	}
	if err := st.RedeemInvitation(t.Context(), redemptionOf(inv, now)); !errors.Is(err, store.ErrRedemptionRefused) {
		t.Fatalf("second redemption: %v, want ErrRedemptionRefused", err)
	}
	got, _ := st.Invitation(t.Context(), inv.ID)
	if got.Status != invitation.StatusRedeemed || got.SecretHash != "" || got.ResolvedBy == "" {
		t.Fatalf("after redemption: %+v", got)
	}
}

func TestEndConversation_RevokesPendingInvitationsAndDeletesTheirPINs(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	convID := openConversation(t, st, now)
	inv := pinInvitation(convID, now)
	if err := st.CreateInvitation(t.Context(), inv, nil); err != nil {
		t.Fatal(err)
	}
	_, ended := endConversation(t, st, convID, now)
	if ids, _ := ended.Data["revokedInvitationIds"].([]string); len(ids) != 1 || ids[0] != inv.ID || ended.Seq == 0 {
		t.Fatalf("conversation.ended: %+v", ended)
	}
	if err := st.FinishEnd(t.Context(), convID, now); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Invitation(t.Context(), inv.ID)
	if got.Status != invitation.StatusRevoked || got.Reason != "conversation_ended" {
		t.Fatalf("after end: %+v", got)
	}
	if _, err := st.LiveSecret(t.Context(), invitation.KindPIN, inv.SecretHash); !store.IsNotFound(err) {
		t.Fatalf("the PIN survived the end: %v", err)
	}
}

// The cleanup after an end can run any number of times (a retried end, the sweeper), and
// nothing can be added once the status has flipped.
func TestEndConversation_CleanupIsIdempotentAndNothingFollowsTheEnd(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	convID := openConversation(t, st, now)
	conv, ended := endConversation(t, st, convID, now)
	for range 2 {
		if err := st.FinishEnd(t.Context(), convID, now); err != nil {
			t.Fatal(err)
		}
	}
	late := pinInvitation(convID, now)
	if err := st.CreateInvitation(t.Context(), late, nil); !store.FailedOn(err, "open") {
		t.Fatalf("an invitation after the end: %v, want a failure on open", err)
	}
	again := ended
	if err := st.EndConversation(t.Context(), conv, &again); !store.FailedOn(err, "open") {
		t.Fatalf("a second end: %v", err)
	}
}

func TestRenewInvitation_OldPINGoneNewPINLive(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	inv := pinInvitation(openConversation(t, st, now), now)
	if err := st.CreateInvitation(t.Context(), inv, nil); err != nil {
		t.Fatal(err)
	}
	renewed := inv.Renewed(ids.Hash(ids.Token()), now, inv.ExpiresAt)
	if err := st.RenewInvitation(t.Context(), inv, renewed, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LiveSecret(t.Context(), invitation.KindPIN, inv.SecretHash); !store.IsNotFound(err) {
		t.Fatalf("old PIN still live: %v", err)
	}
	if _, err := st.LiveSecret(t.Context(), invitation.KindPIN, renewed.SecretHash); err != nil {
		t.Fatalf("new PIN not live: %v", err)
	}
	// Renewing again from the stale read fails: a concurrent renewal won.
	if err := st.RenewInvitation(t.Context(), inv, inv.Renewed(ids.Hash(ids.Token()), now, inv.ExpiresAt), nil); !store.FailedOn(err, "invitation") {
		t.Fatalf("renewal from a stale read: %v, want a failure on invitation", err)
	}
}

// All hundred redemptions pass the read (they all hold the invitation as pending); the
// transaction alone decides, and lets exactly one through.
func TestRedemption_HundredConcurrentTransactions_ExactlyOneWins(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	inv := pinInvitation(openConversation(t, st, now), now)
	if err := st.CreateInvitation(t.Context(), inv, nil); err != nil {
		t.Fatal(err)
	}
	const n = 100
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = testenv.AsClient(func() (struct{}, error) {
				return struct{}{}, st.RedeemInvitation(t.Context(), redemptionOf(inv, now))
			})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrRedemptionRefused):
			t.Errorf("a losing redemption failed with %v, want ErrRedemptionRefused", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent redemptions won, want exactly 1", won, n)
	}
	parts, _ := st.Participants(t.Context(), inv.ConversationID)
	if len(parts) != 2 {
		t.Fatalf("%d participants, want 2", len(parts))
	}
}

// A PIN taken over by another invitation after its first one expired belongs to the new one:
// sweeping or ending the first invitation must not delete it.
func TestPIN_DeletedOnlyWhileItStillBelongsToItsInvitation(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	later, old, reuse := pinDrawnAgain(t, now, now.Add(time.Minute))
	err := later.Expire(t.Context(), store.Expiry{Invitation: invitation.Offer{Invitation: old}, At: now.Add(time.Minute),
		Events: []conversation.Event{invitation.ExpiredEvent(old, now.Add(time.Minute))}})
	if err != nil {
		t.Fatalf("expire: %v", err)
	}
	got, err := later.LiveSecret(t.Context(), invitation.KindPIN, reuse.SecretHash)
	if err != nil || got.InvitationID != reuse.ID {
		t.Fatalf("the PIN of %s after sweeping %s: %+v, %v", reuse.ID, old.ID, got, err)
	}
}

// TestCreateInvitation_ARateSlotCountsOnlyWithItsInvitation: the slot taken in the write that
// makes the invitation holds the window below its limit, and a write refused for any reason
// (the conversation ended, the window full) counts nothing and writes nothing.
func TestCreateInvitation_ARateSlotCountsOnlyWithItsInvitation(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	slot := store.RateSlot{Counter: "emails-agent#anna#" + ids.New("w"), Limit: 1, ExpiresAt: now.Add(time.Hour)}

	ended := openConversation(t, st, now)
	endConversation(t, st, ended, now)
	if err := st.CreateInvitation(t.Context(), pinInvitation(ended, now), nil, slot); !store.FailedOn(err, "open") {
		t.Fatalf("an invitation after the end: %v, want a failure on open", err)
	}

	open := openConversation(t, st, now)
	first := pinInvitation(open, now)
	if err := st.CreateInvitation(t.Context(), first, nil, slot); err != nil {
		t.Fatalf("the window's one slot (the refused write took none): %v", err)
	}
	second := pinInvitation(open, now)
	if err := st.CreateInvitation(t.Context(), second, nil, slot); !store.IsRateFull(err) {
		t.Fatalf("a second invitation in a window of one: %v, want IsRateFull", err)
	}
	if _, err := st.Invitation(t.Context(), second.ID); !store.IsNotFound(err) {
		t.Fatalf("the refused invitation was written: %v", err)
	}
}

// TestPIN_RenewingAnExpiredInvitation_LeavesItsRedrawnPINToTheOther: renewal assumes the old
// PIN is still its invitation's (commitOwningSecret) and is written again without the delete
// when it belongs to another invitation that drew it after it ran out.
func TestPIN_RenewingAnExpiredInvitation_LeavesItsRedrawnPINToTheOther(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	at := now.Add(time.Minute)
	later, old, reuse := pinDrawnAgain(t, now, at)
	renewed := old.Renewed(ids.Hash(ids.Token()), at, at.Add(10*time.Minute))
	if err := later.RenewInvitation(t.Context(), old, renewed, nil); err != nil {
		t.Fatalf("renewing the expired invitation: %v", err)
	}
	if got, err := later.LiveSecret(t.Context(), invitation.KindPIN, reuse.SecretHash); err != nil || got.InvitationID != reuse.ID {
		t.Fatalf("the PIN of %s after renewing %s: %+v, %v", reuse.ID, old.ID, got, err)
	}
	if got, err := later.LiveSecret(t.Context(), invitation.KindPIN, renewed.SecretHash); err != nil || got.InvitationID != old.ID {
		t.Fatalf("the renewed PIN: %+v, %v", got, err)
	}
}

// pinDrawnAgain makes an invitation at now whose PIN runs out a second later, and at "at"
// another invitation that drew the same PIN; it returns the store at "at" and both.
func pinDrawnAgain(t *testing.T, now, at time.Time) (*store.Store, invitation.Invitation, invitation.Invitation) {
	t.Helper()
	st := newStore(t)
	old := pinInvitation(openConversation(t, st, now), now)
	old.ExpiresAt = now.Add(time.Second)
	if err := st.CreateInvitation(t.Context(), old, nil); err != nil {
		t.Fatal(err)
	}
	later := st.WithClock(func() time.Time { return at })
	reuse := pinInvitation(openConversation(t, later, at), at)
	reuse.SecretHash = old.SecretHash
	if err := later.CreateInvitation(t.Context(), reuse, nil); err != nil {
		t.Fatalf("the expired PIN could not be reused: %v", err)
	}
	return later, old, reuse
}
