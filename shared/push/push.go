// Package push delivers conversation events to the WebSocket connections of the people who
// may see them, through API Gateway's @connections management API (SPEC §6). It is the push
// function's handler: the committed event is the outbox (store/outbox.go), the table's stream
// brings each committed event here, and no request waits for the fan-out. It owns who
// receives an event (rules.go, decided at send time), the message format, and the fan-out:
// parallel with a bound, one timeout per send, stale connections removed on GoneException,
// every other failure logged and isolated. A lookup that fails is reported back to the
// stream as a batch item failure, so Lambda retries from that record on.
package push

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/metrics"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/streambatch"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

// Store is what push needs of storage.
type Store interface {
	Participants(ctx context.Context, conversationID string) ([]conversation.Participant, error)
	ConnectionsOf(ctx context.Context, principalKeys []string) ([]store.Connection, error)
	DeleteConnection(ctx context.Context, c store.Connection) error
}

// Options bound the fan-out. Zero values take the defaults.
type Options struct {
	// Concurrency is how many connections are sent to at once (default 16).
	Concurrency int
	// SendTimeout bounds one message to one connection (default 2s): a hanging connection
	// holds one worker for at most this long.
	SendTimeout time.Duration
	// Budget bounds the pushes of one conversation in one batch, lookups included (default
	// 5s, well within the function's timeout): whatever is not delivered by then is dropped.
	Budget time.Duration
}

// Defaults of Options.
const (
	DefaultConcurrency = 16
	DefaultSendTimeout = wsapi.SendTimeout
	DefaultBudget      = 5 * time.Second
)

// conversationsAtOnce bounds how many conversations of one batch are pushed in parallel.
const conversationsAtOnce = 8

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = DefaultSendTimeout
	}
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	return o
}

// Publisher pushes committed events read from the table's stream.
type Publisher struct {
	mgmt    wsapi.Management
	store   Store
	log     *slog.Logger
	opts    Options
	metrics metrics.Publisher
}

// New returns a publisher.
func New(mgmt wsapi.Management, st Store, log *slog.Logger, opts Options) *Publisher {
	return &Publisher{mgmt: mgmt, store: st, log: log, opts: opts.withDefaults(), metrics: metrics.FromEnv()}
}

// outcome is how one connection's delivery ended.
type outcome int

const (
	sent   outcome = iota
	gone           // API Gateway no longer knows the connection: it was removed
	failed         // an error, a timeout, or the budget ran out
)

// pending is one record's event, with the record's sequence number to report it by.
type pending struct {
	store.Pushed
	sequenceNumber string
}

// HandleStream is the push function's handler: it pushes each committed event of the batch.
// Records are grouped by conversation and each conversation's pushes go out in seq order
// (Lambda keeps a partition key's records in order across batches); conversations are pushed
// in parallel. When a conversation's lookups fail, its first record is reported as a batch
// item failure: Lambda retries the batch from there (the earlier records of other
// conversations may be pushed twice; clients tell a repeat by its seq). A record that cannot
// be decoded is logged and skipped: retrying would not mend it.
func (p *Publisher) HandleStream(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var jobs []streambatch.Job
	for _, g := range p.group(ctx, ev.Records) {
		jobs = append(jobs, streambatch.Job{SequenceNumber: g[0].sequenceNumber, Run: func() error {
			err := p.pushConversation(ctx, g)
			if err != nil {
				p.log.WarnContext(ctx, "push", "outcome", "lookup_failed", "conversationId", g[0].ConversationID,
					"seq", g[0].Seq, "cause", err.Error())
			}
			return err
		}})
	}
	return streambatch.Run(jobs, conversationsAtOnce), nil
}

