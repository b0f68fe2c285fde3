package push_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/push"
	"github.com/invite-forward/invite-forward/shared/push/pushtest"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is a table whose stream drives the publisher (read like Lambda's event source
// mapping does, by the local gateway's poller), and a fake @connections endpoint it pushes to
// through the real SDK client. Nothing ever calls the publisher: events are committed through
// the store, and their pushes arrive.
type world struct {
	st     *store.Store
	srv    *pushtest.Server
	pub    *push.Publisher
	stream *gateway.StreamPoller
	logs   *syncBuffer
}

func newWorld(t testing.TB, opts push.Options) *world {
	t.Helper()
	st := store.New(testenv.DynamoDB(t), testenv.NewTable(t))
	srv := pushtest.New(t)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := &world{st: st, srv: srv, pub: push.New(srv.Client(), st, log, opts), logs: logs}
	w.stream = readStream(t, st.Table(), w.pub.HandleStream, log)
	return w
}

// readStream runs the template's event source of the push function over the table's stream.
func readStream(t testing.TB, table string, invoke gateway.StreamInvoker, log *slog.Logger) *gateway.StreamPoller {
	t.Helper()
	return pollWith(t, table, pushSource(t), invoke, log)
}

// fromTheStart is the push function's event source reading the stream from its beginning.
func fromTheStart(t testing.TB) gateway.StreamSource {
	src := pushSource(t)
	src.FromLatest = false
	return src
}

func pushSource(t testing.TB) gateway.StreamSource {
	t.Helper()
	tmpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	sources, err := gateway.StreamSources(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range sources {
		if src.Function == "PushEventsFunction" {
			return src
		}
	}
	t.Fatalf("stream sources %v: none is the push function's", sources)
	return gateway.StreamSource{}
}

func pollWith(t testing.TB, table string, src gateway.StreamSource, invoke gateway.StreamInvoker, log *slog.Logger) *gateway.StreamPoller {
	t.Helper()
	client := dynamodbstreams.NewFromConfig(awsconfig.Static(testenv.Region), func(o *dynamodbstreams.Options) {
		o.BaseEndpoint = aws.String(testenv.DynamoDBEndpoint(t))
	})
	p, err := gateway.PollStream(t.Context(), client, table, src, invoke, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// commit writes the events to their conversation's history (as ada, a participant of every
// conversation here) and waits until the stream has been pushed to its end.
func (w *world) commit(t testing.TB, events ...conversation.Event) []conversation.Event {
	t.Helper()
	out := make([]conversation.Event, len(events))
	for i, e := range events {
		written, err := w.st.PostMessage(t.Context(), e, conversation.AgentParticipantID("ada"))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = written
	}
	w.settle(t)
	return out
}

// settle waits until everything committed so far has been pushed.
func (w *world) settle(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.stream.Drained(ctx); err != nil {
		t.Fatal(err)
	}
}

// conversation starts a conversation with the given agents and visitors in it and returns
// its id and the visitors' participant ids.
func (w *world) conversation(t testing.TB, agents []string, visitors int) (string, []string) {
	t.Helper()
	now := time.Now().UTC()
	conv := conversation.Conversation{ID: ids.New("conv"), Status: conversation.StatusOpen, Assignee: agents[0], CreatedAt: now}
	err := w.st.CreateConversation(t.Context(), store.NewConversation{Conversation: conv, Participant: agentIn(conv.ID, agents[0], now)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents[1:] {
		if err := w.st.AddParticipant(t.Context(), agentIn(conv.ID, a, now), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if agents[0] != "ada" && !slices.Contains(agents, "ada") {
		// commit posts as ada: she is in every conversation, connected or not.
		if err := w.st.AddParticipant(t.Context(), agentIn(conv.ID, "ada", now), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	var visitorIDs []string
	for range visitors {
		v := conversation.Participant{ConversationID: conv.ID, ID: ids.New("vis"), Kind: conversation.KindVisitor, JoinedAt: now}
		if err := w.st.AddParticipant(t.Context(), v, nil, nil); err != nil {
			t.Fatal(err)
		}
		visitorIDs = append(visitorIDs, v.ID)
	}
	return conv.ID, visitorIDs
}

func agentIn(conversationID, agentID string, now time.Time) conversation.Participant {
	return conversation.Participant{
		ConversationID: conversationID, ID: conversation.AgentParticipantID(agentID),
		Kind: conversation.KindAgent, AgentID: agentID, JoinedAt: now,
	}
}

func (w *world) connect(t testing.TB, connectionID, principalKey string) {
	t.Helper()
	if err := w.st.PutConnection(t.Context(), store.Connection{ID: connectionID, PrincipalKey: principalKey}); err != nil {
		t.Fatal(err)
	}
}

func event(conversationID, typ string, audience conversation.Audience, data map[string]any) conversation.Event {
	now := time.Now().UTC()
	return conversation.Event{
		ConversationID: conversationID, Type: typ, At: now, Audience: audience,
		ActorID: "agent_ada", Data: data,
	}
}

func types(ms []wsapi.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Type)
	}
	return out
}

func TestPublish_ReachesOnlyParticipantsWhoMaySeeTheEvent(t *testing.T) {
	t.Parallel()
	w := newWorld(t, push.Options{})
	conv, visitors := w.conversation(t, []string{"ada"}, 1)
	_, otherVisitors := w.conversation(t, []string{"bob"}, 1)
	w.connect(t, "ada-1", store.AgentPrincipal("ada"))
	w.connect(t, "ada-2", store.AgentPrincipal("ada"))
	w.connect(t, "vis-1", store.VisitorPrincipal(visitors[0]))
	w.connect(t, "bob-1", store.AgentPrincipal("bob"))
	w.connect(t, "other-vis-1", store.VisitorPrincipal(otherVisitors[0]))
	w.connect(t, "cy-1", store.AgentPrincipal("cy")) // an agent in neither conversation

	message := event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, map[string]any{"text": "hello"})
	forwardNote := event(conv, conversation.EventConversationForwarded, conversation.AudienceAgents, map[string]any{"message": "VIP, be nice"})
	w.commit(t, message, forwardNote)

	both := []string{conversation.EventMessageCreated, conversation.EventConversationForwarded}
	for _, c := range []string{"ada-1", "ada-2"} {
		if got := types(w.srv.Messages(t, c)); !slices.Equal(got, both) {
			t.Errorf("agent connection %s received %v, want %v in order", c, got, both)
		}
	}
	if got := types(w.srv.Messages(t, "vis-1")); !slices.Equal(got, both[:1]) {
		t.Errorf("visitor received %v, want only the message (never an agents-only event)", got)
	}
	for _, c := range []string{"bob-1", "other-vis-1", "cy-1"} {
		if got := w.srv.Raw(c); len(got) != 0 {
			t.Errorf("%s is not in conversation %s but received %d messages", c, conv, len(got))
		}
	}
}

func TestPublish_MessageFormat(t *testing.T) {
	t.Parallel()
	w := newWorld(t, push.Options{})
	conv, _ := w.conversation(t, []string{"ada"}, 0)
	w.connect(t, "ada-1", store.AgentPrincipal("ada"))
	first := event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, map[string]any{"text": "hi"})
	e := event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, map[string]any{"text": "hello"})
	written := w.commit(t, first, e)

	raw := w.srv.Raw("ada-1")
	if len(raw) != 2 {
		t.Fatalf("received %d messages, want 2", len(raw))
	}
	var got map[string]any
	if err := json.Unmarshal(raw[1], &got); err != nil {
		t.Fatal(err)
	}
	seq := written[1].Seq
	want := map[string]any{
		"type": e.Type, "conversationId": conv, "seq": seq, "prevSeq": seq - 1, "at": e.At.Truncate(time.Millisecond).Format(time.RFC3339Nano), // stored in ms
		"actorId": e.ActorID, "data": map[string]any{"text": "hello"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("message = %s\nwant      %v", raw[1], want)
	}
}

func TestPush_AlsoReachesTheAddressedAgents(t *testing.T) {
	t.Parallel()
	w := newWorld(t, push.Options{})
	conv, visitors := w.conversation(t, []string{"ada"}, 1)
	w.connect(t, "ada-1", store.AgentPrincipal("ada"))
	w.connect(t, "vis-1", store.VisitorPrincipal(visitors[0]))
	w.connect(t, "cy-1", store.AgentPrincipal("cy"))
	w.connect(t, "dee-1", store.AgentPrincipal("dee"))

	invited := event(conv, conversation.EventInvitationCreated, conversation.AudienceAgents, map[string]any{"message": "can you help?"})
	invited.PushTo = store.AgentPrincipals([]string{"cy", "ada"})
	w.commit(t, invited)

	for c, want := range map[string]int{"ada-1": 1, "cy-1": 1, "vis-1": 0, "dee-1": 0} {
		if got := len(w.srv.Raw(c)); got != want {
			t.Errorf("%s received %d messages, want %d", c, got, want)
		}
	}
}

func TestPublish_ParticipantWhoLeftGetsNothingMore(t *testing.T) {
	t.Parallel()
	w := newWorld(t, push.Options{})
	conv, visitors := w.conversation(t, []string{"ada"}, 1)
	w.connect(t, "vis-1", store.VisitorPrincipal(visitors[0]))
	part, err := w.st.Participant(t.Context(), conv, visitors[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := w.st.Leave(t.Context(), part, false, nil); err != nil {
		t.Fatal(err)
	}
	w.commit(t, event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, nil))
	if got := len(w.srv.Raw("vis-1")); got != 0 {
		t.Fatalf("a visitor who left received %d messages", got)
	}
}

func TestPublish_GoneConnectionIsDeleted(t *testing.T) {
	t.Parallel()
	w := newWorld(t, push.Options{})
	conv, _ := w.conversation(t, []string{"ada"}, 0)
	w.connect(t, "ada-gone", store.AgentPrincipal("ada"))
	w.connect(t, "ada-live", store.AgentPrincipal("ada"))
	w.srv.Set("ada-gone", pushtest.Gone)

	w.commit(t, event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, nil))

	if _, err := w.st.ConnectionByID(t.Context(), "ada-gone"); !store.IsNotFound(err) {
		t.Fatalf("gone connection still stored: %v", err)
	}
	conns, err := w.st.ConnectionsOf(t.Context(), []string{store.AgentPrincipal("ada")})
	if err != nil || len(conns) != 1 || conns[0].ID != "ada-live" {
		t.Fatalf("ada's connections = %+v, %v; want only ada-live", conns, err)
	}
	if got := len(w.srv.Raw("ada-live")); got != 1 {
		t.Fatalf("live connection received %d messages, want 1", got)
	}
}

// fanOut puts n connections (10 agents in one conversation, n/10 connections each) and
// returns the conversation and the connection ids.
func (w *world) fanOut(t testing.TB, n int) (string, []string) {
	t.Helper()
	var agents []string
	for i := range 10 {
		agents = append(agents, fmt.Sprintf("agent-%d", i))
	}
	conv, _ := w.conversation(t, agents, 0)
	conns := make([]string, n)
	for i := range n {
		conns[i] = fmt.Sprintf("conn-%03d", i)
		w.connect(t, conns[i], store.AgentPrincipal(agents[i%10]))
	}
	return conv, conns
}

func TestFanOut_OneDeadConnectionDoesNotHoldUpTheOthers(t *testing.T) {
	t.Parallel()
	const n = 100
	cases := []struct {
		name string
		opts push.Options
		// The dead connection hangs; release is what it turns into once every other
		// connection has its message (Hang: it never answers).
		release    pushtest.Behaviour
		wantAnswer pushtest.Behaviour
	}{
		// The dead connection answers only after all others were delivered, with a timeout far
		// longer than the test: the others cannot have waited for it.
		{name: "hangs until the others are delivered, then fails", opts: push.Options{SendTimeout: time.Minute, Budget: 2 * time.Minute},
			release: pushtest.Fail, wantAnswer: pushtest.Fail},
		// The dead connection never answers: its own timeout ends it, the others are unaffected.
		{name: "hangs past its timeout", opts: push.Options{SendTimeout: 300 * time.Millisecond},
			release: pushtest.Hang, wantAnswer: pushtest.Hang},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tc.opts)
			conv, conns := w.fanOut(t, n)
			dead := conns[n/2]
			w.srv.Set(dead, pushtest.Hang)
			var delivered atomic.Int32
			w.srv.OnDeliver(func(string) {
				if delivered.Add(1) == n-1 && tc.release != pushtest.Hang {
					w.srv.Set(dead, tc.release)
				}
			})

			secret := "my card number is 4111"
			w.commit(t, event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, map[string]any{"text": secret}))

			for _, c := range conns {
				got, want := len(w.srv.Raw(c)), 1
				if c == dead {
					want = 0
				}
				if got != want {
					t.Errorf("%s received %d messages, want %d", c, got, want)
				}
			}
			if got := w.srv.AwaitAnswers(t, dead, 1); !slices.Equal(got, []pushtest.Behaviour{tc.wantAnswer}) {
				t.Errorf("dead connection was answered %v, want %v", got, tc.wantAnswer)
			}
			if _, err := w.st.ConnectionByID(t.Context(), dead); err != nil {
				t.Errorf("a failing (not gone) connection must be kept: %v", err)
			}
			logs := w.logs.String()
			if !strings.Contains(logs, dead) || !strings.Contains(logs, "send_failed") {
				t.Errorf("the failure is not logged with the connection id:\n%s", logs)
			}
			if strings.Contains(logs, secret) {
				t.Errorf("message text reached the log:\n%s", logs)
			}
		})
	}
}

// TestLeave_TheVisitorsSocketsAreClosedAndForgotten: a visitor's participant.left, read from
// the stream, closes their sockets (SPEC §5: losing access is immediate); an agent's stays.
func TestLeave_TheVisitorsSocketsAreClosedAndForgotten(t *testing.T) {
	t.Parallel()
	w := newWorld(t, push.Options{})
	conv, visitors := w.conversation(t, []string{"ada"}, 1)
	vis := store.VisitorPrincipal(visitors[0])
	w.connect(t, "vis-1", vis)
	w.connect(t, "ada-1", store.AgentPrincipal("ada"))
	part, err := w.st.Participant(t.Context(), conv, visitors[0])
	if err != nil {
		t.Fatal(err)
	}
	left := event(conv, conversation.EventParticipantLeft, conversation.AudienceEveryone,
		map[string]any{"participantId": part.ID, "kind": string(conversation.KindVisitor)})
	if err := w.st.Leave(t.Context(), part, false, []conversation.Event{left}); err != nil {
		t.Fatal(err)
	}
	w.settle(t)

	if !w.srv.Closed("vis-1") || w.srv.Closed("ada-1") {
		t.Fatalf("closed: vis-1 %v, ada-1 %v; want only vis-1", w.srv.Closed("vis-1"), w.srv.Closed("ada-1"))
	}
	if _, err := w.st.ConnectionByID(t.Context(), "vis-1"); !store.IsNotFound(err) {
		t.Fatalf("closed connection still stored: %v", err)
	}
}

func TestPublish_GivesUpWithinItsBudget(t *testing.T) {
	t.Parallel()
	// Every connection hangs and the budget ends before the send timeout: Publish returns
	// (the test would otherwise hang) and nothing is delivered or deleted.
	w := newWorld(t, push.Options{Concurrency: 2, SendTimeout: time.Minute, Budget: 500 * time.Millisecond})
	conv, conns := w.fanOut(t, 10)
	for _, c := range conns {
		w.srv.Set(c, pushtest.Hang)
	}
	w.commit(t, event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, nil))
	got, err := w.st.ConnectionsOf(t.Context(), []string{store.AgentPrincipal("agent-0")})
	if err != nil || len(got) != 1 {
		t.Fatalf("connections after a budget overrun = %v, %v", got, err)
	}
}

// BenchmarkFanOut measures one event committed and pushed to 100 connections through the real
// path: the commit, the table's stream, participant and connection lookups in DynamoDB Local,
// then the parallel sends through the real SDK client.
func BenchmarkFanOut(b *testing.B) {
	w := newWorld(b, push.Options{})
	conv, _ := w.fanOut(b, 100)
	e := event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, map[string]any{"text": "hello"})
	for b.Loop() {
		w.commit(b, e)
	}
	if got := len(w.srv.Raw("conn-000")); got == 0 {
		b.Fatal("nothing delivered")
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestFanOut_LogsItsOutcomeAsMetrics: one line per fan-out says how many connections got the
// events, were gone, or failed — as CloudWatch metrics (EMF) when METRICS_NAMESPACE is set.
func TestFanOut_LogsItsOutcomeAsMetrics(t *testing.T) {
	t.Setenv("METRICS_NAMESPACE", "InviteForward/test")
	w := newWorld(t, push.Options{})
	conv, _ := w.conversation(t, []string{"ada"}, 0)
	for _, id := range []string{"ada-1", "ada-2", "ada-gone", "ada-broken"} {
		w.connect(t, id, store.AgentPrincipal("ada"))
	}
	w.srv.Set("ada-gone", pushtest.Gone)
	w.srv.Set("ada-broken", pushtest.Fail)

	w.commit(t, event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, nil))

	var line struct {
		Outcome                        string `json:"outcome"`
		PushSent, PushGone, PushFailed float64
		AWS                            struct{ CloudWatchMetrics []struct{ Namespace string } } `json:"_aws"`
	}
	for _, l := range strings.Split(w.logs.String(), "\n") {
		if strings.Contains(l, `"outcome":"fan_out"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line.Outcome != "fan_out" || line.PushSent != 2 || line.PushGone != 1 || line.PushFailed != 1 ||
		len(line.AWS.CloudWatchMetrics) != 1 || line.AWS.CloudWatchMetrics[0].Namespace != "InviteForward/test" {
		t.Fatalf("fan-out line %+v in:\n%s", line, w.logs.String())
	}
}

// TestPublish_AWaitingInviteeReceivesOnlyTheAnswerToTheirWait is the lobby's recipient rule
// (SPEC §9.3): a participant waiting to be let in is pushed nothing, whatever the audience,
// except their own participant.refused — which reaches them although the refusal has taken
// them out of the conversation, and after which their sockets are closed — and, once
// admitted, what any participant receives from the admission on.
func TestPublish_AWaitingInviteeReceivesOnlyTheAnswerToTheirWait(t *testing.T) {
	t.Parallel()
	w := newWorld(t, push.Options{})
	conv, visitors := w.conversation(t, []string{"ada"}, 1)
	now := time.Now().UTC()
	waiting := func(name string) conversation.Participant {
		p := conversation.Participant{ConversationID: conv, ID: ids.New("vis"), Kind: conversation.KindVisitor, DisplayName: name, JoinedAt: now,
			State: conversation.StateWaiting, Admit: conversation.AdmitCustomer, WaitingUntil: now.Add(time.Hour).Truncate(time.Second)}
		if err := w.st.AddParticipant(t.Context(), p, nil, []conversation.Event{conversation.WaitingEvent(p, now)}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lou, rex := waiting("Lou"), waiting("Rex")
	w.settle(t) // their participant.waiting are pushed before anyone connects
	w.connect(t, "ada-1", store.AgentPrincipal("ada"))
	w.connect(t, "sam-1", store.VisitorPrincipal(visitors[0]))
	w.connect(t, "lou-1", store.VisitorPrincipal(lou.ID))
	w.connect(t, "rex-1", store.VisitorPrincipal(rex.ID))

	w.commit(t, event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, map[string]any{"text": "hello"}))
	refused := conversation.RefusedEvent(rex, conversation.AgentParticipantID("ada"), conversation.RefusedByParticipant, now)
	if err := w.st.RefuseParticipant(t.Context(), rex, false, []conversation.Event{refused}); err != nil {
		t.Fatal(err)
	}
	w.settle(t)
	if err := w.st.AdmitParticipant(t.Context(), lou, []conversation.Event{conversation.AdmittedEvent(lou, conversation.AgentParticipantID("ada"), now)}); err != nil {
		t.Fatal(err)
	}
	w.commit(t, event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, map[string]any{"text": "welcome"}))

	msg := conversation.EventMessageCreated
	lobby := []string{conversation.EventParticipantRefused, conversation.EventParticipantAdmitted, msg}
	for c, want := range map[string][]string{
		"ada-1": append([]string{msg}, lobby...),
		"sam-1": append([]string{msg}, lobby...), // admit "customer": the customer present answers too
		"lou-1": {conversation.EventParticipantAdmitted, msg},
		"rex-1": {conversation.EventParticipantRefused},
	} {
		if got := types(w.srv.Messages(t, c)); !slices.Equal(got, want) {
			t.Errorf("%s received %v, want %v", c, got, want)
		}
	}
	if !w.srv.Closed("rex-1") {
		t.Error("the refused invitee's socket was not closed")
	}
	if w.srv.Closed("lou-1") || w.srv.Closed("sam-1") {
		t.Error("the admitted invitee's socket was closed")
	}
}
