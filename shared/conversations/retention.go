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

// Retention sweep: conversations listed a page, and stamped at once (each one's own writes
// are parallel too, store.Retain): a run of the sweep keeps up with ends arriving faster than
// one conversation's round trips allow.
const (
	retentionSweepPage     = 50
	retentionSweepParallel = 16
)

// SweepRetention finishes the end of every conversation that ended since the last sweep and
// stamps every item under it with its expiry, so that DynamoDB TTL deletes it all when the
// retention runs out (store/retention.go says why at the end, and how). Ended conversations
// are found by the due index; reads never wait for this sweep: an item past its expiry reads
// as gone. It runs from the schedule until ctx is nearly done.
func (s *Service) SweepRetention(ctx context.Context) (RetentionReport, error) {
	var rep RetentionReport
	var errs []error
	cursor := ""
	for ctx.Err() == nil && rep.Paused == 0 {
		due, next, err := s.Store.RetentionDue(ctx, s.Store.Now(), cursor, retentionSweepPage)
		if err != nil {
			return rep, errors.Join(append(errs, err)...)
		}
		errs = append(errs, s.retainAll(ctx, due, &rep))
		if next == "" {
			break
		}
		cursor = next
	}
	return rep, errors.Join(errs...)
}

// retainAll stamps the conversations, retentionSweepParallel at a time, and counts them.
func (s *Service) retainAll(ctx context.Context, ids []string, rep *RetentionReport) error {
	var (
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
	return errors.Join(errs...)
}
