package invitation

import (
	"slices"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
)

// This file holds fallback chains (SPEC §9.2): an agent or team invitation, or a forward, is
// offered to its targets one at a time, in order, each for its own window. Where the chain
// stands is derived from time, like expiry: the stored invitation names the stage it was
// last written at (its target, and ExpiresAt, the end of that stage's window), and every
// reader works out the later stages whose turn came since. Writes (a decline, an accept, the
// sweep) store the chain as they found it, conditioned on the stage they read.

// Answer is where one target of a chain stands.
type Answer string

const (
	AnswerQueued   Answer = "queued"   // not offered yet
	AnswerPending  Answer = "pending"  // offered now
	AnswerDeclined Answer = "declined" // declined (a team: every member did)
	AnswerIgnored  Answer = "ignored"  // its window ran out, or it was skipped
	AnswerAccepted Answer = "accepted"
	AnswerCanceled Answer = "canceled" // another target accepted, or the invitation was revoked
)

// Why a target was ignored.
const (
	ReasonTimeout     = "timeout"
	ReasonUnavailable = "unavailable"
)

// Chain limits: a window is 30 s … 1 h, and at most 3 targets follow the first.
const (
	MinWindowSeconds     = 30
	MaxWindowSeconds     = 3600
	DefaultWindowSeconds = 120
	MaxFallbacks         = 3
)

// ChainTarget is one target of a chain with its window and its answer.
type ChainTarget struct {
	Kind TargetKind `json:"kind"`
	ID   string     `json:"id"`
	// AfterSeconds is the target's window: how long it is offered before the next one's turn.
	AfterSeconds int       `json:"afterSeconds"`
	Answer       Answer    `json:"answer"`
	AnsweredAt   time.Time `json:"answeredAt,omitzero"`
	Reason       string    `json:"reason,omitempty"`
	// Name is the target's directory name when the chain was made: what the inbox shows
	// when its turn comes (Offer.TargetName follows the current target).
	Name string `json:"-"`
}

// Target is whom this stage of the chain is addressed to.
func (c ChainTarget) Target() Target { return Target{Kind: c.Kind, ID: c.ID} }

func (c ChainTarget) window() time.Duration { return time.Duration(c.AfterSeconds) * time.Second }

// answered marks the target with a final answer.
func (c *ChainTarget) answered(a Answer, reason string, at time.Time) {
	c.Answer, c.Reason, c.AnsweredAt = a, reason, at.UTC()
}

// Route is the targets an offer is made to, in order, as asked: the first one and its
// fallbacks, each with its window; a zero window takes the deployment's lifetime (the first
// target of a route without fallbacks) or DefaultWindowSeconds.
type Route []ChainTarget

// ErrDuplicateTarget refuses a chain that names a target twice.
var ErrDuplicateTarget = apperror.Invalid("duplicate_target", "a target may appear only once in the first target and the fallback")

// startChain makes the offer's targets from the route, the first one pending from now, and
// points the offer at it; defaultWindow fills a zero window.
func (o *Offer) startChain(r Route, now time.Time, defaultWindow time.Duration) {
	o.Targets = make([]ChainTarget, len(r))
	for i, t := range r {
		t.Answer, t.AnsweredAt, t.Reason = AnswerQueued, time.Time{}, ""
		if t.AfterSeconds == 0 {
			t.AfterSeconds = int(defaultWindow / time.Second)
		}
		o.Targets[i] = t
	}
	o.offerStage(0, now)
}

// offerStage makes stage k the pending one, its window starting at from.
func (i *Invitation) offerStage(k int, from time.Time) {
	i.Stage = k
	t := &i.Targets[k]
	t.Answer, t.AnsweredAt, t.Reason = AnswerPending, time.Time{}, ""
	i.ExpiresAt = ValidUntil(from, t.window())
	i.TargetAgentID, i.TargetTeamID = "", ""
	if t.Kind == TargetTeam {
		i.TargetTeamID = t.ID
	} else {
		i.TargetAgentID = t.ID
	}
}

// Chained reports whether the invitation has targets (every agent or team invitation and
// forward made since chains exist; not offers nobody made, nor older items).
func (i Invitation) Chained() bool { return len(i.Targets) > 0 }