// group decodes the records into each conversation's events, in commit order.
func (p *Publisher) group(ctx context.Context, records []events.DynamoDBEventRecord) [][]pending {
	byConv := map[string][]pending{}
	var order []string
	for _, r := range records {
		if r.EventName != string(events.DynamoDBOperationTypeInsert) {
			continue
		}
		e, ok, err := store.StreamEvent(r.Change.NewImage)
		if err != nil {
			p.log.ErrorContext(ctx, "push", "outcome", "undecodable_record", "sequenceNumber", r.Change.SequenceNumber, "cause", err.Error())
			continue
		}
		if !ok {
			continue
		}
		if _, seen := byConv[e.ConversationID]; !seen {
			order = append(order, e.ConversationID)
		}
		byConv[e.ConversationID] = append(byConv[e.ConversationID], pending{Pushed: e, sequenceNumber: r.Change.SequenceNumber})
	}
	out := make([][]pending, 0, len(order))
	for _, id := range order {
		g := byConv[id]
		slices.SortStableFunc(g, func(a, b pending) int { return cmp.Compare(a.Order(), b.Order()) })
		out = append(out, g)
	}
	return out
}

// pushConversation sends one conversation's events to whoever may receive each now, then
// closes the sockets of visitors who lost access.
func (p *Publisher) pushConversation(parent context.Context, evs []pending) error {
	ctx, cancel := context.WithTimeout(parent, p.opts.Budget)
	defer cancel()
	parts, err := p.store.Participants(ctx, evs[0].ConversationID)
	if err != nil {
		return err
	}
	recipients := make([]map[string]bool, len(evs))
	keys := map[string]bool{}
	var closing []string
	for i, e := range evs {
		rule, known := ruleFor(e.Type)
		if !known {
			p.log.WarnContext(ctx, "push", "outcome", "no_rule", "eventType", e.Type)
		}
		recipients[i] = rule.recipients(e.Event, parts)
		for k := range recipients[i] {
			keys[k] = true
		}
		if rule.Close != nil {
			closing = append(closing, rule.Close(e.Event, parts)...)
		}
	}
	conns, err := p.store.ConnectionsOf(ctx, slices.Collect(maps.Keys(keys)))
	if err != nil {
		return err
	}
	deliveries, err := assign(evs, recipients, conns)
	if err != nil {
		return err
	}
	p.send(ctx, deliveries)
	// Closing has a budget of its own: a slow fan-out must not leave a visitor who lost
	// access connected.
	closeCtx, cancelClose := context.WithTimeout(parent, p.opts.Budget)
	defer cancelClose()
	p.disconnect(closeCtx, closing)
	return nil
}

// delivery is everything one connection receives from one conversation's batch, in order.
type delivery struct {
	conn     store.Connection
	messages []outgoing
}

type outgoing struct {
	event   conversation.Event
	payload []byte
}

func assign(evs []pending, recipients []map[string]bool, conns []store.Connection) ([]*delivery, error) {
	var out []*delivery
	byConn := map[string]*delivery{}
	for i, e := range evs {
		payloads, err := encode(e.Event)
		if err != nil {
			return nil, err
		}
		for _, c := range conns {
			if !recipients[i][c.PrincipalKey] {
				continue
			}
			d := byConn[c.ID]
			if d == nil {
				d = &delivery{conn: c}
				byConn[c.ID] = d
				out = append(out, d)
			}
			d.messages = append(d.messages, outgoing{event: e.Event, payload: payloads[kindOfPrincipal(c.PrincipalKey)]})
		}
	}
	return out, nil
}

// encode encodes an event once per stream: agents and visitors have different prevSeqs.
func encode(e conversation.Event) (map[conversation.ParticipantKind][]byte, error) {
	out := map[conversation.ParticipantKind][]byte{}
	for _, kind := range []conversation.ParticipantKind{conversation.KindAgent, conversation.KindVisitor} {
		payload, err := json.Marshal(EventMessage(e, kind))
		if err != nil {
			return nil, err
		}
		out[kind] = payload
	}
	return out, nil
}

// kindOfPrincipal is the stream a principal follows: an agent's, unless it is a visitor's.
func kindOfPrincipal(principalKey string) conversation.ParticipantKind {
	if strings.HasPrefix(principalKey, store.VisitorPrincipal("")) {
		return conversation.KindVisitor
	}
	return conversation.KindAgent
}

