package setup

import (
	"sync"

	"github.com/invite-forward/invite-forward/shared/config"
	"github.com/invite-forward/invite-forward/shared/push"
	"github.com/invite-forward/invite-forward/shared/realtime"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

// realtimeDeps are the push and WebSocket parts of Deps.
type realtimeDeps struct {
	mgmtOnce sync.Once
	mgmt     wsapi.Management

	pushOnce sync.Once
	push     *push.Publisher

	ticketsOnce sync.Once
	tickets     *realtime.Service
}

// Management is the @connections client, or nil when neither the Management override nor
// WEBSOCKET_MANAGEMENT_URL is set.
func (d *Deps) Management() wsapi.Management {
	d.rt.mgmtOnce.Do(func() {
		if d.overrides.Management != nil {
			d.rt.mgmt = d.overrides.Management
			return
		}
		if url := config.String(wsapi.EndpointVar, ""); url != "" {
			d.rt.mgmt = wsapi.NewClient(d.AWS(), url)
		}
	})
	return d.rt.mgmt
}

// Push is the push function's fan-out over the WebSocket API. Without an @connections
// endpoint it cannot start.
func (d *Deps) Push() *push.Publisher {
	d.rt.pushOnce.Do(func() {
		mgmt := d.Management()
		if mgmt == nil {
			panic("config: environment variable " + wsapi.EndpointVar + " is required")
		}
		d.rt.push = push.New(mgmt, d.Store(), d.Log, push.Options{})
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
