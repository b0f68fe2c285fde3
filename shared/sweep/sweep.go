// Package sweep is the scheduled sweep: one walk of the due index (store.Due), oldest
// deadline first, handing each entry to the rule it is due under — invitations nobody
// answered in time expire (handover), invitees who waited past their time are refused (the
// lobby), ended conversations get their expiry on every item (retention).
package sweep

import (
	"context"
	"errors"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/store"
)

// Index is the due index as the sweep reads it.
type Index interface {
	Due(ctx context.Context, now time.Time, after string, limit int) (store.Due, string, error)
	// Now is the clock the entries' conditions compare with.
	Now() time.Time
}

// Sweep is what one run needs.
type Sweep struct {
	Index         Index
	Handover      *handover.Service
	Conversations *conversations.Service
}

// Report says what one run did: to invitations and forwards, to the lobby, and to ended
// conversations.
type Report struct {
	handover.SweepReport
	Lobby     conversations.LobbyReport     `json:"lobby"`
	Retention conversations.RetentionReport `json:"retention"`
	// Unknown are entries of the index of no kind the sweep knows: left where they are.
	Unknown int `json:"unknown,omitempty"`
}

// Page size of the walk, and the time a run leaves itself before its deadline.
const (
	page   = 50
	margin = 2 * time.Second
)

// Run walks the index a page at a time — every shard of a page read at once, so a run with
// nothing to do is one round trip — until the index is done or ctx's deadline is near. A
// failure of one entry does not stop the others; every failure is returned, joined, and what
// was done stays done: the next run picks up the rest.
func (s Sweep) Run(ctx context.Context) (Report, error) {
	now := s.Index.Now()
	var rep Report
	var errs []error
	after := ""
	for !nearDeadline(ctx) {
		due, next, err := s.Index.Due(ctx, now, after, page)
		if err != nil {
			return rep, errors.Join(append(errs, err)...)
		}
		errs = append(errs, s.work(ctx, due, &rep))
		if next == "" || rep.Retention.Paused > 0 {
			break
		}
		after = next
	}
	return rep, errors.Join(errs...)
}

// work hands a page's entries to their rules and counts what each did.
func (s Sweep) work(ctx context.Context, due store.Due, rep *Report) error {
	expired, expireErr := s.Handover.ExpireDue(ctx, due.Invitations)
	lobby, lobbyErr := s.Conversations.TimeOutDue(ctx, due.Waiting)
	retained, retainErr := s.Conversations.RetainDue(ctx, due.Ended)
	rep.SweepReport.Add(expired)
	rep.Lobby.Add(lobby)
	rep.Retention.Add(retained)
	rep.Unknown += due.Unknown
	return errors.Join(expireErr, lobbyErr, retainErr)
}

func nearDeadline(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ctx.Err() != nil || (ok && time.Until(deadline) < margin)
}
