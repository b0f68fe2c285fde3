package invitation_test

import (
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/invitation"
)

func chain(windows ...int) invitation.Offer {
	r := invitation.Route{}
	for i, w := range windows {
		r = append(r, invitation.ChainTarget{Kind: invitation.TargetAgent, ID: string(rune('a' + i)), AfterSeconds: w})
	}
	return invitation.NewAgentInvitation("conv_1", "z", r[0].Target(), "", t0, time.Hour).Routed(r, t0, time.Hour)
}

func TestChain_StageDerivedFromTimeAtRead(t *testing.T) {
	o := chain(30, 60, 30)
	if d := o.Deadline(); !d.Equal(t0.Add(120 * time.Second)) {
		t.Fatalf("deadline %s, want the sum of the windows", d)
	}
	for _, c := range []struct {
		at     time.Duration
		target string
		status invitation.Status
	}{
		{29 * time.Second, "a", invitation.StatusPending},
		{30 * time.Second, "b", invitation.StatusPending},
		{89 * time.Second, "b", invitation.StatusPending},
		{90 * time.Second, "c", invitation.StatusPending},
		{120 * time.Second, "c", invitation.StatusExpired},
	} {
		seen := o.AsOf(t0.Add(c.at))
		if seen.TargetAgentID != c.target || seen.Status != c.status {
			t.Errorf("at %s: %s %s, want %s %s", c.at, seen.TargetAgentID, seen.Status, c.target, c.status)
		}
	}
	if seen := o.AsOf(t0.Add(95 * time.Second)); !seen.Targets[1].AnsweredAt.Equal(t0.Add(90*time.Second)) || seen.Targets[1].Reason != invitation.ReasonTimeout {
		t.Fatalf("a target whose window ran out: %+v", seen.Targets[1])
	}
}

func TestChain_UnavailableSkippedOnlyWhileALaterTargetExists(t *testing.T) {
	nobody := func(string) bool { return false }
	o := chain(30, 30).Begun(t0, nobody)
	if o.TargetAgentID != "b" || o.Targets[0].Reason != invitation.ReasonUnavailable || o.Targets[1].Answer != invitation.AnswerPending {
		t.Fatalf("begun: %+v", o.Targets)
	}
	if lone := chain(30).Begun(t0, nobody); lone.TargetAgentID != "a" {
		t.Fatal("the last target is never skipped")
	}
}

func TestChain_SettledCancelsEveryOpenTarget(t *testing.T) {
	o := chain(30, 30, 30)
	got := o.Settled(invitation.StatusAccepted, "", t0)
	if got[0].Answer != invitation.AnswerAccepted || got[1].Answer != invitation.AnswerCanceled || got[2].Answer != invitation.AnswerCanceled {
		t.Fatalf("settled: %+v", got)
	}
	if o.Targets[1].Answer != invitation.AnswerQueued {
		t.Fatal("Settled changed the offer it was asked about")
	}
}
