package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/coder/websocket"

	"github.com/invite-forward/invite-forward/shared/testenv"
)

// loadScale is how hard TestLoad pushes: a short run in make test, the figures with
// LOAD=full (make bench). Every request goes to loopback only, bounded in count and time.
type loadScale struct {
	redemptions, clients, starts, posters, messages int
}

func scale() loadScale {
	if os.Getenv("LOAD") == "full" {
		return loadScale{redemptions: 1000, clients: 125, starts: 500, posters: 100, messages: 5}
	}
	// The short run shares the machine with every other test package of make test: enough to
	// keep the paths working, not a measurement.
	return loadScale{redemptions: 40, clients: 10, starts: 30, posters: 6, messages: 3}
}

// loadClient sends JSON requests to the gateway from one loopback address (127.0.1.n), so
// the gateway sees as many client IPs as the test has clients.
type loadClient struct {
	http *http.Client
	base string
}

func newLoadClient(base string, n int) loadClient {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(n%250+1))}
	dialer := &net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	return loadClient{base: base, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext}}}
}

// busyAnswers counts the 503s the clients retried; inProgressAnswers the 409s
// idempotency_in_progress they waited out.
var busyAnswers, inProgressAnswers atomic.Int64

// call sends a request as a well-behaved client does: a 503 — ours (busy) or the gateway's
// (the invocation timed out) — is retried, same key, after its Retry-After, up to 4 times;
// a 409 idempotency_in_progress (the first attempt is still running, or died holding the
// key until its lease ends) is asked again every half second for up to a minute. The time
// returned is the customer's: the retries included.
func (c loadClient) call(method, path, bearer, key string, body any) (int, []byte, time.Duration, error) {
	start := time.Now()
	status, out, retryAfter, err := c.once(method, path, bearer, key, body)
	for busy, waited := 0, time.Duration(0); err == nil; {
		switch {
		case status == http.StatusServiceUnavailable && busy < 4:
			busy++
			busyAnswers.Add(1)
			time.Sleep(retryAfter)
		case status == http.StatusConflict && bytes.Contains(out, []byte(`"idempotency_in_progress"`)) && waited < time.Minute:
			inProgressAnswers.Add(1)
			waited += 500 * time.Millisecond
			time.Sleep(500 * time.Millisecond)
		default:
			return status, out, time.Since(start), err
		}
		status, out, retryAfter, err = c.once(method, path, bearer, key, body)
	}
	return status, out, time.Since(start), err
}

func (c loadClient) once(method, path, bearer, key string, body any) (int, []byte, time.Duration, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, out, time.Duration(max(secs, 1)) * time.Second, err
}

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// latencies collects durations from many goroutines and reports p50/p99.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.d)
	if len(l.d) == 0 {
		return "none"
	}
	p := func(q float64) time.Duration { return l.d[int(q*float64(len(l.d)-1))].Round(time.Millisecond) }
	return fmt.Sprintf("n=%d p50=%s p99=%s", len(l.d), p(0.50), p(0.99))
}

