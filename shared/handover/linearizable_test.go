package handover_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/handover"
)

// The conversation as a sequential object: its status and the set of visitors in it, changed
// by redeeming PINs, posting, leaving and ending, observed by reads. Every history the API
// produces under concurrency must be explainable by some order of these operations that
// respects real time (linearizability, checked by porcupine): no redemption, post or leave
// takes effect after the end, no PIN lets two people in, and no read sees a state that never
// existed.

type convState struct {
	ended    bool
	visitors string // sorted participant ids, comma-separated: states compare with ==
	usedPINs string
}

type convOp struct {
	kind string // redeem, post, leave, end, read
	pin  string
	pid  string
}

type convResult struct {
	ok       bool
	pid      string // redeem: who got in
	ended    bool   // read
	visitors string // read
}

func withItem(set, item string) string {
	items := strings.Split(set, ",")
	if set == "" {
		items = nil
	}
	items = append(items, item)
	slices.Sort(items)
	return strings.Join(items, ",")
}

func withoutItem(set, item string) string {
	items := slices.DeleteFunc(strings.Split(set, ","), func(s string) bool { return s == item })
	return strings.Join(items, ",")
}

func hasItem(set, item string) bool { return slices.Contains(strings.Split(set, ","), item) }

var conversationModel = porcupine.Model{
	Init: func() any { return convState{} },
	Step: func(st, in, out any) (bool, any) {
		s, op, r := st.(convState), in.(convOp), out.(convResult)
		switch op.kind {
		case "redeem":
			if !r.ok {
				return s.ended || hasItem(s.usedPINs, op.pin), s
			}
			if s.ended || hasItem(s.usedPINs, op.pin) {
				return false, s
			}
			s.visitors, s.usedPINs = withItem(s.visitors, r.pid), withItem(s.usedPINs, op.pin)
			return true, s
		case "post":
			return r.ok == (!s.ended && hasItem(s.visitors, op.pid)), s
		case "leave":
			allowed := !s.ended && hasItem(s.visitors, op.pid)
			if r.ok && allowed {
				s.visitors = withoutItem(s.visitors, op.pid)
			}
			return r.ok == allowed, s
		case "end":
			ok := !s.ended
			s.ended = true
			return r.ok == ok, s
		default: // read
			return r.ended == s.ended && r.visitors == s.visitors, s
		}
	},
	DescribeOperation: func(in, out any) string { return fmt.Sprintf("%+v → %+v", in, out) },
}

// recorder collects the operations of a history with their real-time intervals.
type history struct {
	mu  sync.Mutex
	ops []porcupine.Operation
}

func (h *history) record(client int, in convOp, call func() convResult) convResult {
	start := time.Now().UnixNano()
	out := call()
	end := time.Now().UnixNano()
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: start, Output: out, Return: end})
	h.mu.Unlock()
	return out
}

func TestIntegrity_ConversationStateIsLinearizable(t *testing.T) {
	t.Parallel()
	w := newQuietWorld(t, handover.ModeOnAccept, unlimited)
	w.clock.skew(-3*time.Second, 0, 4*time.Second)
	for round := range 8 {
		convID := w.startEmpty("ada")
		var pins []string
		for range 6 {
			_, pin, resp := w.createPIN(convID, "ada")
			if resp.Status != 201 {
				t.Fatalf("create PIN: %d %s", resp.Status, resp.Body)
			}
			pins = append(pins, pin)
		}
		h := &history{}
		var wg sync.WaitGroup
		client := 0
		for i, pin := range pins {
			for k := range 2 { // each PIN raced by two customers
				client++
				c := client
				wg.Go(func() { w.customer(h, c, convID, pin, fmt.Sprintf("198.18.%d.%d", i, k)) })
			}
		}
		for range 3 {
			client++
			c := client
			wg.Go(func() {
				for range 4 {
					h.record(c, convOp{kind: "read"}, func() convResult { return w.readState(convID) })
				}
			})
		}
		client++
		wg.Go(func() {
			time.Sleep(time.Duration(round*15) * time.Millisecond)
			h.record(client, convOp{kind: "end"}, func() convResult {
				r := w.end(convID, w.bearer("ada"))
				fatalOn5xx(t, "end", r)
				return convResult{ok: r.Status == 204}
			})
		})
		wg.Wait()
		if t.Failed() {
			return
		}
		if res := porcupine.CheckOperationsTimeout(conversationModel, h.ops, 30*time.Second); res != porcupine.Ok {
			for _, op := range h.ops {
				t.Logf("client %d [%d, %d] %+v → %+v", op.ClientId, op.Call, op.Return, op.Input, op.Output)
			}
			t.Fatalf("round %d: the history of %d operations is not linearizable (%v)", round, len(h.ops), res)
		}
	}
}

// customer redeems a PIN and, if let in, posts and leaves, recording each step.
func (w *world) customer(h *history, client int, convID, pin, ip string) {
	var j joined
	got := h.record(client, convOp{kind: "redeem", pin: pin}, func() convResult {
		var r apitest.Response
		j, r = w.redeemPIN(pin, ip)
		fatalOn5xx(w.t, "redeem", r)
		return convResult{ok: j.SessionToken != "", pid: j.ParticipantID}
	})
	if !got.ok {
		return
	}
	session := apitest.Bearer(j.SessionToken)
	h.record(client, convOp{kind: "post", pid: j.ParticipantID}, func() convResult {
		r := w.post(convID, session, "hi")
		fatalOn5xx(w.t, "post", r)
		return convResult{ok: r.Status == 201}
	})
	h.record(client, convOp{kind: "leave", pid: j.ParticipantID}, func() convResult {
		r := w.leave(convID, session)
		fatalOn5xx(w.t, "leave", r)
		return convResult{ok: r.Status == 204}
	})
}

// readState reads the conversation's status and visitors as its agent sees them.
func (w *world) readState(convID string) convResult {
	v := w.view(convID, w.bearer("ada"))
	var ids []string
	for _, p := range v.Participants {
		if p.Kind == conversation.KindVisitor {
			ids = append(ids, p.ID)
		}
	}
	slices.Sort(ids)
	return convResult{ok: true, ended: !v.Open(), visitors: strings.Join(ids, ",")}
}

// startEmpty starts a conversation held by the agent, with nobody else in it.
func (w *world) startEmpty(agentID string) string {
	w.t.Helper()
	resp := w.do("StartConversationFunction", "POST", "/conversations", nil, map[string]any{"topic": "Linearizable"}, w.bearer(agentID))
	if resp.Status != 201 {
		w.t.Fatalf("agent start: %d %s", resp.Status, resp.Body)
	}
	var s struct {
		ConversationID string `json:"conversationId"`
	}
	resp.Decode(w.t, &s)
	return s.ConversationID
}
