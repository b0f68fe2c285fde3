package push

import (
	"strings"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Who receives what — the one place the rule lives (SPEC §6, README "Push"). Recipients are
// decided when the push is sent, from the data as it is then, never from what the request
// that wrote the event saw:
//
//   - Participants: the conversation's participants who may see the event (visitors only
//     audience "everyone") and had access when it was written: someone who joined later is
//     not pushed what came before (history has it); whoever left, was removed or whose
//     forward was accepted is no participant any more and gets nothing after that.
//   - Addressees: the principals the event names (Event.PushTo, written with it): the target
//     agent of an invitation or forward, a team's members, a forwarder whose forward comes
//     back. Agents addressed this way see the agents' form.
//
//   - Subject: the principal the event is about, when they may no longer be a participant
//     and must hear it whatever its audience: an invitee refused entry (SPEC §9.3).
//
// A participant waiting in the lobby (SPEC §9.3) is pushed nothing as a participant: once
// admitted, their access starts with the admission (participant.admitted is their join);
// refused, they hear it as its subject.
//
// Close says whose sockets the server closes once the event is sent: visitors who lost access
// (SPEC §5 "Losing access is immediate"); an agent's socket serves all their conversations
// and is never closed for one.
//
// A new event type adds its line here; a type without one gets defaultRule and a warning.

// Rule is who receives one type of event.
type Rule struct {
	Participants bool
	Addressees   bool
	// Subject returns principal keys that receive the event whatever its audience.
	Subject func(e conversation.Event) []string
	// Close returns the principal keys whose connections are closed after the event is sent.
	Close func(e conversation.Event, participants []conversation.Participant) []string
}

var (
	everyoneConcerned = Rule{Participants: true, Addressees: true}
	addresseesOnly    = Rule{Addressees: true}
	defaultRule       = everyoneConcerned
)

// Rules maps each event type to its Rule.
var Rules = map[string]Rule{
	conversation.EventMessageCreated:         everyoneConcerned,
	conversation.EventParticipantJoined:      everyoneConcerned,
	conversation.EventParticipantLeft:        {Participants: true, Addressees: true, Close: leavingVisitor},
	conversation.EventConversationStarted:    everyoneConcerned,
	conversation.EventConversationEnded:      {Participants: true, Addressees: true, Close: everyVisitor},
	conversation.EventConversationAssigned:   everyoneConcerned,
	conversation.EventConversationForwarded:  everyoneConcerned,
	conversation.EventConversationUnassigned: everyoneConcerned,
	conversation.EventInvitationCreated:      everyoneConcerned,
	conversation.EventInvitationAccepted:     everyoneConcerned,
	conversation.EventInvitationDeclined:     everyoneConcerned,
	conversation.EventInvitationRedeemed:     everyoneConcerned,
	conversation.EventInvitationRevoked:      everyoneConcerned,
	conversation.EventInvitationExpired:      everyoneConcerned,
	conversation.EventInvitationFailed:       everyoneConcerned,
	// Agents only (their audience): a new PIN or email went out; an invitation email's
	// delivery changed (SPEC §9.1).
	invitation.EventResent:   everyoneConcerned,
	invitation.EventDelivery: everyoneConcerned,
	// Agents only: a fallback chain moved (SPEC §9.2), to the conversation's agents and the
	// newly offered target.
	invitation.EventUpdated: everyoneConcerned,
	// The lobby (SPEC §9.3): those who answer hear an invitee wait (its audience); the
	// refused invitee hears their refusal and loses their sockets.
	conversation.EventParticipantWaiting:  everyoneConcerned,
	conversation.EventParticipantAdmitted: everyoneConcerned,
	conversation.EventParticipantRefused: {Participants: true, Addressees: true, Subject: refusedInvitee,
		Close: func(e conversation.Event, _ []conversation.Participant) []string { return refusedVisitor(e) }},
	// Push-only (an outbox item, no seq): a team's other members hear that a colleague
	// accepted first; the participants have invitation.accepted in history.
	conversation.EventInvitationTaken: addresseesOnly,
}

// ruleFor is the rule of an event type, and whether the table has one.
func ruleFor(eventType string) (Rule, bool) {
	r, ok := Rules[eventType]
	if !ok {
		return defaultRule, false
	}
	return r, true
}

// leavingVisitor is the visitor who left, if a visitor left.
func leavingVisitor(e conversation.Event, _ []conversation.Participant) []string {
	kind, _ := e.Data["kind"].(string)
	id, _ := e.Data["participantId"].(string)
	if kind != string(conversation.KindVisitor) || id == "" {
		return nil
	}
	return []string{store.VisitorPrincipal(id)}
}

// refusedInvitee is the invitee a participant.refused is about.
func refusedInvitee(e conversation.Event) []string {
	id, ok := conversation.RefusedParticipant(e)
	if !ok {
		return nil
	}
	if kind, _ := e.Data["kind"].(string); kind == string(conversation.KindAgent) {
		return []string{store.AgentPrincipal(strings.TrimPrefix(id, conversation.AgentParticipantID("")))}
	}
	return []string{store.VisitorPrincipal(id)}
}

// refusedVisitor is the refused invitee if a visitor: their session has ended, and so do
// their sockets.
func refusedVisitor(e conversation.Event) []string {
	if kind, _ := e.Data["kind"].(string); kind == string(conversation.KindAgent) {
		return nil
	}
	return refusedInvitee(e)
}

// everyVisitor is every visitor of an ended conversation (their participant items stay; their
// sessions are deleted by the end).
func everyVisitor(_ conversation.Event, parts []conversation.Participant) []string {
	var out []string
	for _, p := range parts {
		if !p.IsAgent() {
			out = append(out, store.VisitorPrincipal(p.ID))
		}
	}
	return out
}

// recipients is the rule applied: the principal keys that receive the event.
func (r Rule) recipients(e conversation.Event, parts []conversation.Participant) map[string]bool {
	keys := map[string]bool{}
	if r.Participants {
		for _, part := range parts {
			if !part.Active() || !e.VisibleTo(part.Kind) || !part.HadAccessAt(e) {
				continue
			}
			if part.IsAgent() {
				keys[store.AgentPrincipal(part.AgentID)] = true
			} else {
				keys[store.VisitorPrincipal(part.ID)] = true
			}
		}
	}
	if r.Subject != nil {
		for _, k := range r.Subject(e) {
			keys[k] = true
		}
	}
	if r.Addressees {
		for _, k := range e.PushTo {
			// An address never overrides the audience: no visitor gets an agents-only event.
			if k != "" && e.VisibleTo(kindOfPrincipal(k)) {
				keys[k] = true
			}
		}
	}
	return keys
}
