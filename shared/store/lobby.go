package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
)

// The lobby (SPEC §9.3). A waiting participant is a participant item with state "waiting",
// admit and waitingUntil (epoch seconds, compared with the clock in every condition, like an
// invitation's validUntil), and a place in the due index (due.go: gsi3 DUE#<shard> /
// <waitingUntil ms>#<conversationId>#<participantId>) so the sweep finds the waits that ran
// out without a scan. Admission makes it active and takes it out of the index; refusal deletes it with the
// session. Of an admission, a refusal and a timeout exactly one happens: each is conditioned
// on the participant still waiting, and a person's answer on the wait not having run out,
// the timeout's on its having run out.

func lobbyDueSK(p conversation.Participant) string {
	return sortKeyTime(p.WaitingUntil) + "#" + p.ConversationID + "#" + p.ID
}

// condWaiting holds while the participant waits: with stillOnTime, only before the wait runs
// out; without, only after.
func (s *Store) condWaiting(stillOnTime bool) cond {
	c := cond{
		expr:   "#state = :waiting AND waitingUntil <= :now",
		names:  map[string]string{"#state": "state"},
		values: map[string]types.AttributeValue{":waiting": str(string(conversation.StateWaiting)), ":now": num(s.nowUnix())},
	}
	if stillOnTime {
		c.expr = "#state = :waiting AND waitingUntil > :now"
	}
	return c
}

// AdmitParticipant lets a waiting participant in, with the events that tell it; their access
// (and so what they are pushed) starts with the admission, like a join's. It fails on
// "participant" if they no longer wait (admitted, refused or timed out meanwhile) and on
// "open" once the conversation has ended.
func (s *Store) AdmitParticipant(ctx context.Context, p conversation.Participant, events []conversation.Event) error {
	c := s.condWaiting(true)
	c.values[sinceSeqValue] = num(0) // stamped at commit (history.go, stampJoins)
	t := s.newTx().
		update("participant", convPK(p.ConversationID), partSK(p.ID),
			"SET sinceSeq = "+sinceSeqValue+" REMOVE #state, admit, waitingUntil, gsi3pk, gsi3sk", c)
	t.change(p.ConversationID) // through the head even without events: it stamps the admission
	return t.events(events).commit(ctx)
}

// RefuseParticipant turns a waiting participant away: the participant and their session are
// deleted, with the events that tell it. timedOut says it is the clock's refusal (the wait
// must have run out) rather than a person's (it must not have). It fails on "participant" if
// they no longer wait as assumed, and on "open" (when there are events) once the
// conversation has ended; with no events it works in an ended conversation, whose lobby the
// sweep empties.
func (s *Store) RefuseParticipant(ctx context.Context, p conversation.Participant, timedOut bool, events []conversation.Event) error {
	t := s.newTx().del("participant", convPK(p.ConversationID), partSK(p.ID), s.condWaiting(!timedOut))
	if p.SessionHash != "" {
		t.del("session", sessionPK(p.SessionHash), sessionSK, condSessionOf(p.ConversationID))
	}
	return t.events(events).commit(ctx)
}
