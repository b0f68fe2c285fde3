package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/roundtrips"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

const testRetention = 48 * time.Hour

// retentionStore is a store over a fresh table without a stream (nothing here is pushed).
func retentionStore(t *testing.T) *Store {
	t.Helper()
	return New(testenv.DynamoDB(t), testenv.NewTableWithoutStream(t)).WithRetention(testRetention)
}

// startWithVisitor starts a conversation with a visitor (and their session) and an agent.
func startWithVisitor(t *testing.T, s *Store, now time.Time) conversation.Conversation {
	t.Helper()
	conv := conversation.Conversation{ID: ids.New("conv"), Status: conversation.StatusOpen, CreatedAt: now}
	vis := conversation.Participant{ConversationID: conv.ID, ID: ids.New("vis"), Kind: conversation.KindVisitor, JoinedAt: now, SessionHash: ids.Hash(ids.Token())}
	err := s.CreateConversation(t.Context(), NewConversation{
		Conversation: conv, Participant: vis,
		Session: &Session{Hash: vis.SessionHash, ConversationID: conv.ID, ParticipantID: vis.ID, ExpiresAt: now.Add(time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	agent := conversation.Participant{ConversationID: conv.ID, ID: conversation.AgentParticipantID("ada"), Kind: conversation.KindAgent, AgentID: "ada", JoinedAt: now}
	if err := s.AddParticipant(t.Context(), agent, nil, nil); err != nil {
		t.Fatal(err)
	}
	return conv
}

// seedHistory writes n messages after the conversation's last event, 25 a call, and moves
// the head past them: a long history without a transaction per message.
func seedHistory(t *testing.T, s *Store, conv conversation.Conversation, n int, now time.Time) {
	t.Helper()
	head, err := s.head(t.Context(), conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]types.AttributeValue
	for i := range n {
		e := conversation.Event{
			ConversationID: conv.ID, Seq: head.Seq + int64(i) + 1, PrevVisitorSeq: head.Seq + int64(i), Type: conversation.EventMessageCreated,
			At: now, Audience: conversation.AudienceEveryone, ActorID: "vis", Data: map[string]any{"text": fmt.Sprintf("message %d", i)},
		}
		items = append(items, mustMarshal(t, toEventItem(e)))
	}
	if err := s.putAll(t.Context(), items); err != nil {
		t.Fatal(err)
	}
	seq := head.Seq + int64(n)
	_, err = s.db.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(convPK(conv.ID), headSK),
		UpdateExpression:          aws.String("SET seq = :seq, visitorSeq = :seq, rev = rev + :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":seq": num(seq), ":one": num(1)},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func end(t *testing.T, s *Store, conv conversation.Conversation, at time.Time) conversation.Event {
	t.Helper()
	conv.EndedAt = at
	ended := conversation.Event{ConversationID: conv.ID, Type: conversation.EventConversationEnded, At: at, Audience: conversation.AudienceEveryone, ActorID: "agent_ada"}
	if err := s.EndConversation(t.Context(), conv, &ended); err != nil {
		t.Fatal(err)
	}
	return ended
}

// scan reads the whole table, keyed by "pk sk".
func scan(t *testing.T, s *Store) map[string]map[string]types.AttributeValue {
	t.Helper()
	out := map[string]map[string]types.AttributeValue{}
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Items {
			out[testenv.Attr(m, "pk")+" "+testenv.Attr(m, "sk")] = m
		}
	}
	return out
}

// checkStamped fails unless every item of the conversation's partition carries exp (0: none
// carries any expiry), and returns how many events it holds.
func checkStamped(t *testing.T, items map[string]map[string]types.AttributeValue, conversationID string, exp int64) int {
	t.Helper()
	events := 0
	for k, m := range items {
		if !strings.HasPrefix(k, convPK(conversationID)+" ") {
			continue
		}
		if strings.HasPrefix(testenv.Attr(m, "sk"), "EVT#") {
			events++
		}
		got := testenv.Attr(m, "expiresAt")
		switch {
		case exp == 0 && got != "":
			t.Errorf("%s of an open conversation expires at %s", k, got)
		case exp != 0 && got != strconv.FormatInt(exp, 10):
			t.Errorf("%s expires at %q, want %d", k, got, exp)
		}
	}
	return events
}

func countOps(ops []string) map[string]int {
	n := map[string]int{}
	for _, op := range ops {
		n[op]++
	}
	return n
}

// TestRetain_StampsEveryItemOfAnEndedConversationPageByPage_NoneOfAnOpenOne: the end stamps
// the conversation and its head; the sweep's Retain stamps the rest, 500 events a page and 25
// a write, and takes the head out of the due index. The open conversation
// beside it, with as long a history, carries no expiry on any item.
func TestRetain_StampsEveryItemOfAnEndedConversationPageByPage_NoneOfAnOpenOne(t *testing.T) {
	t.Parallel()
	s := retentionStore(t)
	now := time.Now().UTC()
	ended, open := startWithVisitor(t, s, now), startWithVisitor(t, s, now)
	const n = 1200
	seedHistory(t, s, ended, n, now)
	seedHistory(t, s, open, n, now)
	endedAt := now.Add(time.Minute)
	end(t, s, ended, endedAt)
	exp := endedAt.Add(testRetention).Unix()

	if due := allDue(t, s, endedAt); len(due) != 1 || due[ended.ID] != 1 {
		t.Fatalf("due = %v; want the ended conversation alone", due)
	}
	ctx, counter := roundtrips.Start(t.Context())
	retainStart := time.Now()
	done, err := s.Retain(ctx, ended.ID, endedAt)
	if err != nil || !done {
		t.Fatalf("Retain = %v, %v", done, err)
	}
	items := scan(t, s)
	if got := checkStamped(t, items, ended.ID, exp); got != n+1 {
		t.Errorf("%d events in the ended conversation, want %d", got, n+1)
	}
	if got := checkStamped(t, items, open.ID, 0); got != n {
		t.Errorf("%d events in the open conversation, want %d", got, n)
	}
	head := items[convPK(ended.ID)+" "+headSK]
	for _, a := range []string{"gsi3pk", "gsi3sk", "retainedThrough"} {
		if testenv.Attr(head, a) != "" {
			t.Errorf("the head keeps %s after its items were stamped", a)
		}
	}
	sessions := 0
	for k := range items {
		if strings.HasPrefix(k, "SESSION#") {
			sessions++
		}
	}
	if sessions != 1 {
		t.Errorf("%d sessions left, want the open conversation's", sessions)
	}
	if due := allDue(t, s, endedAt); len(due) != 0 {
		t.Errorf("still due after Retain: %v", due)
	}
	// The budget of the step, exactly: the head; the end's cleanup (participants listed, the
	// visitor's session deleted); participants and invitations listed (2 Queries), 3 pages of
	// events (3 Queries, the 1,201 events stamped 25 a write, progress recorded after the
	// first two), the 2 participants stamped, and the head taken out of the index.
	t.Logf("Retain of %d events: %d calls, %d sequential, %v", n+1, counter.Calls(), counter.Sequential(), time.Since(retainStart))
	ops := countOps(counter.Operations())
	want := map[string]int{"GetItem": 1, "Query": 1 + 2 + 3, "TransactWriteItems": 1, "BatchWriteItem": (n + 1 + 24) / 25, "UpdateItem": 2 + 2 + 1}
	for op, w := range want {
		if ops[op] != w {
			t.Errorf("%s: %d calls, want %d (all: %v)", op, ops[op], w, ops)
		}
	}
	if len(ops) != len(want) {
		t.Errorf("operations %v, want only %v", ops, want)
	}

	// Again: nothing left to do, nothing written.
	ctx, counter = roundtrips.Start(t.Context())
	if done, err := s.Retain(ctx, ended.ID, endedAt); err != nil || !done {
		t.Fatalf("Retain again = %v, %v", done, err)
	}
	if ops := counter.Operations(); len(ops) != 1 || ops[0] != "GetItem" {
		t.Errorf("a second Retain made %v; want the head read, nothing written", ops)
	}
}

// TestRetain_GoesOnWhereAnInterruptedSweepStopped: a sweep that stamped a first page and then
// died (or ran out of time) left its progress on the head; the next one stamps only the rest.
// A sweep near its deadline stops before a page and says so.
func TestRetain_GoesOnWhereAnInterruptedSweepStopped(t *testing.T) {
	t.Parallel()
	s := retentionStore(t)
	now := time.Now().UTC()
	conv := startWithVisitor(t, s, now)
	const n = 700
	seedHistory(t, s, conv, n, now)
	end(t, s, conv, now)
	exp := now.Add(testRetention).Unix()

	// "Near" its deadline by the margin, with time enough for every call on a busy machine.
	s.retainMargin = time.Hour
	nearly, cancel := context.WithDeadline(t.Context(), time.Now().Add(30*time.Minute))
	done, err := s.Retain(nearly, conv.ID, now)
	cancel()
	if err != nil || done {
		t.Fatalf("Retain near its deadline = %v, %v; want paused", done, err)
	}
	// The first page as an interrupted sweep left it.
	page, last, err := s.eventPage(t.Context(), conv.ID, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.putAll(t.Context(), withExpiry(page, exp)); err != nil {
		t.Fatal(err)
	}
	if err := s.recordRetained(t.Context(), conv.ID, last); err != nil {
		t.Fatal(err)
	}
	ctx, counter := roundtrips.Start(t.Context())
	if done, err := s.Retain(ctx, conv.ID, now); err != nil || !done {
		t.Fatalf("Retain = %v, %v", done, err)
	}
	if got, want := countOps(counter.Operations())["BatchWriteItem"], (n+1-retainPage+24)/25; got != want {
		t.Errorf("%d batch writes after the interruption, want %d: only what was left", got, want)
	}
	checkStamped(t, scan(t, s), conv.ID, exp)
}

// TestRetain_EndRacingPostsLeavesNoEventUnstamped (many rounds, -race): posts race the end;
// whatever committed before it is in the history the sweep stamps, nothing lands after
// conversation.ended, and history stays gapless.
func TestRetain_EndRacingPostsLeavesNoEventUnstamped(t *testing.T) {
	t.Parallel()
	s := retentionStore(t)
	for round := range 12 {
		now := time.Now().UTC()
		conv := startWithVisitor(t, s, now)
		var wg sync.WaitGroup
		var posted sync.Map
		for w := range 6 {
			wg.Go(func() {
				for i := 0; ; i++ {
					e := conversation.Event{ConversationID: conv.ID, Type: conversation.EventMessageCreated, At: time.Now(),
						Audience: conversation.AudienceEveryone, ActorID: "agent_ada", Data: map[string]any{"text": fmt.Sprintf("%d-%d", w, i)}}
					got, err := s.PostMessage(t.Context(), e, conversation.AgentParticipantID("ada"))
					if FailedOn(err, "open") {
						return
					}
					if err != nil {
						t.Errorf("round %d: post: %v", round, err)
						return
					}
					posted.Store(got.Seq, true)
				}
			})
		}
		time.Sleep(time.Duration(round%4) * 5 * time.Millisecond)
		ended := end(t, s, conv, time.Now().UTC())
		wg.Wait()
		if done, err := s.Retain(t.Context(), conv.ID, time.Now()); err != nil || !done {
			t.Fatalf("round %d: Retain = %v, %v", round, done, err)
		}
		items := scan(t, s)
		events := checkStamped(t, items, conv.ID, ended.At.Add(testRetention).Unix())
		if int64(events) != ended.Seq {
			t.Errorf("round %d: %d events, conversation.ended is #%d: a gap or an event after the end", round, events, ended.Seq)
		}
		posted.Range(func(seq, _ any) bool {
			if _, ok := items[convPK(conv.ID)+" "+eventSK(seq.(int64))]; !ok || seq.(int64) >= ended.Seq {
				t.Errorf("round %d: committed post #%d is not in history before the end (#%d)", round, seq, ended.Seq)
			}
			return true
		})
	}
}

// TestRetention_PastItsExpiryAConversationReadsAsGoneBeforeTTLDeletesIt: TTL deletes days
// late; from the second retention runs out, every read treats the conversation as gone.
func TestRetention_PastItsExpiryAConversationReadsAsGoneBeforeTTLDeletesIt(t *testing.T) {
	t.Parallel()
	s := retentionStore(t)
	now := time.Now().UTC()
	conv := startWithVisitor(t, s, now)
	seedHistory(t, s, conv, 3, now)
	end(t, s, conv, now)
	if done, err := s.Retain(t.Context(), conv.ID, now); err != nil || !done {
		t.Fatalf("Retain = %v, %v", done, err)
	}
	reads := func(at time.Time) (found int) {
		st := s.WithClock(func() time.Time { return at })
		if _, err := st.Conversation(t.Context(), conv.ID); err == nil {
			found++
		} else if !IsNotFound(err) {
			t.Fatal(err)
		}
		if _, err := st.head(t.Context(), conv.ID); err == nil {
			found++
		}
		if _, err := st.Participant(t.Context(), conv.ID, conversation.AgentParticipantID("ada")); err == nil {
			found++
		}
		parts, err := st.Participants(t.Context(), conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		page, err := st.Events(t.Context(), conv.ID, 0, 50, conversation.KindAgent)
		if err != nil {
			t.Fatal(err)
		}
		return found + len(parts) + len(page.Events)
	}
	if got := reads(now.Add(testRetention - time.Second)); got != 3+2+4 {
		t.Errorf("a second before its expiry: %d reads found something, want all 9", got)
	}
	if got := reads(now.Add(testRetention)); got != 0 {
		t.Errorf("at its expiry, still in the table: %d reads found something, want none", got)
	}
	// The sweep has nothing to do with it any more, and does not fail on it.
	if done, err := s.WithClock(func() time.Time { return now.Add(testRetention) }).Retain(t.Context(), conv.ID, now); err != nil || !done {
		t.Errorf("Retain past its expiry = %v, %v", done, err)
	}
}

// TestDue_WalksEveryEndedConversationWithItsCursor: ended conversations spread over the due
// index's shards are all listed, page by page, each once.
func TestDue_WalksEveryEndedConversationWithItsCursor(t *testing.T) {
	t.Parallel()
	s := retentionStore(t)
	now := time.Now().UTC()
	want := map[string]bool{}
	for range 20 {
		c := startWithVisitor(t, s, now)
		end(t, s, c, now)
		want[c.ID] = true
	}
	got := allDueBy(t, s, now, 2)
	for id := range want {
		if got[id] != 1 {
			t.Errorf("%s listed %d times", id, got[id])
		}
	}
	if len(got) != len(want) {
		t.Errorf("listed %d conversations, want %d", len(got), len(want))
	}
}

// allDue walks the due index with its cursor: how often each conversation was listed.
func allDue(t *testing.T, s *Store, now time.Time) map[string]int { return allDueBy(t, s, now, 50) }

func allDueBy(t *testing.T, s *Store, now time.Time, limit int) map[string]int {
	t.Helper()
	got := map[string]int{}
	cursor := ""
	for calls := 0; ; calls++ {
		if calls > 100 {
			t.Fatal("the cursor never ends")
		}
		due, next, err := s.Due(t.Context(), now, cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range due.Ended {
			got[id]++
		}
		if next == "" {
			return got
		}
		cursor = next
	}
}

// TestRetain_TwoSweepsAtOnceLeaveTheSameTable (-race): sweeps that overlap (a slow run and the
// next minute's) stamp the same conversations at once; every step is idempotent, so both
// succeed and the table is as one would leave it.
func TestRetain_TwoSweepsAtOnceLeaveTheSameTable(t *testing.T) {
	t.Parallel()
	s := retentionStore(t)
	now := time.Now().UTC()
	var convs []conversation.Conversation
	for range 4 {
		c := startWithVisitor(t, s, now)
		seedHistory(t, s, c, 60, now)
		end(t, s, c, now)
		convs = append(convs, c)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for _, c := range convs {
				if done, err := s.Retain(t.Context(), c.ID, now); err != nil || !done {
					t.Errorf("Retain %s = %v, %v", c.ID, done, err)
				}
			}
		})
	}
	wg.Wait()
	items := scan(t, s)
	for _, c := range convs {
		if got := checkStamped(t, items, c.ID, now.Add(testRetention).Unix()); got != 61 {
			t.Errorf("%s: %d events, want 61", c.ID, got)
		}
	}
	if due := allDue(t, s, now); len(due) != 0 {
		t.Errorf("still due: %v", due)
	}
}
