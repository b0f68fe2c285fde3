package handover_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/ratelimit"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/store"
)

// SPEC §5 "Integrity": the rules about event order, End, access and caps, each proven by
// requests racing against DynamoDB Local through the real handlers.

// wireEvent is an event as a client reads it, from history or from a push.
type wireEvent struct {
	Seq            int64          `json:"seq"`
	PrevSeq        int64          `json:"prevSeq"`
	ConversationID string         `json:"conversationId"`
	Type           string         `json:"type"`
	Audience       string         `json:"audience"`
	ActorID        string         `json:"actorId"`
	Data           map[string]any `json:"data"`
}

type wirePage struct {
	Events []wireEvent `json:"events"`
	Next   int64       `json:"next"`
}

// unlimited lifts the rate limits: these tests race legitimate requests, not guesses.
func unlimited(o *setup.Overrides) {
	o.Invitations.Limits = ratelimit.NewLimits(1<<20, 1<<20, 1<<20, 1<<20, 1<<20)
}

// historyPage reads one page after the cursor.
func (w *world) historyPage(convID, authz string, after int64) (wirePage, apitest.Response) {
	resp := w.api.Do(apitest.Request{Function: "ListEventsFunction", Method: "GET", Route: "/conversations/{id}/events",
		Params: onConv(convID), Query: map[string]string{"after": strconv.FormatInt(after, 10), "limit": "100"}, Authorization: authz})
	var p wirePage
	if resp.Status == 200 {
		resp.Decode(w.t, &p)
	}
	return p, resp
}

// fullHistory pages through everything the caller may see.
func (w *world) fullHistory(convID, authz string) []wireEvent {
	w.t.Helper()
	var all []wireEvent
	var after int64
	for {
		p, resp := w.historyPage(convID, authz, after)
		if resp.Status != 200 {
			w.t.Fatalf("history after %d: %d %s", after, resp.Status, resp.Body)
		}
		all = append(all, p.Events...)
		if p.Next == 0 {
			return all
		}
		after = p.Next
	}
}

// checkAgentStream: the whole history is numbered 1, 2, 3… without gap or repeat, each
// event's prevSeq is the one before it, and conversation.ended, if present, is the last.
func checkAgentStream(t *testing.T, events []wireEvent) {
	t.Helper()
	for i, e := range events {
		if e.Seq != int64(i+1) || e.PrevSeq != int64(i) {
			t.Fatalf("event %d (%s) has seq %d prevSeq %d, want %d and %d", i, e.Type, e.Seq, e.PrevSeq, i+1, i)
		}
		if e.Type == conversation.EventConversationEnded && i != len(events)-1 {
			t.Fatalf("conversation.ended at seq %d is followed by %d events, first %s", e.Seq, len(events)-1-i, events[i+1].Type)
		}
	}
}

// visitorPrev maps each visitor-visible seq to the visitor-visible seq before it.
func visitorPrev(events []wireEvent) map[int64]int64 {
	prev := map[int64]int64{}
	var last int64
	for _, e := range events {
		if e.Audience == string(conversation.AudienceEveryone) {
			prev[e.Seq] = last
			last = e.Seq
		}
	}
	return prev
}

// removals maps each principal key to the seqs at which it lost access, and joins to the seqs
// at which it (re)gained it, from the history's participant events.
func accessChanges(events []wireEvent) (removed, joined map[string][]int64) {
	removed, joined = map[string][]int64{}, map[string][]int64{}
	visitors := map[string]bool{}
	for _, e := range events {
		key := principalOf(e.Data)
		switch e.Type {
		case conversation.EventParticipantJoined:
			joined[key] = append(joined[key], e.Seq)
			if strings.HasPrefix(key, "visitor#") {
				visitors[key] = true
			}
		case conversation.EventParticipantLeft:
			removed[key] = append(removed[key], e.Seq)
		case conversation.EventConversationEnded:
			for v := range visitors {
				// Visitors are told the conversation ended, then have nothing more.
				removed[v] = append(removed[v], e.Seq+1)
			}
		}
	}
	return removed, joined
}

