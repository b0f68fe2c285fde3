package invitation_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/invitation"
)

func sentEmail(t0 time.Time) invitation.Invitation {
	inv := invitation.Invitation{ID: "inv_1", Kind: invitation.KindEmail, SendCount: 1, Delivery: invitation.DeliverySending, DeliveryAt: t0}
	inv, _ = inv.SentAs("m1", 1, t0)
	return inv
}

// TestDelivery_TheRecordedStateIsTheSameWhateverTheOrder: notifications arrive late, twice or
// out of order; delivery ends the same for every order of the same reports.
func TestDelivery_TheRecordedStateIsTheSameWhateverTheOrder(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	reports := []invitation.DeliveryReport{
		{MessageID: "m1", State: invitation.DeliverySent, At: at(0)},
		{MessageID: "m1", State: invitation.DeliveryDelayed, Detail: "MailboxFull", At: at(1)},
		{MessageID: "m1", State: invitation.DeliveryDelayed, Detail: "TransientCommunicationFailure", At: at(2)},
		{MessageID: "m1", State: invitation.DeliveryDelivered, At: at(3)},
		{MessageID: "m1", State: invitation.DeliveryBounced, Detail: "Transient/General", At: at(4)},
		{MessageID: "m1", State: invitation.DeliveryComplained, Detail: "abuse", At: at(5)},
		{MessageID: "m1", State: invitation.DeliveryBounced, Detail: "Permanent/General", At: at(5)},
		{MessageID: "m1", State: invitation.DeliveryFailed, Detail: "Bad content", At: at(1)},
	}
	var want invitation.Invitation
	for round := range 500 {
		order := append([]invitation.DeliveryReport(nil), reports...)
		order = append(order, reports[rand.IntN(len(reports))]) // one twice
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		inv := sentEmail(t0)
		for _, r := range order {
			inv, _ = inv.Record(r)
		}
		if round == 0 {
			want = inv
			continue
		}
		if inv.Delivery != want.Delivery || inv.DeliveryDetail != want.DeliveryDetail || !inv.DeliveryAt.Equal(want.DeliveryAt) {
			t.Fatalf("order %v ends %s (%s), another ended %s (%s)", order, inv.Delivery, inv.DeliveryDetail, want.Delivery, want.DeliveryDetail)
		}
	}
	// The latest verdict wins; at the same second a complaint outranks a bounce.
	if want.Delivery != invitation.DeliveryComplained || want.DeliveryDetail != "abuse" {
		t.Fatalf("ended %s (%s), want complained (abuse)", want.Delivery, want.DeliveryDetail)
	}
}

func TestDelivery_ProgressOnlyMovesForward(t *testing.T) {
	t0 := time.Now()
	inv := sentEmail(t0)
	inv, change := inv.Record(invitation.DeliveryReport{MessageID: "m1", State: invitation.DeliveryDelivered, At: t0})
	if change != invitation.DeliveryChanged || inv.Delivery != invitation.DeliveryDelivered {
		t.Fatalf("%v %s", change, inv.Delivery)
	}
	for _, back := range []invitation.Delivery{invitation.DeliverySending, invitation.DeliverySent, invitation.DeliveryDelayed, invitation.DeliveryDelivered} {
		if _, change := inv.Record(invitation.DeliveryReport{MessageID: "m1", State: back, At: t0.Add(time.Hour)}); change == invitation.DeliveryChanged {
			t.Errorf("%s after delivered changed it", back)
		}
	}
	// A verdict overrides; a later report of the same verdict only refines when it happened.
	bounced, change := inv.Record(invitation.DeliveryReport{MessageID: "m1", State: invitation.DeliveryBounced, Detail: "Permanent/General", At: t0.Add(time.Second)})
	if change != invitation.DeliveryChanged || bounced.CheckResendable() == nil {
		t.Fatalf("bounce after delivery: %v; resendable: %v", change, bounced.CheckResendable())
	}
	if _, change := bounced.Record(invitation.DeliveryReport{MessageID: "m1", State: invitation.DeliveryBounced, Detail: "Permanent/General", At: t0.Add(2 * time.Second)}); change != invitation.DeliveryRefined {
		t.Errorf("the same bounce later: %v, want refined (written, not pushed)", change)
	}
}

func TestDelivery_AnEarlierEmailCountsOnlyForItsAddress(t *testing.T) {
	t0 := time.Now()
	inv := sentEmail(t0)
	inv = inv.Renewed("hash2", t0.Add(time.Minute), t0.Add(time.Hour))
	inv, _ = inv.SentAs("m2", 2, t0.Add(time.Minute))
	if _, change := inv.Record(invitation.DeliveryReport{MessageID: "m1", State: invitation.DeliveryDelivered, At: t0.Add(2 * time.Minute)}); change != invitation.DeliveryUnchanged {
		t.Errorf("the first email's delivery changed the second's: %v", change)
	}
	if _, change := inv.Record(invitation.DeliveryReport{MessageID: "m1", State: invitation.DeliveryFailed, Detail: "Bad content", At: t0.Add(2 * time.Minute)}); change != invitation.DeliveryUnchanged {
		t.Errorf("the first email's reject changed the second's: %v", change)
	}
	if out, change := inv.Record(invitation.DeliveryReport{MessageID: "m1", State: invitation.DeliveryComplained, Detail: "abuse", At: t0.Add(2 * time.Minute)}); change != invitation.DeliveryChanged || out.Delivery != invitation.DeliveryComplained {
		t.Errorf("a complaint about the same address did not count: %v", change)
	}
	// SES's answer to the first email, late, changes nothing: the second is tracked.
	if _, change := inv.SentAs("m1", 1, t0.Add(3*time.Minute)); change != invitation.DeliveryUnchanged {
		t.Errorf("a late answer to the first email: %v", change)
	}
}