// parallel runs n jobs, at most width at a time, and collects their errors.
func parallel(n, width int, job func(i int) error) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	slots := make(chan struct{}, width)
	for i := range n {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := job(i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// TestLoad_EveryAnswerIsASuccessOrADesignedRefusal (SPEC §5): through the local gateway, from
// many loopback client addresses at once — PIN redemptions, anonymous starts (some retried
// with their key after the client gave up), and posters with sockets listening. Every answer
// is a success, nothing is half-written, no event is lost or doubled (seq, prevSeq), and a
// retried start gets its original answer, never a second conversation.
func TestLoad_EveryAnswerIsASuccessOrADesignedRefusal(t *testing.T) {
	sc := scale()
	s := start(t)
	ada := s.agentToken("ada")
	base := s.urls.HTTP

	// PINs: 20 pending per conversation at most, so as many conversations as that needs,
	// dealt out so that the customers redeeming at the same moment join different
	// conversations, as they would (many writers on one conversation: postersLoad).
	var byConv [][]string
	var convs []string
	for n := 0; n < sc.redemptions; n += 20 {
		conv := s.startConversation(ada).ConversationID
		convs = append(convs, conv)
		var pins []string
		for range min(20, sc.redemptions-n) {
			r := s.do(http.MethodPost, "/conversations/"+conv+"/invitations/pin", ada, nil)
			var out struct{ PIN string }
			r.decode(t, &out)
			pins = append(pins, out.PIN)
		}
		byConv = append(byConv, pins)
	}
	var pins []string
	for i := 0; len(pins) < sc.redemptions; i++ {
		for _, c := range byConv {
			if i < len(c) {
				pins = append(pins, c[i])
			}
		}
	}
	// Each client address redeems its share one after another, as customers do; the
	// addresses all at once. (Parallel attempts from one address beyond its first take a
	// share of the deployment-wide budget: README, "Why PINs cannot be guessed".)
	var redeem latencies
	errs := parallel(sc.clients, sc.clients, func(client int) error {
		c := newLoadClient(base, client)
		for i := client; i < len(pins); i += sc.clients {
			status, body, took, err := c.call(http.MethodPost, "/join/pin", "", uuid(), map[string]any{"pin": pins[i]})
			redeem.add(took)
			if err != nil || status != http.StatusCreated {
				return fmt.Errorf("redeem %d from client %d: %d %s %v", i, client, status, body, err)
			}
		}
		return nil
	})
	for _, err := range errs {
		t.Error(err)
	}
	t.Logf("%d PIN redemptions from %d client addresses: %s", len(pins), sc.clients, &redeem)
	for _, conv := range convs {
		checkHistory(t, s, ada, conv)
	}

	// Starts, 1 in 10 of them abandoned by an impatient client and retried with the same key.
	var starts latencies
	ids := make([]string, sc.starts)
	errs = parallel(sc.starts, 64, func(i int) error {
		c := newLoadClient(base, 100+i%sc.clients)
		key := uuid()
		if i%10 == 0 {
			impatient := c
			impatient.http = &http.Client{Timeout: time.Millisecond, Transport: c.http.Transport}
			_, _, _, _ = impatient.call(http.MethodPost, "/conversations", "", key, map[string]any{"topic": "retry me"})
		}
		status, body, took, err := c.call(http.MethodPost, "/conversations", "", key, map[string]any{"topic": "retry me"})
		starts.add(took)
		if err != nil || status != http.StatusCreated {
			return fmt.Errorf("start %d: %d %s %v", i, status, body, err)
		}
		var out struct{ ConversationID string }
		_ = json.Unmarshal(body, &out)
		ids[i] = out.ConversationID
		return nil
	})
	for _, err := range errs {
		t.Error(err)
	}
	t.Logf("%d anonymous starts (1 in 10 retried after a timeout): %s", sc.starts, &starts)
	if created := countConversations(t, s); created != len(convs)+sc.starts {
		t.Errorf("%d conversations exist, want %d: a retry made a ghost conversation", created, len(convs)+sc.starts)
	}

	// Posters: visitors who joined by PIN post at once while sockets listen.
	postersLoad(t, s, ada, sc)
	t.Logf("retried: %d answers 503 (after their Retry-After), %d answers 409 idempotency_in_progress",
		busyAnswers.Load(), inProgressAnswers.Load())
}

// checkHistory reads a conversation's whole history as its agent: seq 1, 2, 3… without a gap
// or a repeat, each prevSeq the seq before.
func checkHistory(t *testing.T, s *stack, bearer, conv string) []int64 {
	t.Helper()
	var seqs []int64
	after := int64(0)
	for {
		r := s.do(http.MethodGet, fmt.Sprintf("/conversations/%s/events?after=%d&limit=100", conv, after), bearer, nil)
		var page struct {
			Events []struct{ Seq, PrevSeq int64 }
			Next   int64
		}
		r.decode(t, &page)
		for _, e := range page.Events {
			if e.Seq != int64(len(seqs))+1 || e.PrevSeq != e.Seq-1 {
				t.Fatalf("%s: event seq %d prevSeq %d after %d events", conv, e.Seq, e.PrevSeq, len(seqs))
			}
			seqs = append(seqs, e.Seq)
		}
		if page.Next == 0 {
			return seqs
		}
		after = page.Next
	}
}

// countConversations scans the table for conversation items.
func countConversations(t *testing.T, s *stack) int {
	t.Helper()
	p := dynamodb.NewScanPaginator(testenv.DynamoDB(t), &dynamodb.ScanInput{
		TableName:                 aws.String(s.store.Table()),
		FilterExpression:          aws.String("#type = :conv"),
		ExpressionAttributeNames:  map[string]string{"#type": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":conv": &types.AttributeValueMemberS{Value: "conversation"}},
		Select:                    types.SelectCount,
	})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		n += int(page.Count)
	}
	return n
}

// postersLoad: posters visitors of one conversation post at once; the agent's sockets and
// each poster's socket must receive every message exactly once, in seq order.
func postersLoad(t *testing.T, s *stack, ada string, sc loadScale) {
	t.Helper()
	conv := s.startConversation(ada).ConversationID
	tokens := make([]string, sc.posters)
	for i := range tokens {
		r := s.do(http.MethodPost, "/conversations/"+conv+"/invitations/pin", ada, nil)
		var pin struct{ PIN string }
		r.decode(t, &pin)
		j := s.do(http.MethodPost, "/join/pin", "", map[string]any{"pin": pin.PIN}, "Idempotency-Key", uuid())
		var joined struct{ SessionToken string }
		j.decode(t, &joined)
		tokens[i] = joined.SessionToken
	}
	var sockets []*websocket.Conn
	for i := range min(len(tokens), 50) {
		c, status := s.dial("?ticket=" + s.ticket(tokens[i]))
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("socket %d: %d", i, status)
		}
		sockets = append(sockets, c)
	}
	agentSocket, _ := s.dial("?ticket=" + s.ticket(ada))
	sockets = append(sockets, agentSocket)
	time.Sleep(200 * time.Millisecond) // every $connect has registered its connection

	var posts latencies
	total := sc.posters * sc.messages
	errs := parallel(total, 32, func(i int) error {
		c := newLoadClient(s.urls.HTTP, i%sc.posters)
		status, body, took, err := c.call(http.MethodPost, "/conversations/"+conv+"/messages", tokens[i%sc.posters], uuid(),
			map[string]any{"text": fmt.Sprintf("message %d", i)})
		posts.add(took)
		if err != nil || status != http.StatusCreated {
			return fmt.Errorf("post %d: %d %s %v", i, status, body, err)
		}
		return nil
	})
	for _, err := range errs {
		t.Error(err)
	}
	t.Logf("%d posts by %d posters with %d sockets listening: %s", total, sc.posters, len(sockets), &posts)
	history := checkHistory(t, s, ada, conv)
	for i, c := range sockets {
		got := messagesOn(t, c, total)
		if len(got) != total {
			t.Errorf("socket %d received %d of %d messages", i, len(got), total)
		}
	}
	if len(history) == 0 {
		t.Fatal("no history")
	}
}

// messagesOn reads message.created pushes until want arrived or a second passes without one;
// a push seen twice fails the test.
func messagesOn(t *testing.T, c *websocket.Conn, want int) map[int64]bool {
	t.Helper()
	seen := map[int64]bool{}
	for len(seen) < want {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, data, err := c.Read(ctx)
		cancel()
		if err != nil {
			return seen
		}
		var m struct {
			Type string
			Seq  int64
		}
		_ = json.Unmarshal(data, &m)
		if m.Type != "message.created" {
			continue
		}
		if seen[m.Seq] {
			t.Errorf("push of seq %d arrived twice", m.Seq)
		}
		seen[m.Seq] = true
	}
	return seen
}
