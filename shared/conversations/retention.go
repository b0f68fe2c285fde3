package conversations

import (
	"context"
	"errors"
)

// RetentionReport says what one retention sweep did.
type RetentionReport struct {
	// Retained are ended conversations whose every item now carries its expiry.
	Retained int `json:"retained"`
	// Paused ran into the sweep's deadline: the next sweep goes on where this one stopped.
	Paused int `json:"paused"`
	Failed int `json:"failed"`
}

const retentionSweepPage = 50

// SweepRetention finishes the end of every conversation that ended since the last sweep and
// stamps every item under it with its expiry, so that DynamoDB TTL deletes it all when the
// retention runs out (store.Retain says why at the end, and how). Ended conversations are
// found by the due index; reads never wait for this sweep: an item past its expiry reads as
// gone. It runs from the schedule until ctx is nearly done.
func (s *Service) SweepRetention(ctx context.Context) (RetentionReport, error) {
	var rep RetentionReport
	var errs []error
	cursor := ""
	for ctx.Err() == nil {
		due, next, err := s.Store.RetentionDue(ctx, s.Store.Now(), cursor, retentionSweepPage)
		if err != nil {
			return rep, errors.Join(append(errs, err)...)
		}
		for _, id := range due {
			done, err := s.Store.Retain(ctx, id, s.now())
			switch {
			case err != nil:
				rep.Failed++
				errs = append(errs, err)
			case done:
				rep.Retained++
			default:
				rep.Paused++
				return rep, errors.Join(errs...)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return rep, errors.Join(errs...)
}