func principalOf(data map[string]any) string {
	if a, _ := data["agentId"].(string); a != "" {
		return store.AgentPrincipal(a)
	}
	p, _ := data["participantId"].(string)
	return store.VisitorPrincipal(p)
}

// hadAccess: a principal that lost access at some seq receives nothing from then on until
// it joins again.
func hadAccess(key string, seq int64, removed, joined map[string][]int64) bool {
	lastRemoval, lastJoin := int64(-1), int64(-1)
	for _, r := range removed[key] {
		if r <= seq {
			lastRemoval = max(lastRemoval, r)
		}
	}
	for _, j := range joined[key] {
		if j <= seq {
			lastJoin = max(lastJoin, j)
		}
	}
	return lastRemoval < 0 || lastJoin > lastRemoval
}

// checkPushes: every push of the conversation carries the seq of a history event, with the
// prevSeq of its recipient's stream, visitors get nothing agents-only, and nobody gets a push
// for a seq at which they had no access. The one push history does not keep, invitation.taken
// (no seq), goes to agents only.
func (w *world) checkPushes(t *testing.T, convID string, history []wireEvent, principals map[string]string) {
	t.Helper()
	bySeq := map[int64]wireEvent{}
	for _, e := range history {
		bySeq[e.Seq] = e
	}
	vprev := visitorPrev(history)
	removed, joined := accessChanges(history)
	total := 0
	for connID, key := range principals {
		for _, raw := range w.api.Push.Raw(connID) {
			var m wireEvent
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			if m.ConversationID != convID {
				continue
			}
			total++
			if m.Seq == 0 && m.Type == conversation.EventInvitationTaken && !strings.HasPrefix(key, "visitor#") {
				continue // pushed, not kept: an offer leaving an agent's inbox (here: the end revoked it)
			}
			e, ok := bySeq[m.Seq]
			if !ok || e.Type != m.Type {
				t.Fatalf("%s got %s with seq %d, which history has as %+v", connID, m.Type, m.Seq, e)
			}
			visitor := strings.HasPrefix(key, "visitor#")
			want := m.Seq - 1
			if visitor {
				if e.Audience != string(conversation.AudienceEveryone) {
					t.Fatalf("visitor %s got agents-only %s (seq %d)", connID, m.Type, m.Seq)
				}
				want = vprev[m.Seq]
			}
			if m.PrevSeq != want {
				t.Fatalf("%s got %s seq %d with prevSeq %d, want %d", connID, m.Type, m.Seq, m.PrevSeq, want)
			}
			if !hadAccess(key, m.Seq, removed, joined) {
				t.Fatalf("%s (%s) got %s seq %d after losing access (removed at %v, joined at %v)",
					connID, key, m.Type, m.Seq, removed[key], joined[key])
			}
		}
	}
	t.Logf("checked %d pushes of %d events", total, len(history))
}

// createPIN asks for a PIN invitation; "" when refused.
func (w *world) createPIN(convID, by string) (id, pin string, resp apitest.Response) {
	resp = w.do("CreatePinInvitationFunction", "POST", "/conversations/{id}/invitations/pin", onConv(convID), map[string]any{}, w.bearer(by))
	var out struct {
		InvitationID string `json:"invitationId"`
		PIN          string `json:"pin"`
	}
	if resp.Status == 201 {
		resp.Decode(w.t, &out)
	}
	return out.InvitationID, out.PIN, resp
}

type joined struct {
	ParticipantID string `json:"participantId"`
	SessionToken  string `json:"sessionToken"`
}

func (w *world) redeemPIN(pin, ip string) (joined, apitest.Response) {
	resp := w.api.Do(apitest.Request{Function: "RedeemPinFunction", Method: "POST", Route: "/join/pin",
		Body: map[string]any{"pin": pin}, SourceIP: ip, Headers: clientKey("POST")})
	var j joined
	if resp.Status == 200 || resp.Status == 201 {
		resp.Decode(w.t, &j)
	}
	return j, resp
}

func (w *world) post(convID, authz, text string) apitest.Response {
	return w.do("PostMessageFunction", "POST", "/conversations/{id}/messages", onConv(convID), map[string]any{"text": text}, authz)
}

