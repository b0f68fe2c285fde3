package setup

import (
	"context"
	"sync"

	"github.com/invite-forward/invite-forward/shared/awsclients"
	"github.com/invite-forward/invite-forward/shared/config"
	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/push"
	"github.com/invite-forward/invite-forward/shared/realtime"
)

// ManagementURLVar names the WebSocket API's @connections endpoint: in AWS
// https://{api-id}.execute-api.{region}.amazonaws.com/{stage} (set by the template), locally
// the gateway's. Unset, nothing is pushed.
const ManagementURLVar = "WEBSOCKET_MANAGEMENT_URL"

// realtimeDeps are the push and WebSocket parts of Deps.
type realtimeDeps struct {
	mgmtOnce sync.Once
	mgmt     push.Management

	pushOnce sync.Once
	push     Pusher

	ticketsOnce sync.Once
	tickets     *realtime.Service
}

// Pusher is a Publisher that can also address agents who are not (yet) participants: the
// target of an invitation or forward, a team's members.
type Pusher interface {
	conversations.Publisher
	PublishToAgents(ctx context.Context, agentIDs []string, events ...conversation.Event)
}

// Management is the @connections client, or nil when neither the Management override nor
// WEBSOCKET_MANAGEMENT_URL is set.
func (d *Deps) Management() push.Management {
	d.rt.mgmtOnce.Do(func() {
		if d.overrides.Management != nil {
			d.rt.mgmt = d.overrides.Management
			return
		}
		if url := config.String(ManagementURLVar, ""); url != "" {
			d.rt.mgmt = awsclients.Management(d.AWS(), url)
		}
	})
	return d.rt.mgmt
}

// Push delivers events over the WebSocket API: the Publisher override if given, else the
// management API when configured, else nothing.
func (d *Deps) Push() Pusher {
	d.rt.pushOnce.Do(func() {
		switch {
		case d.overrides.Publisher != nil:
			d.rt.push = asPusher(d.overrides.Publisher)
		case d.Management() != nil:
			d.rt.push = push.New(d.Management(), d.Store(), d.Log, push.Options{})
		default:
			d.rt.push = nopPusher{}
		}
	})
	return d.rt.push
}

// Realtime issues connect tickets and keeps the connection registry.
func (d *Deps) Realtime() *realtime.Service {
	d.rt.ticketsOnce.Do(func() {
		d.rt.tickets = &realtime.Service{Store: d.Store(), Conversations: d.Store(), Now: d.Now}
	})
	return d.rt.tickets
}

// asPusher lets a plain Publisher (a test's recorder) stand in: events addressed to agents
// then reach only the participants.
func asPusher(p conversations.Publisher) Pusher {
	if pp, ok := p.(Pusher); ok {
		return pp
	}
	return publisherOnly{p}
}

type publisherOnly struct{ conversations.Publisher }

func (p publisherOnly) PublishToAgents(ctx context.Context, _ []string, events ...conversation.Event) {
	p.Publish(ctx, events...)
}

type nopPusher struct{ conversations.NopPublisher }

func (nopPusher) PublishToAgents(context.Context, []string, ...conversation.Event) {}
