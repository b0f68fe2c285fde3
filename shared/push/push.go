// Package push delivers conversation events to the WebSocket connections of the people who
// may see them, through API Gateway's @connections management API (SPEC §6). It owns who
// receives an event (the conversation's current participants, filtered by the event's
// audience and by the lobby's rule, plus agents an invitation or forward is addressed to),
// the message format, and
// the fan-out: parallel with a bound, one timeout per send, stale connections removed on
// GoneException, every other failure logged and isolated. Pushing is best effort — history
// is the truth — so nothing here ever fails or holds up an action beyond a fixed budget.
package push

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/metrics"
	"github.com/invite-forward/invite-forward/shared/store"
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
	// Budget bounds a whole Publish, lookups included (default 5s, well within the
	// functions' 10s timeout): whatever is not delivered by then is dropped.
	Budget time.Duration
}

// Defaults of Options.
const (
	DefaultConcurrency = 16
	DefaultSendTimeout = 2 * time.Second
	DefaultBudget      = 5 * time.Second
)

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

// Publisher implements conversations.Publisher over the management API.
type Publisher struct {
	mgmt    Management
	store   Store
	log     *slog.Logger
	opts    Options
	metrics metrics.Publisher
}

// New returns a publisher.
func New(mgmt Management, st Store, log *slog.Logger, opts Options) *Publisher {
	return &Publisher{mgmt: mgmt, store: st, log: log, opts: opts.withDefaults(), metrics: metrics.FromEnv()}
}

// outcome is how one connection's delivery ended.
type outcome int

const (
	sent   outcome = iota
	gone           // API Gateway no longer knows the connection: it was removed
	failed         // an error, a timeout, or the budget ran out
)

// Publish sends each event to the connections of the conversation's current participants
// who may see it: visitors never receive agents-only events, and someone who has left
// receives nothing more.
func (p *Publisher) Publish(ctx context.Context, events ...conversation.Event) {
	p.deliver(ctx, nil, events)
}

// PublishToAgents is Publish that also reaches the given agents whether or not they take
// part in the conversation: the target of an invitation or forward, or a team's members.
func (p *Publisher) PublishToAgents(ctx context.Context, agentIDs []string, events ...conversation.Event) {
	p.deliver(ctx, agentIDs, events)
}

// delivery is everything one connection receives from one Publish, in event order.
type delivery struct {
	conn     store.Connection
	messages []outgoing
}

type outgoing struct {
	event   conversation.Event
	payload []byte
}

func (p *Publisher) deliver(ctx context.Context, extraAgents []string, events []conversation.Event) {
	if len(events) == 0 {
		return
	}
	// The action has answered or is about to: neither its cancellation nor its deadline
	// decides how long we push, the budget does.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.Budget)
	defer cancel()
	deliveries, err := p.plan(ctx, extraAgents, events)
	if err != nil {
		p.log.WarnContext(ctx, "push", "outcome", "lookup_failed", "conversationId", events[0].ConversationID, "cause", err.Error())
		return
	}
	p.send(ctx, deliveries)
}

// plan works out which connection gets which events: recipients per event, their live
// connections, and each event encoded once.
func (p *Publisher) plan(ctx context.Context, extraAgents []string, events []conversation.Event) ([]*delivery, error) {
	recipients, err := p.recipients(ctx, extraAgents, events)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for _, r := range recipients {
		for k := range r {
			keys[k] = true
		}
	}
	conns, err := p.store.ConnectionsOf(ctx, setToSlice(keys))
	if err != nil {
		return nil, err
	}
	return assign(events, recipients, conns)
}

// recipients returns, per event, the principal keys that may receive it.
func (p *Publisher) recipients(ctx context.Context, extraAgents []string, events []conversation.Event) ([]map[string]bool, error) {
	participants := map[string][]conversation.Participant{}
	out := make([]map[string]bool, len(events))
	for i, e := range events {
		parts, ok := participants[e.ConversationID]
		if !ok {
			var err error
			if parts, err = p.store.Participants(ctx, e.ConversationID); err != nil {
				return nil, err
			}
			participants[e.ConversationID] = parts
		}
		out[i] = audience(e, parts, extraAgents)
	}
	return out, nil
}