// lastStage reports whether the current stage is the chain's last.
func (i Invitation) lastStage() bool { return i.Stage >= len(i.Targets)-1 }

// Deadline is when a pending invitation ends if nobody answers: the end of the current
// window plus every later target's window. Zero for an invitation that does not expire.
func (i Invitation) Deadline() time.Time {
	if i.ExpiresAt.IsZero() || !i.Chained() {
		return i.ExpiresAt
	}
	d := i.ExpiresAt
	for _, t := range i.Targets[i.Stage+1:] {
		d = d.Add(t.window())
	}
	return d
}

// HopDue reports whether, at now, the current target's window has run out while a later
// target waits: the chain has moved on and the stored stage is behind.
func (i Invitation) HopDue(now time.Time) bool {
	return i.Status == StatusPending && i.Chained() && !i.lastStage() && !i.ExpiresAt.IsZero() && !now.Before(i.ExpiresAt)
}

// Available says whether an agent target can be offered now (online and not away).
type Available func(agentID string) bool

// Moved is the invitation after the chain moved on from the stage it was read at: the stage
// whose window ran out is ignored (timeout) and the next one pending from the window's end,
// as often as windows ran out by now. available, if set, skips an agent target whose turn
// comes while they are unavailable and a later target exists (ignored, unavailable), as a
// write does; reads leave it nil. It reports whether the stage changed.
func (i Invitation) Moved(now time.Time, available Available) (Invitation, bool) {
	if i.Status != StatusPending || !i.Chained() {
		return i, false
	}
	i.Targets = slices.Clone(i.Targets)
	from := i.Stage
	for i.HopDue(now) {
		end := i.ExpiresAt
		i.Targets[i.Stage].answered(AnswerIgnored, ReasonTimeout, end)
		i.offerStage(i.Stage+1, end)
		i = i.skipUnavailable(available, end)
	}
	return i, i.Stage != from
}

// skipUnavailable skips, from the current stage on, agent targets that are unavailable when
// their turn comes at `at`, while a later target exists.
func (i Invitation) skipUnavailable(available Available, at time.Time) Invitation {
	for available != nil && !i.lastStage() && i.Targets[i.Stage].Kind == TargetAgent && !available(i.Targets[i.Stage].ID) {
		i.Targets[i.Stage].answered(AnswerIgnored, ReasonUnavailable, at)
		i.offerStage(i.Stage+1, at)
	}
	return i
}

// MovedOn is the offer after its chain moved on by now (Invitation.Moved): a team's record
// of who declined kept only while it is still that team's turn, and the target's name the
// current target's.
func (o Offer) MovedOn(now time.Time, available Available) (Offer, bool) {
	moved, changed := o.Moved(now, available)
	o.Invitation = moved
	if changed {
		o.DeclinedBy = nil
	}
	return o.named(), changed
}

// named gives the offer its current target's name, as the chain recorded it.
func (o Offer) named() Offer {
	if o.Chained() && o.Targets[o.Stage].Name != "" {
		o.TargetName = o.Targets[o.Stage].Name
	}
	return o
}

// Begun is a new offer's chain after skipping the first targets who are unavailable now.
func (o Offer) Begun(now time.Time, available Available) Offer {
	o.Invitation = o.skipUnavailable(available, now)
	return o.named()
}

// DeclinedHop is the chain after the current target declined at `at` while a later target
// exists: the next target's turn begins now (unavailable agents skipped). A team's record of
// who declined belongs to its stage and starts empty for the next.
func (o Offer) DeclinedHop(reason string, at time.Time, available Available) Offer {
	o.Targets = slices.Clone(o.Targets)
	o.Targets[o.Stage].answered(AnswerDeclined, reason, at)
	o.offerStage(o.Stage+1, at)
	o.DeclinedBy = nil
	o.Invitation = o.skipUnavailable(available, at)
	return o.named()
}

// HasNextTarget reports whether a later target would take the current one's turn.
func (i Invitation) HasNextTarget() bool { return i.Chained() && !i.lastStage() }

