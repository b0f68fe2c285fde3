package conversations

import (
	"context"
	"errors"
	"sync"
)

// RetentionReport says what one retention sweep did.
type RetentionReport struct {
	// Retained are ended conversations whose every item now carries its expiry.
	Retained int `json:"retained"`
	// Paused ran into the sweep's deadline: the next sweep goes on where this one stopped.
	Paused int `json:"paused"`
	Failed int `json:"failed"`
}

// Add adds another page's counts.
func (r *RetentionReport) Add(o RetentionReport) {
	r.Retained += o.Retained
	r.Paused += o.Paused
	r.Failed += o.Failed
}

// retentionSweepParallel is how many conversations of a page are stamped at once (each one's
// own writes are parallel too, store.Retain): a run of the sweep keeps up with ends arriving
// faster than one conversation's round trips allow.
const retentionSweepParallel = 16

// RetainDue finishes the end of every ended conversation of the sweep's page (store.Due) and
// stamps every item under it with its expiry, so that DynamoDB TTL deletes it all when the
// retention runs out (store/retention.go says why at the end, and how); reads never wait for
// this: an item past its expiry reads as gone. A conversation the deadline of ctx cut short
// counts as paused: the next sweep goes on where it stopped.
func (s *Service) RetainDue(ctx context.Context, ids []string) (RetentionReport, error) {
	var (
		rep   RetentionReport
		mu    sync.Mutex
		errs  []error
		wg    sync.WaitGroup
		slots = make(chan struct{}, retentionSweepParallel)
	)
	for _, id := range ids {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			done, err := s.Store.Retain(ctx, id, s.now())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				rep.Failed++
				errs = append(errs, err)
			case done:
				rep.Retained++
			default:
				rep.Paused++
			}
		})
	}
	wg.Wait()
	return rep, errors.Join(errs...)
}