// send runs the deliveries with at most Concurrency at a time. Each connection gets its
// messages in order, on one worker, so a slow connection delays only itself. One log line
// tells the fan-out's outcome, with its metrics (connections sent to, gone, failed).
func (p *Publisher) send(ctx context.Context, deliveries []*delivery) {
	if len(deliveries) == 0 {
		return
	}
	work := make(chan *delivery)
	var wg sync.WaitGroup
	var mu sync.Mutex
	tally := map[outcome]int{}
	for range min(p.opts.Concurrency, len(deliveries)) {
		wg.Go(func() {
			for d := range work {
				o := p.sendTo(ctx, d)
				mu.Lock()
				tally[o]++
				mu.Unlock()
			}
		})
	}
	for _, d := range deliveries {
		work <- d
	}
	close(work)
	wg.Wait()
	attrs := append([]slog.Attr{slog.String("outcome", "fan_out"), slog.Int("connections", len(deliveries))},
		p.metrics.Attrs(time.Now(), nil,
			metrics.Metric{Name: "PushSent", Unit: metrics.Count, Value: float64(tally[sent])},
			metrics.Metric{Name: "PushGone", Unit: metrics.Count, Value: float64(tally[gone])},
			metrics.Metric{Name: "PushFailed", Unit: metrics.Count, Value: float64(tally[failed])})...)
	p.log.LogAttrs(ctx, slog.LevelInfo, "push", attrs...)
}

// sendTo sends one connection its messages; the first failure ends it, since a connection
// that refused one message will not take the next.
func (p *Publisher) sendTo(ctx context.Context, d *delivery) outcome {
	for _, m := range d.messages {
		if ctx.Err() != nil {
			p.log.WarnContext(ctx, "push", "outcome", "budget_exceeded", "connectionId", d.conn.ID,
				"conversationId", m.event.ConversationID, "eventType", m.event.Type)
			return failed
		}
		err := wsapi.Post(ctx, p.mgmt, d.conn.ID, m.payload, p.opts.SendTimeout)
		if err == nil {
			continue
		}
		if wsapi.IsGone(err) {
			p.forget(ctx, d.conn)
			return gone
		}
		// Never the payload: it may carry message text.
		p.log.WarnContext(ctx, "push", "outcome", "send_failed", "connectionId", d.conn.ID,
			"conversationId", m.event.ConversationID, "eventType", m.event.Type, "cause", err.Error())
		return failed
	}
	return sent
}

// forget removes a connection API Gateway no longer knows.
func (p *Publisher) forget(ctx context.Context, c store.Connection) {
	if err := p.store.DeleteConnection(ctx, c); err != nil {
		p.log.WarnContext(ctx, "push", "outcome", "stale_connection_not_removed", "connectionId", c.ID, "cause", err.Error())
		return
	}
	p.log.InfoContext(ctx, "push", "outcome", "stale_connection_removed", "connectionId", c.ID)
}

// disconnect closes every connection of the given principals and forgets them: visitors who
// lost access, whose connections can never receive anything again. Best effort, like a push.
func (p *Publisher) disconnect(ctx context.Context, principalKeys []string) {
	if len(principalKeys) == 0 {
		return
	}
	conns, err := p.store.ConnectionsOf(ctx, principalKeys)
	if err != nil {
		p.log.WarnContext(ctx, "push", "outcome", "close_lookup_failed", "cause", err.Error())
		return
	}
	// In parallel, bounded like the sends: an ended conversation may have many visitors.
	work := make(chan store.Connection)
	var wg sync.WaitGroup
	for range min(p.opts.Concurrency, len(conns)) {
		wg.Go(func() {
			for c := range work {
				p.close(ctx, c)
			}
		})
	}
	for _, c := range conns {
		work <- c
	}
	close(work)
	wg.Wait()
}

func (p *Publisher) close(ctx context.Context, c store.Connection) {
	if err := wsapi.Close(ctx, p.mgmt, c.ID, p.opts.SendTimeout); err != nil {
		p.log.WarnContext(ctx, "push", "outcome", "close_failed", "connectionId", c.ID, "cause", err.Error())
	}
	// Forget it either way, without waiting for $disconnect (best effort, it may never come):
	// a connection we failed to close has nobody left to receive anything for.
	if err := p.store.DeleteConnection(ctx, c); err != nil {
		p.log.WarnContext(ctx, "push", "outcome", "stale_connection_not_removed", "connectionId", c.ID, "cause", err.Error())
	}
}