// audience is the rule of who receives an event: every current participant who may see it,
// and the addressed agents (agents see every audience). An invitee waiting in the lobby
// receives nothing but the answer to their wait (SPEC §9.3): participant.admitted reaches
// them as the active participant they have become, and participant.refused — once they are
// no longer a participant — as the one they are about.
func audience(e conversation.Event, parts []conversation.Participant, extraAgents []string) map[string]bool {
	keys := map[string]bool{}
	if refused, ok := conversation.RefusedParticipant(e); ok {
		keys[store.VisitorPrincipal(refused)] = true
	}
	for _, part := range parts {
		if !part.Active() || !e.VisibleTo(part.Kind) {
			continue
		}
		if part.IsAgent() {
			keys[store.AgentPrincipal(part.AgentID)] = true
		} else {
			keys[store.VisitorPrincipal(part.ID)] = true
		}
	}
	for _, id := range extraAgents {
		if id != "" {
			keys[store.AgentPrincipal(id)] = true
		}
	}
	return keys
}

func assign(events []conversation.Event, recipients []map[string]bool, conns []store.Connection) ([]*delivery, error) {
	var out []*delivery
	byConn := map[string]*delivery{}
	for i, e := range events {
		payloads, err := encode(e)
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
			d.messages = append(d.messages, outgoing{event: e, payload: payloads[kindOf(c)]})
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

// kindOf is the stream a connection follows: an agent's, unless it is a visitor's.
func kindOf(c store.Connection) conversation.ParticipantKind {
	if strings.HasPrefix(c.PrincipalKey, store.VisitorPrincipal("")) {
		return conversation.KindVisitor
	}
	return conversation.KindAgent
}

// send runs the deliveries with at most Concurrency at a time. Each connection gets its
// messages in order, on one worker, so a slow connection delays only itself. One log line
// tells the fan-out's outcome, with its metrics (connections sent to, gone, failed).
func (p *Publisher) send(ctx context.Context, deliveries []*delivery) {
	work := make(chan *delivery)
	var wg sync.WaitGroup
	var mu sync.Mutex
	tally := map[outcome]int{}
	for range min(p.opts.Concurrency, len(deliveries)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				o := p.sendTo(ctx, d)
				mu.Lock()
				tally[o]++
				mu.Unlock()
			}
		}()
	}
	for _, d := range deliveries {
		work <- d
	}
	close(work)
	wg.Wait()
	if len(deliveries) == 0 {
		return
	}
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
		err := post(ctx, p.mgmt, d.conn.ID, m.payload, p.opts.SendTimeout)
		if err == nil {
			continue
		}
		if IsGone(err) {
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

// Disconnect closes every connection of the given principals and forgets them: for a
// visitor whose session has ended, whose connection can never receive anything again.
func (p *Publisher) Disconnect(ctx context.Context, principalKeys ...string) {
	if len(principalKeys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.Budget)
	defer cancel()
	conns, err := p.store.ConnectionsOf(ctx, principalKeys)
	if err != nil {
		p.log.WarnContext(ctx, "push", "outcome", "lookup_failed", "cause", err.Error())
		return
	}
	for _, c := range conns {
		p.close(ctx, c)
	}
}

func (p *Publisher) close(ctx context.Context, c store.Connection) {
	sendCtx, cancel := context.WithTimeout(ctx, p.opts.SendTimeout)
	defer cancel()
	_, err := p.mgmt.DeleteConnection(sendCtx, &apigatewaymanagementapi.DeleteConnectionInput{
		ConnectionId: aws.String(c.ID),
	}, singleAttempt)
	if err != nil && !IsGone(err) {
		p.log.WarnContext(ctx, "push", "outcome", "close_failed", "connectionId", c.ID, "cause", err.Error())
	}
	// Forget it either way, without waiting for $disconnect (best effort, it may never come):
	// a connection we failed to close has nobody left to receive anything for.
	if err := p.store.DeleteConnection(ctx, c); err != nil {
		p.log.WarnContext(ctx, "push", "outcome", "stale_connection_not_removed", "connectionId", c.ID, "cause", err.Error())
	}
}

func setToSlice(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
