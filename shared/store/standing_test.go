package store_test

import (
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/requestscope"
	"github.com/invite-forward/invite-forward/shared/store"
)

// TestStanding_OneReadOfEverythingAnAccessCheckNeeds: the conversation, the participant, the
// session and the head, each found or not.
func TestStanding_OneReadOfEverythingAnAccessCheckNeeds(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now()
	n := newConversation(now)
	n.Session = &store.Session{Hash: ids.Hash(ids.Token()), ConversationID: n.Conversation.ID, ParticipantID: n.Participant.ID, ExpiresAt: now.Add(time.Hour)}
	created(t, st, n)
	got, err := st.Standing(t.Context(), n.Conversation.ID, n.Participant.ID, n.Session.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ConversationFound || got.Conversation.ID != n.Conversation.ID || !got.ParticipantFound ||
		got.Participant.ID != n.Participant.ID || !got.SessionFound || !got.Head.Open {
		t.Fatalf("standing of the visitor: %+v", got)
	}
	stranger, err := st.Standing(t.Context(), n.Conversation.ID, "vis_nobody", "no-such-session")
	if err != nil || stranger.ParticipantFound || stranger.SessionFound || !stranger.ConversationFound {
		t.Fatalf("standing of a stranger: %+v, %v", stranger, err)
	}
	none, err := st.Standing(t.Context(), "conv_none", n.Participant.ID, "")
	if err != nil || none.ConversationFound || none.ParticipantFound || none.Head.Open {
		t.Fatalf("standing in no conversation: %+v, %v", none, err)
	}
}

// TestStanding_AStaleHeadCostsAFreshReadNotAWrongAnswer: a request read the head, another
// request changed the conversation, then the first writes. Its write must land after the
// other's (no seq reused), and a refusal its stale head would have made (the pending cap) is
// not made.
func TestStanding_AStaleHeadCostsAFreshReadNotAWrongAnswer(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	now := time.Now().UTC()
	n := newConversation(now)
	created(t, st, n)
	conv := n.Conversation.ID
	msg := conversation.Event{ConversationID: conv, Type: conversation.EventMessageCreated, At: now, Audience: conversation.AudienceEveryone}

	slow := requestscope.New(t.Context())
	read, err := st.Standing(slow, conv, n.Participant.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	meanwhile, err := st.PostMessage(t.Context(), msg, n.Participant.ID)
	if err != nil {
		t.Fatal(err)
	}
	late, err := st.PostMessage(slow, msg, n.Participant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if meanwhile.Seq != read.Head.Seq+1 || late.Seq != meanwhile.Seq+1 {
		t.Fatalf("seqs: head read at %d, then %d and %d", read.Head.Seq, meanwhile.Seq, late.Seq)
	}

	var pending []invitation.Invitation
	for range store.MaxPending {
		inv := pinInvitation(conv, now)
		if err := st.CreateInvitation(t.Context(), inv, nil); err != nil {
			t.Fatal(err)
		}
		pending = append(pending, inv)
	}
	full := requestscope.New(t.Context())
	if read, err = st.Standing(full, conv, n.Participant.ID, ""); err != nil || len(read.Head.Pending) != store.MaxPending {
		t.Fatalf("head at the cap: %+v, %v", read.Head, err)
	}
	if err := st.RevokeInvitation(t.Context(), pending[0], "anna", now, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateInvitation(full, pinInvitation(conv, now), nil); err != nil {
		t.Fatalf("an invitation after one was revoked, on a head read before: %v", err)
	}
	if err := st.CreateInvitation(t.Context(), pinInvitation(conv, now), nil); !store.IsTooManyPending(err) {
		t.Fatalf("one over the cap: %v", err)
	}
}