// Settled is the invitation's targets once it ended as status at `at`: the current target
// answered as the end says (reason for a decline), and every target still queued or pending
// canceled — what a revoke, an accept, an expiry or a final decline store.
func (i Invitation) Settled(status Status, reason string, at time.Time) []ChainTarget {
	if !i.Chained() {
		return nil
	}
	out := slices.Clone(i.Targets)
	cur := &out[i.Stage]
	switch status {
	case StatusAccepted:
		cur.answered(AnswerAccepted, "", at)
	case StatusDeclined:
		cur.answered(AnswerDeclined, reason, at)
	case StatusExpired:
		cur.answered(AnswerIgnored, ReasonTimeout, i.ExpiresAt)
	}
	for k := range out {
		if out[k].Answer == AnswerQueued || out[k].Answer == AnswerPending {
			out[k].answered(AnswerCanceled, "", at)
		}
	}
	return out
}

// chainAsSeen is the chain as of now: moved on by time while pending; once ended, a target
// still listed as queued or pending (an end that did not write the chain: a conversation's
// end, a newer forward) reads as canceled, or ignored if the chain ran out.
func (i Invitation) chainAsSeen(now time.Time) Invitation {
	if !i.Chained() {
		return i
	}
	if i.Status == StatusPending {
		i, _ = i.Moved(now, nil)
		if i.lastStage() && !now.Before(i.ExpiresAt) {
			i.Targets = i.Settled(StatusExpired, "", now)
		}
		return i
	}
	at := i.ResolvedAt
	if at.IsZero() {
		at = now
	}
	i.Targets = slices.Clone(i.Targets)
	for k := range i.Targets {
		if i.Targets[k].Answer == AnswerQueued || i.Targets[k].Answer == AnswerPending {
			i.Targets[k].answered(AnswerCanceled, "", at)
		}
	}
	return i
}

// TargetOf is the stage whose target the agent is (directly, or through one of teams), the
// earliest one, or -1.
func (i Invitation) TargetOf(agentID string, memberOf func(teamID string) bool) int {
	for k, t := range i.Targets {
		if (t.Kind == TargetAgent && t.ID == agentID) || (t.Kind == TargetTeam && memberOf(t.ID)) {
			return k
		}
	}
	return -1
}

// ErrTurnOver answers a target of a chain whose turn has passed: the offer is no longer theirs.
var ErrTurnOver = apperror.Gone("invitation_expired", "your turn to answer this invitation has passed; it went to the next target")

// ErrNotYourTurn answers a target of a chain whose turn has not come yet.
var ErrNotYourTurn = apperror.Conflict("not_your_turn", "this invitation has not been offered to you yet")

// CheckTurn refuses a target of the chain other than the current one: one whose turn has not
// come, or has passed (their window ran out, they were skipped, or they declined).
func (o Offer) CheckTurn(stage int) error {
	switch {
	case stage < 0 || stage == o.Stage:
		return nil
	case stage > o.Stage:
		return ErrNotYourTurn
	case o.Targets[stage].Answer == AnswerDeclined:
		return ErrAlreadyDeclined
	}
	return ErrTurnOver
}

// EventUpdated tells the agents that a chain moved: the invitation with its targets.
const EventUpdated = "invitation.updated"

// UpdatedEvent tells the agents where the chain stands now.
func UpdatedEvent(o Offer, actorID string, at time.Time) conversation.Event {
	return agentsEvent(o.Invitation, EventUpdated, actorID, at, offerExtra(o))
}

// targetsData is the chain as event data: plain maps, so history (stored as DynamoDB maps)
// and pushes read alike.
func targetsData(ts []ChainTarget) []any {
	out := make([]any, len(ts))
	for k, t := range ts {
		m := map[string]any{"kind": string(t.Kind), "id": t.ID, "afterSeconds": t.AfterSeconds, "answer": string(t.Answer)}
		if !t.AnsweredAt.IsZero() {
			m["answeredAt"] = t.AnsweredAt.UTC().Format(time.RFC3339)
		}
		if t.Reason != "" {
			m["reason"] = t.Reason
		}
		out[k] = m
	}
	return out
}

// WithdrawnEvent tells a target that the offer left their inbox (reason "timeout": their
// window ran out; "revoked"). It is pushed, not kept: history has the move itself.
func WithdrawnEvent(o Offer, reason string, at time.Time) conversation.Event {
	extra := offerExtra(o)
	extra["reason"] = reason
	return agentsEvent(o.Invitation, conversation.EventInvitationTaken, "", at, extra)
}
