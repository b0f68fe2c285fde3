package handover

import (
	"context"
	"errors"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/outcome"
	"github.com/invite-forward/invite-forward/shared/store"
)

// SweepReport says what one sweep did.
type SweepReport struct {
	Expired int `json:"expired"`
	// Advanced are fallback chains moved on to their next target (a window ran out).
	Advanced int `json:"advanced"`
	// Revoked were still pending in a conversation that had ended (the end did not see them).
	Revoked int `json:"revoked"`
	// Skipped were answered or renewed meanwhile, or kept losing races: the next sweep looks again.
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
}

// ExpireDue expires the due invitations the sweep found (store.Due), of every kind: each
// still pending and past its time is marked expired by a conditional write, with its event,
// addressed to the targets (the participants — the inviter, if still one — get it too). An
// expired forward comes back to the forwarder like a declined one. An invitation of an ended
// conversation makes the sweep finish that end's cleanup. Reads never wait for this: expiry
// is enforced at read time everywhere; the sweep makes it visible (pushes, returns) within a
// minute.
func (s *Service) ExpireDue(ctx context.Context, due []invitation.Offer) (SweepReport, error) {
	var rep SweepReport
	var errs []error
	for _, inv := range due {
		what, err := s.expireOne(ctx, inv.ID)
		rep.count(what)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// fate is what happened to one due invitation.
type fate int

const (
	skipped fate = iota
	expired
	advanced
	revoked
	failed
)

// Add adds another page's counts.
func (r *SweepReport) Add(o SweepReport) {
	r.Expired += o.Expired
	r.Advanced += o.Advanced
	r.Revoked += o.Revoked
	r.Skipped += o.Skipped
	r.Failed += o.Failed
}

func (r *SweepReport) count(o fate) {
	switch o {
	case expired:
		r.Expired++
	case advanced:
		r.Advanced++
	case revoked:
		r.Revoked++
	case failed:
		r.Failed++
	default:
		r.Skipped++
	}
}

// expireNow expires one offer on the spot, best effort: the sweep does it otherwise.
func (s *Service) expireNow(ctx context.Context, id string) {
	ctx, done := outcome.Context(ctx)
	defer done()
	_, _ = s.expireOne(ctx, id)
}

// expireOne expires one invitation if it is still pending and past its time, reading it and
// its conversation again on every attempt.
func (s *Service) expireOne(ctx context.Context, id string) (fate, error) {
	result := skipped
	err := retrying(func() error {
		var err error
		result, err = s.expireOnce(ctx, id)
		return err
	})
	if errors.Is(err, errBusy) {
		return skipped, nil
	}
	if err != nil {
		return failed, err
	}
	return result, nil
}

func (s *Service) expireOnce(ctx context.Context, id string) (fate, error) {
	o, err := s.Store.Offer(ctx, id)
	if store.IsNotFound(err) {
		return skipped, nil
	}
	if err != nil {
		return failed, err
	}
	now := s.now()
	if !o.Expired(now) && !o.HopDue(now) {
		return skipped, nil // answered or renewed: the index was behind
	}
	read, err := s.Store.HandoverState(ctx, o.ConversationID)
	if store.IsNotFound(err) {
		return skipped, nil
	}
	if err != nil {
		return failed, err
	}
	if !read.Conversation.Open() {
		return s.revokeEnded(ctx, o, now)
	}
	if o.Purpose == invitation.PurposeIncoming && read.Conversation.Assignee == "" && read.PendingForward == o.ID {
		return s.endUnanswered(ctx, o, read, now)
	}
	if o.HopDue(now) {
		return s.sweepHop(ctx, o, now)
	}
	shown := settled(offerAsOf(o, now), invitation.StatusExpired, "", now)
	e := store.Expiry{Invitation: o, At: now, Events: append([]conversation.Event{invitation.ExpiredEvent(shown.Invitation, now)}, chainUpdated(shown, "", now)...)}
	if o.IsForward() && read.PendingForward == o.ID {
		e.Read = &read
		if read.Conversation.Assignee == "" && o.CreatedBy != "" {
			ret := invitation.NewReturn(o, invitation.ReturnedExpired, "", now)
			e.Return = &ret
			e.Events = append(e.Events, s.returnEvents(ctx, ret, now)...)
		}
	}
	addressTo(append(s.addressees(ctx, o), returnTarget(e.Return)...), e.Events)
	err = s.Store.Expire(ctx, e)
	if lostRace(err) {
		return skipped, errRetry
	}
	if err != nil {
		return failed, err
	}
	return expired, nil
}

// sweepHop moves a chain whose window ran out on to its next target and, if the chain ran
// out altogether meanwhile, expires it at once.
func (s *Service) sweepHop(ctx context.Context, o invitation.Offer, now time.Time) (fate, error) {
	err := s.hopOnce(ctx, o, now, "")
	switch {
	case errors.Is(err, errRetry) || errors.Is(err, errConversationEnded):
		return skipped, errRetry // answered, moved or ended meanwhile: look again
	case err != nil:
		return failed, err
	}
	// Read it again: if the chain ran out altogether meanwhile, it expires now.
	out, err := s.expireOnce(ctx, o.ID)
	if out == skipped && err == nil {
		return advanced, nil
	}
	return out, err
}

// endUnanswered ends a conversation whose offer to its team ran out with nobody taking it:
// the customer is told (conversation.ended, reason unanswered, addressed to the team's
// members too; the push function closes the visitors' sockets) instead of waiting for ever,
// and the offer leaves the inboxes with the end's cleanup. An agent who accepted first wins:
// the end is conditional on nobody holding the conversation.
func (s *Service) endUnanswered(ctx context.Context, o invitation.Offer, read store.HandoverState, now time.Time) (fate, error) {
	conv := read.Conversation
	conv.EndedAt = now
	ended := conversation.Event{
		ConversationID: conv.ID, Type: conversation.EventConversationEnded, At: now,
		Audience: conversation.AudienceEveryone, Data: map[string]any{"reason": conversation.EndedUnanswered},
	}
	if to := s.addressees(ctx, o); len(to) > 0 {
		ended.PushTo = store.AgentPrincipals(to) // their inboxes lose the offer
	}
	err := s.Store.EndUnanswered(ctx, conv, o.ID, &ended)
	if store.FailedOn(err, "open") || lostRace(err) {
		return skipped, errRetry
	}
	if err != nil {
		return failed, err
	}
	if _, err := s.revokeEnded(ctx, o, now); err != nil {
		return failed, err
	}
	return expired, nil
}

// revokeEnded finishes the end of the invitation's conversation, which a crash may have
// interrupted, as the end's cleanup would: it revokes every invitation the end left pending,
// this one included, and tells their addressees. (The visitors' sockets were closed by the
// push function when it read conversation.ended.)
func (s *Service) revokeEnded(ctx context.Context, o invitation.Offer, now time.Time) (fate, error) {
	if err := s.Store.FinishEnd(ctx, o.ConversationID, now); err != nil {
		return failed, apperror.Internal(err)
	}
	return revoked, nil
}

// addressees are the agents an offer's end is pushed to besides the participants: whoever it
// was addressed to (its inbox changes). Whoever made it hears of it only as a participant.
func (s *Service) addressees(ctx context.Context, o invitation.Offer) []string {
	if o.Kind.ForCustomer() {
		return nil
	}
	return s.recipients(ctx, o)
}
