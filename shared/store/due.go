package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/invitation"
)

// The due index (gsi3) is the scheduled sweep's to-do list: everything that must happen by a
// deadline nobody may be awake for, one entry per thing, gsi3pk DUE#<shard> and gsi3sk
// <deadline ms>#<ids>:
//
//   - a pending invitation that can expire (INV#<id>, until its validUntil);
//   - a participant waiting in the lobby (PART#<id>, until its waitingUntil; lobby.go);
//   - an ended conversation's head until its items carry their expiry (HEAD, from its end;
//     retention.go).
//
// One index for the three, spread over dueShards partitions by the entry's own id, so that no
// index partition takes every write of a path that grows with traffic (redemptions into a
// lobby, invitations, ends), and a sweep with nothing to do is one Query per shard, all at
// once: one round trip, where three indexes read one after another took three.

// Due is a page of the due index, by kind, each in deadline order.
type Due struct {
	Invitations []invitation.Offer
	Waiting     []conversation.Participant
	// Ended are the ids of ended conversations whose items are still to be stamped.
	Ended []string
	// Unknown counts entries of no kind above (a hand-made one gone wrong): left alone, so
	// that one bad entry does not stop the sweep of everything due after it.
	Unknown int
}

// Due lists up to limit entries of the due index whose deadline is at or before now, oldest
// first, after the cursor ("" for the start); next is the cursor of the following page, ""
// when there is none. The index is eventually consistent: whoever acts on an entry reads it
// again or writes with conditions.
func (s *Store) Due(ctx context.Context, now time.Time, after string, limit int) (due Due, next string, err error) {
	items, next, err := s.duePage(ctx, now, after, limit)
	if err != nil {
		return Due{}, "", fmt.Errorf("query the due index: %w", err)
	}
	for _, item := range items {
		if err := due.add(item); err != nil {
			return Due{}, "", fmt.Errorf("decode a due entry: %w", err)
		}
	}
	return due, next, nil
}

// add files one entry of the index under its kind, told by its item's sort key.
func (d *Due) add(item map[string]types.AttributeValue) error {
	pk, sk := stringAttr(item, "pk"), stringAttr(item, "sk")
	switch {
	case sk == invitationSK:
		var it offerItem
		return decodeInto(item, &it, func() { d.Invitations = append(d.Invitations, it.domain()) })
	case strings.HasPrefix(sk, partSK("")):
		var it participantItem
		return decodeInto(item, &it, func() { d.Waiting = append(d.Waiting, it.domain(conversationIDOf(pk))) })
	case sk == headSK:
		d.Ended = append(d.Ended, conversationIDOf(pk))
	default:
		d.Unknown++
	}
	return nil
}

// duePage reads a page of the due index: every shard at once, up to limit items each after
// the cursor, merged by their place in the index (gsi3sk: deadline, then ids) and cut at
// limit. next is the gsi3sk of the page's last item while any shard may hold more, "" once
// every shard was read to its end. Each shard returns its first limit items, so the merged
// first limit are the index's first after the cursor.
func (s *Store) duePage(ctx context.Context, now time.Time, after string, limit int) (items []map[string]types.AttributeValue, next string, err error) {
	pages := make([]*dynamodb.QueryOutput, dueShards)
	errs := make([]error, dueShards)
	var wg sync.WaitGroup
	for shard := range dueShards {
		wg.Go(func() { pages[shard], errs[shard] = s.dueQuery(ctx, dueKeyOf(shard), now, after, limit) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, "", err
	}
	more := false
	for _, p := range pages {
		items = append(items, p.Items...)
		more = more || p.LastEvaluatedKey != nil
	}
	slices.SortFunc(items, func(a, b map[string]types.AttributeValue) int { return strings.Compare(dueSortKey(a), dueSortKey(b)) })
	if len(items) > limit {
		items, more = items[:limit], true
	}
	if more && len(items) > 0 {
		next = dueSortKey(items[len(items)-1])
	}
	return items, next, nil
}

// dueSortKey is an item's place in the due index.
func dueSortKey(item map[string]types.AttributeValue) string { return stringAttr(item, "gsi3sk") }

// dueQuery reads one partition of the due index: up to limit items whose deadline is at or
// before now, after the cursor.
func (s *Store) dueQuery(ctx context.Context, partition string, now time.Time, after string, limit int) (*dynamodb.QueryOutput, error) {
	// gsi3sk is <deadline>#<ids> with a fixed-width deadline; '#' sorts before '$', so every
	// deadline up to and including now is below the bound, and "0" is below every deadline.
	from := "0"
	if after != "" {
		from = after + "\x00"
	}
	return s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		IndexName:              aws.String(IndexGSI3),
		KeyConditionExpression: aws.String("gsi3pk = :due AND gsi3sk BETWEEN :from AND :bound"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":due": str(partition), ":from": str(from), ":bound": str(sortKeyTime(now) + "$"),
		},
		Limit: aws.Int32(int32(limit)),
	})
}

// dueShards is how many partitions the due index is spread over: at 1,000 WCU a second per
// index partition, 8 take any plausible rate of invitations, lobby waits and ends together
// with room to spare.
const dueShards = 8

// dueShard is the due-index partition of an entry, fixed by its id (an invitation's, a
// waiting participant's, an ended conversation's).
func dueShard(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return dueKeyOf(int(h.Sum32() % dueShards))
}

func dueKeyOf(shard int) string { return dueKey + "#" + strconv.Itoa(shard) }
