package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

// EventBridge runs the template's scheduled functions in AWS; locally the gateway does, so
// that time-driven changes (an unanswered forward coming back, with its push) happen under
// `make dev` too. Only rate(N minute[s]|hour[s]) schedules are understood.

var ratePattern = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours)\)$`)

// schedule is one scheduled function and how often it runs.
type schedule struct {
	function string
	every    time.Duration
}

// schedulesOf lists the template's Schedule events the gateway can run.
func schedulesOf(t *samtemplate.Template, log *slog.Logger) []schedule {
	var out []schedule
	for _, fn := range t.Functions() {
		for _, e := range fn.Events {
			if e.Type != "Schedule" {
				continue
			}
			expr, _ := asMap(e.Raw["Properties"])["Schedule"].(string)
			m := ratePattern.FindStringSubmatch(expr)
			if m == nil {
				log.Warn("schedule not run locally", "function", fn.LogicalID, "schedule", expr)
				continue
			}
			n, _ := strconv.Atoi(m[1])
			unit := time.Minute
			if m[2][0] == 'h' {
				unit = time.Hour
			}
			out = append(out, schedule{function: fn.LogicalID, every: time.Duration(n) * unit})
		}
	}
	return out
}

// runSchedules invokes each scheduled function at its rate until the returned stop is called.
func runSchedules(t *samtemplate.Template, fns *functions, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range schedulesOf(t, log) {
		if !fns.has(s.function) {
			continue
		}
		wg.Go(func() {
			tick := time.NewTicker(s.every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case at := <-tick.C:
					ev := events.EventBridgeEvent{
						Version: "0", ID: newRequestID(), DetailType: "Scheduled Event", Source: "aws.events",
						AccountID: localAccount, Time: at.UTC(), Region: localRegion,
						Resources: []string{fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", localRegion, localAccount, s.function)},
					}
					if err := fns.byID[s.function].invoke(ctx, ev, nil); err != nil {
						log.Warn("scheduled invocation failed", "function", s.function, "error", err.Error())
					}
				}
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}
