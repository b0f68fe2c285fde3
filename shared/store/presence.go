package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/invite-forward/invite-forward/shared/idempotency"
)

// Presence: which agents have a live WebSocket connection, read for many agents at once (the
// directory, a chain's skipping of offline agents) with one BatchGetItem per 100 agents
// instead of a Query of connections per agent.
//
// An agent's presence is one item per UTC day, AGENT#<id> / PRESENCE#<yyyy-mm-dd>, holding one
// attribute per connection, "conn#<connectionId>" = the connection's expiresAt (epoch
// seconds). A connection is written into every day its life touches (at most two: it lives
// ConnectionTTL), so a reader reads only today's item, and an entry past its expiresAt counts
// as absent, as the connection item does: a socket that died without $disconnect stops
// counting when API Gateway would have closed it. Each day's item expires by TTL when its day
// ends, taking with it the entries of sockets that died without $disconnect, so an agent who
// stays connected for weeks does not grow one item for ever.
//
// Writes are single-attribute SET and REMOVE, so two sockets of one agent connecting and
// disconnecting at once never overwrite each other's entry (no read-modify-write), and each
// is in the transaction that writes or deletes the connection's own items: presence says
// "connected" exactly while the connection item exists.

const (
	presencePrefix = "PRESENCE#"
	presenceEntry  = "conn#"
	daySeconds     = int64(24 * time.Hour / time.Second)
	// batchGetKeys is DynamoDB's limit of keys in one BatchGetItem.
	batchGetKeys = 100
	// maxBatchGetRounds bounds the retries of keys DynamoDB left unprocessed (throttling).
	maxBatchGetRounds = 5
)

// presenceSK names the presence item of the UTC day that holds t (epoch seconds).
func presenceSK(t int64) string {
	return presencePrefix + time.Unix(t-t%daySeconds, 0).UTC().Format(time.DateOnly)
}

// presenceDays are the days (their start, epoch seconds) a connection's life touches: from its
// connectedAt (ms) until its last live second, expiresAt (s) - 1.
func presenceDays(connectedAtMs, expiresAt int64) []int64 {
	var out []int64
	for d := connectedAtMs / 1000 / daySeconds * daySeconds; d < expiresAt; d += daySeconds {
		out = append(out, d)
	}
	return out
}

// agentOf is the agent a connection's principal names; "" for a visitor's.
func agentOf(principal string) string {
	id, ok := strings.CutPrefix(principal, AgentPrincipal(""))
	if !ok {
		return ""
	}
	return id
}

// addPresence adds, for an agent's connection, its entry to each day's presence item.
func (t *tx) addPresence(it connectionItem) *tx {
	return t.presence(it, "SET #conn = :exp, #type = :type, expiresAt = :dayEnd", num(it.ExpiresAt))
}

// removePresence removes an agent's connection from each day's presence item. It also sets
// the day's expiry, so that removing from a day nobody wrote (a second clean-up of one
// connection) leaves an empty item that expires with its day, not one kept for good.
func (t *tx) removePresence(it connectionItem) *tx {
	return t.presence(it, "REMOVE #conn SET #type = :type, expiresAt = :dayEnd", nil)
}

func (t *tx) presence(it connectionItem, update string, exp types.AttributeValue) *tx {
	agentID := agentOf(it.Principal)
	if agentID == "" {
		return t
	}
	for _, d := range presenceDays(it.ConnectedAt, it.ExpiresAt) {
		values := map[string]types.AttributeValue{":type": str("presence"), ":dayEnd": num(d + daySeconds)}
		if exp != nil {
			values[":exp"] = exp
		}
		t.update("presence", agentPK(agentID), presenceSK(d), update, cond{
			names:  map[string]string{"#conn": presenceEntry + it.ConnectionID, "#type": "type"},
			values: values,
		})
	}
	return t
}

