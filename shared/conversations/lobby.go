package conversations

import (
	"context"
	"errors"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/requestscope"
	"github.com/invite-forward/invite-forward/shared/store"
)

// The lobby (SPEC §9.3): an invitee whose invitation said admit "agent" or "customer" waits
// as a participant in state "waiting" until someone on that side admits or refuses them, or
// the wait runs out (LobbyTimeoutMinutes). The rules of who may answer live in
// conversation.Participant.CheckAdmitter; the store conditions every answer on the invitee
// still waiting, so of an admission, a refusal and a timeout exactly one happens.

var (
	errNoSuchParticipant = apperror.NotFound("participant_not_found", "there is no such participant in this conversation")
	errNotWaiting        = apperror.Conflict("not_waiting", "the participant is not waiting to be let in (admitted, refused or timed out)")
)

// Admit lets a waiting invitee in: POST /conversations/{id}/participants/{participantId}/admit.
// They become active, read the whole history, and everyone in the conversation is pushed
// participant.admitted (by the push function, from the committed event).
func (s *Service) Admit(ctx context.Context, p auth.Principal, conversationID, participantID string) (conversation.Participant, error) {
	acc, waiting, err := s.answerable(ctx, p, conversationID, participantID)
	if err != nil {
		return conversation.Participant{}, err
	}
	events := []conversation.Event{conversation.AdmittedEvent(waiting, acc.Participant.ID, s.now())}
	if err := answerError(s.Store.AdmitParticipant(ctx, waiting, events)); err != nil {
		return conversation.Participant{}, err
	}
	waiting.State, waiting.Admit, waiting.WaitingUntil = conversation.StateActive, "", time.Time{}
	return waiting, nil
}

// Refuse turns a waiting invitee away: POST …/participants/{participantId}/refuse. Their
// session ends (401 from then on); the push function pushes participant.refused to them and
// to those who heard them wait, then closes their sockets (push.Rules).
func (s *Service) Refuse(ctx context.Context, p auth.Principal, conversationID, participantID string) error {
	acc, waiting, err := s.answerable(ctx, p, conversationID, participantID)
	if err != nil {
		return err
	}
	events := []conversation.Event{conversation.RefusedEvent(waiting, acc.Participant.ID, conversation.RefusedByParticipant, s.now())}
	if err := answerError(s.Store.RefuseParticipant(ctx, waiting, false, events)); err != nil {
		return err
	}
	return nil
}

// PrefetchWaiting reads the participant an admit or refuse answers beside the caller's
// standing and the request's idempotency key (httpapi.Prefetch); answerable takes it once the
// caller may answer.
func (s *Service) PrefetchWaiting(ctx context.Context, conversationID, participantID string) {
	if conversationID == "" || participantID == "" {
		return
	}
	requestscope.ReadAhead(ctx, waitingKey(conversationID, participantID), s.readParticipant(conversationID, participantID))
}

func waitingKey(conversationID, participantID string) string {
	return "participant#" + conversationID + "#" + participantID
}

func (s *Service) readParticipant(conversationID, participantID string) func(context.Context) (conversation.Participant, error) {
	return func(ctx context.Context) (conversation.Participant, error) {
		return s.Store.Participant(ctx, conversationID, participantID)
	}
}

// answerable establishes that the caller may answer the participant's wait now: an active
// participant of the open conversation on the side that admits (the invitee themselves and
// anyone waiting get 403 waiting_for_admission or not_admitter), and the participant still
// waiting.
func (s *Service) answerable(ctx context.Context, p auth.Principal, conversationID, participantID string) (Access, conversation.Participant, error) {
	acc, err := Authorize(ctx, s.Store, p, conversationID)
	if err != nil {
		return Access{}, conversation.Participant{}, err
	}
	if err := acc.Conversation.RequireOpen(); err != nil {
		return Access{}, conversation.Participant{}, err
	}
	waiting, err := requestscope.ReadOnce(ctx, waitingKey(conversationID, participantID), s.readParticipant(conversationID, participantID))
	if store.IsNotFound(err) {
		return Access{}, conversation.Participant{}, errNoSuchParticipant
	}
	if err != nil {
		return Access{}, conversation.Participant{}, apperror.Internal(err)
	}
	if err := acc.Participant.CheckAdmitter(waiting); err != nil {
		return Access{}, conversation.Participant{}, err
	}
	if waiting.Active() || waiting.TimedOut(s.Store.Now()) {
		return Access{}, conversation.Participant{}, errNotWaiting
	}
	return acc, waiting, nil
}

// answerError maps a failed admission or refusal: a race lost to another answer, the clock
// or the end.
func answerError(err error) error {
	switch {
	case err == nil:
		return nil
	case store.FailedOn(err, "participant"):
		return errNotWaiting
	case store.FailedOn(err, "open"):
		return errEnded
	}
	return apperror.Internal(err)
}

// LobbyReport says what one sweep of the lobby did.
type LobbyReport struct {
	// Refused were waiting past their time: refused (with the event that tells it), sessions ended.
	Refused int `json:"refused"`
	// Skipped were answered meanwhile (the index was behind).
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
}

// Add adds another page's counts.
func (r *LobbyReport) Add(o LobbyReport) {
	r.Refused += o.Refused
	r.Skipped += o.Skipped
	r.Failed += o.Failed
}

// TimeOutDue refuses every invitee of the sweep's page (store.Due) whose wait ran out: reads
// never wait for it (a wait that ran out is a refusal at read time, see AuthorizePresent);
// the sweep records it (the push function then pushes participant.refused and closes the
// invitee's sockets), within about a minute.
func (s *Service) TimeOutDue(ctx context.Context, due []conversation.Participant) (LobbyReport, error) {
	var rep LobbyReport
	var errs []error
	for _, p := range due {
		refused, err := s.timeOut(ctx, p)
		switch {
		case err != nil:
			rep.Failed++
			errs = append(errs, err)
		case refused:
			rep.Refused++
		default:
			rep.Skipped++
		}
	}
	return rep, errors.Join(errs...)
}

// timeOut refuses one invitee whose wait ran out, if they still wait (read again: the index
// lags). In an ended conversation nothing more can be written to its history, and nobody is
// left to tell: the invitee is simply removed (the end already ended their session).
func (s *Service) timeOut(ctx context.Context, indexed conversation.Participant) (bool, error) {
	p, err := s.Store.Participant(ctx, indexed.ConversationID, indexed.ID)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !p.TimedOut(s.Store.Now()) {
		return false, nil // admitted, refused or timed out meanwhile
	}
	events := []conversation.Event{conversation.RefusedEvent(p, "", conversation.RefusedTimeout, s.now())}
	err = s.Store.RefuseParticipant(ctx, p, true, events)
	if store.FailedOn(err, "open") {
		events = nil
		err = s.Store.RefuseParticipant(ctx, p, true, nil)
	}
	if store.FailedOn(err, "participant") {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}
