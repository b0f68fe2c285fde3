package push_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/push"
	"github.com/invite-forward/invite-forward/shared/store"
)

// fanOutOut, when set, receives the measured fan-out latencies as JSON (make bench reads it)
// and the test runs its full rounds.
var fanOutOut = flag.String("fanout.out", "", "write commit → push received latencies for 1, 10 and 100 connections to this JSON file")

// FanOutLatency is commit → push received, over every delivery of every round.
type FanOutLatency struct {
	Connections int
	Rounds      int
	P50, P99    time.Duration
}

// TestFanOut_CommitToPushReceivedThroughTheStream measures the real path: a message committed
// through the store, the table's stream read like Lambda's event source mapping (every 20 ms
// when idle), the push function, the @connections endpoint. It asserts delivery, not time
// (timings are for make bench).
func TestFanOut_CommitToPushReceivedThroughTheStream(t *testing.T) {
	rounds := 3
	if *fanOutOut != "" {
		rounds = 100
	}
	var out []FanOutLatency
	for _, n := range []int{1, 10, 100} {
		out = append(out, measureFanOut(t, n, rounds))
	}
	for _, l := range out {
		t.Logf("%3d connections: p50 %v, p99 %v over %d rounds", l.Connections, l.P50, l.P99, l.Rounds)
	}
	if *fanOutOut != "" {
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*fanOutOut, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func measureFanOut(t *testing.T, n, rounds int) FanOutLatency {
	w := newWorld(t, push.Options{})
	conv, _ := w.conversation(t, []string{"ada"}, 0)
	for i := range n {
		w.connect(t, fmt.Sprintf("c-%03d", i), store.AgentPrincipal("ada"))
	}
	var (
		mu        sync.Mutex
		committed time.Time
		latencies []time.Duration
		got       int
		all       = make(chan struct{}, 1)
	)
	w.srv.OnDeliver(func(string) {
		mu.Lock()
		defer mu.Unlock()
		latencies = append(latencies, time.Since(committed))
		if got++; got == n {
			all <- struct{}{}
		}
	})
	for range rounds {
		mu.Lock()
		got = 0
		mu.Unlock()
		e := event(conv, conversation.EventMessageCreated, conversation.AudienceEveryone, map[string]any{"text": "ping"})
		// From the start of the commit (a push can arrive before the commit's answer does):
		// the figure includes the commit's own round trips, so it errs on the high side.
		mu.Lock()
		committed = time.Now()
		mu.Unlock()
		mustPost(t, w, e)
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d connections: a round's pushes did not all arrive", n)
		}
	}
	slices.Sort(latencies)
	return FanOutLatency{Connections: n, Rounds: rounds, P50: pct(latencies, 50), P99: pct(latencies, 99)}
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}