// Connected reports which of the given agents have at least one live connection, from today's
// presence items: one BatchGetItem per 100 agents, in parallel. It implements
// directory.Presence. Reads are eventually consistent: presence is shown, and a chain skips
// an agent by it, at a person's pace; a connection made a second ago may be missed.
func (s *Store) Connected(ctx context.Context, agentIDs []string) (map[string]bool, error) {
	now := s.now()
	unique := slices.Compact(slices.Sorted(slices.Values(agentIDs)))
	chunks := slices.Collect(slices.Chunk(unique, batchGetKeys))
	found := make([][]map[string]types.AttributeValue, len(chunks))
	err := forEachBounded(ctx, len(chunks), lookupConcurrency, func(ctx context.Context, i int) error {
		keys := make([]map[string]types.AttributeValue, len(chunks[i]))
		for k, id := range chunks[i] {
			keys[k] = key(agentPK(id), presenceSK(now.Unix()))
		}
		items, err := s.batchGet(ctx, keys, false)
		found[i] = items
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(unique))
	for _, id := range unique {
		out[id] = false
	}
	for _, items := range found {
		for _, item := range items {
			if pk, ok := item["pk"].(*types.AttributeValueMemberS); ok && anyLive(item, now) {
				out[strings.TrimPrefix(pk.Value, agentPK(""))] = true
			}
		}
	}
	return out, nil
}

// anyLive reports whether a presence item holds a connection that has not expired by now.
func anyLive(item map[string]types.AttributeValue, now time.Time) bool {
	for name, v := range item {
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok || !strings.HasPrefix(name, presenceEntry) {
			continue
		}
		if exp, err := strconv.ParseInt(n.Value, 10, 64); err == nil && live(exp, now) {
			return true
		}
	}
	return false
}

// batchGet reads up to 100 keys with one BatchGetItem, asking again (with backoff) for the keys
// DynamoDB leaves unprocessed, as it may under throttling. Absent items, and items past their
// expiresAt (TTL deletion lags), are simply missing from the answer. A consistent read takes
// the request's idempotency ride, if one is offered (idempotency.Ride): the key's record is
// read with it and delivered to Lookup, never returned.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, consistent bool) ([]map[string]types.AttributeValue, error) {
	ride := idempotency.RideFrom(ctx)
	if !consistent || ride == nil || len(keys) >= batchGetKeys || !ride.Take() {
		return s.batchGetRaw(ctx, keys, consistent)
	}
	recordPK := idemPK(ride.Scope)
	items, err := s.batchGetRaw(ctx, append(slices.Clone(keys), key(recordPK, idemSK)), consistent)
	var record map[string]types.AttributeValue
	items = slices.DeleteFunc(items, func(it map[string]types.AttributeValue) bool {
		pk, _ := it["pk"].(*types.AttributeValueMemberS)
		if pk == nil || pk.Value != recordPK {
			return false
		}
		record = it
		return true
	})
	ride.Deliver(record, err)
	return items, err
}

// batchGetRaw is batchGet without the ride.
func (s *Store) batchGetRaw(ctx context.Context, keys []map[string]types.AttributeValue, consistent bool) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	pending := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(consistent)}}
	for round := 0; len(pending) > 0; round++ {
		if round == maxBatchGetRounds {
			return nil, fmt.Errorf("batch get: %d keys still unprocessed", len(pending[s.table].Keys))
		}
		if round > 0 {
			if err := sleep(ctx, backoff(round)); err != nil {
				return nil, err
			}
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		if err != nil {
			return nil, fmt.Errorf("batch get: %w", err)
		}
		for _, it := range res.Responses[s.table] {
			if liveItem(it, s.now()) {
				out = append(out, it)
			}
		}
		pending = res.UnprocessedKeys
	}
	return out, nil
}

// backoff is the wait before retry round n (1, 2, …): exponential from 25 ms with full jitter,
// as AWS advises for unprocessed keys.
func backoff(round int) time.Duration {
	return time.Duration(rand.Int64N(int64(25*time.Millisecond) << round))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