func (w *world) end(convID, authz string) apitest.Response {
	return w.do("EndConversationFunction", "POST", "/conversations/{id}/end", onConv(convID), nil, authz)
}

// fatalOn5xx: races may refuse (403, 404, 409, 410, 401) but never fail; a busy answer (503)
// was retried by the client (world.do) and is an error only if it never went through.
func fatalOn5xx(t *testing.T, what string, r apitest.Response) {
	if r.Status >= 500 || r.Status == 0 {
		t.Errorf("%s: %d %s", what, r.Status, r.Body)
	}
}

// Many Lambdas, each with its own clock (seconds apart), post, invite, redeem, forward, leave
// and end one conversation at once. Afterwards the history is numbered without gap, each
// stream's prevSeq chains hold, conversation.ended is last, a client that followed the history
// by cursor while it was written missed nothing, and no push reached anyone without access.
func TestIntegrity_SkewedLambdas_HistoryAndPushesKeepEveryRule(t *testing.T) {
	t.Parallel()
	w := newWorld(t, handover.ModeOnAccept, unlimited)
	w.clock.skew(-4*time.Second, -1500*time.Millisecond, 0, 2*time.Second, 5*time.Second)
	convID, visitorID, visitor := w.startAsAgent("ada")
	w.connect("ada", "grace", "linus", "mia")
	w.connectVisitor(visitorID)
	principals := map[string]string{"ws-visitor": store.VisitorPrincipal(visitorID)}
	for _, a := range []string{"ada", "grace", "linus", "mia"} {
		principals["ws-"+a] = store.AgentPrincipal(a)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	poll := newPoller(w, convID, visitor)
	wg.Go(poll.run)
	var posted atomic.Int32 // the end waits for part of the traffic, so it lands mid-stream
	for i := range 20 {
		wg.Go(func() {
			fatalOn5xx(t, "ada posts", w.post(convID, w.bearer("ada"), fmt.Sprint("ada ", i)))
			posted.Add(1)
		})
		wg.Go(func() {
			fatalOn5xx(t, "visitor posts", w.post(convID, visitor, fmt.Sprint("visitor ", i)))
			posted.Add(1)
		})
	}
	for i := range 4 {
		wg.Go(func() {
			_, pin, resp := w.createPIN(convID, "ada")
			fatalOn5xx(t, "create PIN", resp)
			if pin == "" {
				return
			}
			j, resp := w.redeemPIN(pin, fmt.Sprintf("198.51.100.%d", i))
			fatalOn5xx(t, "redeem", resp)
			if j.SessionToken == "" {
				return
			}
			conn := "ws-" + j.ParticipantID
			if err := w.st.PutConnection(t.Context(), store.Connection{ID: conn, PrincipalKey: store.VisitorPrincipal(j.ParticipantID), Kind: "visitor"}); err != nil {
				t.Error(err)
			}
			mu.Lock()
			principals[conn] = store.VisitorPrincipal(j.ParticipantID)
			mu.Unlock()
			for k := range 3 {
				fatalOn5xx(t, "guest posts", w.post(convID, apitest.Bearer(j.SessionToken), fmt.Sprint("guest ", k)))
			}
			fatalOn5xx(t, "guest leaves", w.leave(convID, apitest.Bearer(j.SessionToken)))
		})
	}
	wg.Go(func() {
		resp := w.inviteAgent(convID, "ada", "grace", "join me")
		fatalOn5xx(t, "invite", resp)
		var o invitation.Offer
		if resp.Status == 201 {
			resp.Decode(t, &o)
			fatalOn5xx(t, "accept", w.accept(o.ID, "grace"))
		}
		for k := range 5 {
			fatalOn5xx(t, "grace posts", w.post(convID, w.bearer("grace"), fmt.Sprint("grace ", k)))
		}
	})
	wg.Go(func() {
		resp := w.forward(convID, "ada", "agent", "linus", "yours")
		fatalOn5xx(t, "forward", resp)
		var o invitation.Offer
		if resp.Status == 201 {
			resp.Decode(t, &o)
			fatalOn5xx(t, "accept forward", w.accept(o.ID, "linus"))
		}
	})
	wg.Go(func() {
		for deadline := time.Now().Add(20 * time.Second); posted.Load() < 24 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		for range 20 {
			for _, a := range []string{"linus", "grace", "ada"} {
				r := w.end(convID, w.bearer(a))
				fatalOn5xx(t, "end", r)
				if r.Status == 204 || r.Status == 200 || r.Status == 409 {
					return
				}
			}
		}
	})
	wg.Wait()
	poll.stop()
	if t.Failed() {
		return
	}
	full := w.fullHistory(convID, w.bearer(w.agentIn(convID, "linus", "grace", "ada")))
	checkAgentStream(t, full)
	if full[len(full)-1].Type != conversation.EventConversationEnded {
		t.Fatalf("the last event is %s, not conversation.ended", full[len(full)-1].Type)
	}
	poll.checkNothingSkipped(t, full)
	w.checkPushes(t, convID, full, principals)
	if r := w.post(convID, visitor, "still here?"); r.Status != 401 {
		t.Fatalf("the visitor posts after the end: %d %s", r.Status, r.Body)
	}
	if _, r := w.historyPage(convID, visitor, 0); r.Status != 401 {
		t.Fatalf("the visitor reads after the end: %d %s", r.Status, r.Body)
	}
}

// agentIn is the first of the agents who is a participant of the conversation.
func (w *world) agentIn(convID string, agentIDs ...string) string {
	w.t.Helper()
	for _, a := range agentIDs {
		if _, err := w.st.Participant(w.t.Context(), convID, conversation.AgentParticipantID(a)); err == nil {
			return a
		}
	}
	w.t.Fatalf("none of %v is in %s", agentIDs, convID)
	return ""
}

// poller is a visitor's client following the history by cursor while it is written, the way
// a client catches up after a reconnect.
type poller struct {
	w              *world
	convID, authz  string
	seen           []wireEvent
	done           chan struct{}
	stopOnce       sync.Once
	lastStatus     int
	lastStatusBody string
}

func newPoller(w *world, convID, authz string) *poller {
	return &poller{w: w, convID: convID, authz: authz, done: make(chan struct{})}
}

func (p *poller) run() {
	var after int64
	for {
		select {
		case <-p.done:
			return
		default:
		}
		page, resp := p.w.historyPage(p.convID, p.authz, after)
		p.lastStatus, p.lastStatusBody = resp.Status, string(resp.Body)
		if resp.Status != 200 {
			return
		}
		p.seen = append(p.seen, page.Events...)
		if len(page.Events) > 0 {
			after = page.Events[len(page.Events)-1].Seq
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (p *poller) stop() { p.stopOnce.Do(func() { close(p.done) }) }

// checkNothingSkipped: what the poller saw is exactly the visitor-visible history up to the
// last event it saw, each event chained to the one before by prevSeq.
func (p *poller) checkNothingSkipped(t *testing.T, full []wireEvent) {
	t.Helper()
	if len(p.seen) == 0 {
		t.Fatalf("the poller saw nothing (last answer %d %s)", p.lastStatus, p.lastStatusBody)
	}
	last := p.seen[len(p.seen)-1].Seq
	var want []int64
	for _, e := range full {
		if e.Audience == string(conversation.AudienceEveryone) && e.Seq <= last {
			want = append(want, e.Seq)
		}
	}
	var got []int64
	var prev int64
	for _, e := range p.seen {
		if e.PrevSeq != prev {
			t.Fatalf("the visitor's stream breaks at seq %d: prevSeq %d, the previous it saw is %d", e.Seq, e.PrevSeq, prev)
		}
		got = append(got, e.Seq)
		prev = e.Seq
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("following the cursor, the visitor saw %v\nbut the history has %v", got, want)
	}
}

// rounds is how many rounds a racing test runs: INTEGRITY_ROUNDS when set, else def.
func rounds(def int) int {
	if n, err := strconv.Atoi(os.Getenv("INTEGRITY_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return def
}
