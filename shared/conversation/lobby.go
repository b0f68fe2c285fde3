package conversation

import (
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
)

// The lobby (SPEC §9.3): a customer invitation may ask that whoever redeems it waits to be
// let in. The invitee becomes a participant in state "waiting": they hold a session and may
// open a WebSocket, but read nothing, post nothing and are pushed nothing but their own
// admission or refusal, until the conversation's agents (or, if the invitation says so, its
// customers already present) admit or refuse them, or the wait times out.

// ParticipantState says whether a participant takes part or waits in the lobby.
type ParticipantState string

const (
	StateActive  ParticipantState = "active"
	StateWaiting ParticipantState = "waiting"
)

// Admit says who lets an invitee in: nobody needs to ("none", the default), the
// conversation's agents ("agent"), or its customers already present and its agents
// ("customer").
type Admit string

const (
	AdmitNone     Admit = "none"
	AdmitAgent    Admit = "agent"
	AdmitCustomer Admit = "customer"
)

// DefaultLobbyTimeout is how long an invitee waits for an answer before they are refused.
const DefaultLobbyTimeout = 10 * time.Minute

// ParseAdmit reads the admit field of an invitation request; absent is "none".
func ParseAdmit(raw string) (Admit, error) {
	switch a := Admit(raw); a {
	case "", AdmitNone:
		return AdmitNone, nil
	case AdmitAgent, AdmitCustomer:
		return a, nil
	}
	return "", apperror.Invalid("invalid_admit", `admit must be "none", "agent" or "customer"`)
}

// Lobby reports whether an invitee must wait to be let in.
func (a Admit) Lobby() bool { return a == AdmitAgent || a == AdmitCustomer }

// LobbyAudience is who hears of an invitee waiting, and of their refusal: the agents, and
// for "customer" the customers present too (they answer it).
func LobbyAudience(a Admit) Audience {
	if a == AdmitCustomer {
		return AudienceEveryone
	}
	return AudienceAgents
}

// Active reports whether the participant takes part (is not waiting in the lobby).
func (p Participant) Active() bool { return p.State != StateWaiting }

// TimedOut reports whether a waiting participant's time ran out: from then on they are
// refused, whether or not the sweep has recorded it yet (decided at read, like expiry).
func (p Participant) TimedOut(now time.Time) bool {
	return p.State == StateWaiting && !now.Before(p.WaitingUntil)
}

// ErrWaitingForAdmission answers a waiting participant on every route but the WebSocket's.
var ErrWaitingForAdmission = apperror.Forbidden("waiting_for_admission", "you are waiting to be let into the conversation")

// ErrNotAdmitter answers someone who may not admit or refuse this invitee.
var ErrNotAdmitter = apperror.Forbidden("not_admitter", "only the conversation's agents (or, where the invitation says so, its customers) let someone in")

// CheckAdmitter allows an active participant to admit or refuse the waiting one: any agent,
// and a customer when the invitation said "customer". The invitee never answers for
// themselves.
func (p Participant) CheckAdmitter(waiting Participant) error {
	if !p.Active() {
		return ErrWaitingForAdmission
	}
	if p.ID == waiting.ID || (!p.IsAgent() && waiting.Admit != AdmitCustomer) {
		return ErrNotAdmitter
	}
	return nil
}

// Lobby event types (SPEC §9.3).
const (
	EventParticipantWaiting  = "participant.waiting"
	EventParticipantAdmitted = "participant.admitted"
	EventParticipantRefused  = "participant.refused"
)

// Why a waiting participant was refused.
const (
	RefusedByParticipant = "refused"
	RefusedTimeout       = "timeout"
)

// WaitingEvent tells those who answer that an invitee waits, and until when.
func WaitingEvent(p Participant, at time.Time) Event {
	data := lobbyData(p)
	data["admit"] = string(p.Admit)
	data["waitingUntil"] = p.WaitingUntil.UTC().Format(time.RFC3339)
	return Event{ConversationID: p.ConversationID, Type: EventParticipantWaiting, At: at,
		Audience: LobbyAudience(p.Admit), ActorID: p.ID, Data: data}
}

// AdmittedEvent tells everyone that the invitee is in; it is their participant.joined.
func AdmittedEvent(p Participant, by string, at time.Time) Event {
	data := lobbyData(p)
	data["admittedBy"] = by
	return Event{ConversationID: p.ConversationID, Type: EventParticipantAdmitted, At: at,
		Audience: AudienceEveryone, ActorID: by, Data: data}
}

// RefusedEvent tells those who heard the invitee wait (and the invitee, see
// RefusedParticipant) that they were refused, by whom or by the clock.
func RefusedEvent(p Participant, by, reason string, at time.Time) Event {
	data := lobbyData(p)
	data["reason"] = reason
	data["admit"] = string(p.Admit)
	if by != "" {
		data["refusedBy"] = by
	}
	return Event{ConversationID: p.ConversationID, Type: EventParticipantRefused, At: at,
		Audience: LobbyAudience(p.Admit), ActorID: by, Data: data}
}

// RefusedParticipant is the participant a participant.refused event is about: no longer in
// the conversation, yet its one recipient besides those who heard them wait.
func RefusedParticipant(e Event) (string, bool) {
	if e.Type != EventParticipantRefused {
		return "", false
	}
	id, ok := e.Data["participantId"].(string)
	return id, ok && id != ""
}

func lobbyData(p Participant) map[string]any {
	d := map[string]any{"participantId": p.ID, "kind": string(p.Kind)}
	if p.DisplayName != "" {
		d["displayName"] = p.DisplayName
	}
	return d
}
