package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

// In AWS, a Lambda event source mapping reads the table's stream and invokes the push
// function with batches of records; locally the gateway does, reading DynamoDB Local's stream
// through the same API (ListStreams, DescribeStream, GetShardIterator, GetRecords), so that
// `make dev`, the tests and the browser test push through the real path. What the mapping
// does, this does too: the template's filter criteria, BatchSize, in-order batches per shard,
// a batch retried (from the first failed record when the function reports batch item
// failures) up to MaximumRetryAttempts and then dropped with a log line where AWS would send
// its description to the on-failure destination. Shards roll over (DynamoDB Local closes a
// shard and opens a child like DynamoDB does): a closed shard is read to its end, then its
// children from their beginning.

// StreamPollInterval is how long an idle shard waits before the next GetRecords: brisk, so a
// push follows its commit within tens of milliseconds.
const StreamPollInterval = 20 * time.Millisecond

// shardRefreshInterval is how often the stream's shards are listed again to find new ones.
const shardRefreshInterval = time.Second

// StreamSource is a function's DynamoDB event source as the template declares it.
type StreamSource struct {
	Function   string
	BatchSize  int
	Retries    int
	Filters    []map[string]any // FilterCriteria patterns; a record passes if any matches
	FromLatest bool             // StartingPosition LATEST (else TRIM_HORIZON)
	// PollEvery is how long an idle shard waits before it is read again (local only; zero:
	// StreamPollInterval).
	PollEvery time.Duration
	// IdleBackoff, when above PollEvery, lets the wait double while the stream stays idle, up
	// to it (local only): tests run many tables at once, and each waits for its pushes with
	// Drained, which reads at once.
	IdleBackoff time.Duration
}

// StreamSources lists the template's DynamoDB event sources.
func StreamSources(t *samtemplate.Template) ([]StreamSource, error) {
	var out []StreamSource
	for _, fn := range t.Functions() {
		for _, e := range fn.Events {
			if e.Type != "DynamoDB" {
				continue
			}
			p := asMap(e.Raw["Properties"])
			src := StreamSource{Function: fn.LogicalID, BatchSize: 100, Retries: -1,
				FromLatest: p["StartingPosition"] == "LATEST"}
			if n, ok := number(p["BatchSize"]); ok {
				src.BatchSize = n
			}
			if n, ok := number(p["MaximumRetryAttempts"]); ok {
				src.Retries = n
			}
			for _, f := range asSlice(asMap(p["FilterCriteria"])["Filters"]) {
				var pattern map[string]any
				raw, _ := asMap(f)["Pattern"].(string)
				if err := json.Unmarshal([]byte(raw), &pattern); err != nil {
					return nil, fmt.Errorf("%s: filter pattern %q: %w", fn.LogicalID, raw, err)
				}
				src.Filters = append(src.Filters, pattern)
			}
			out = append(out, src)
		}
	}
	return out, nil
}

func number(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case float64:
		return int(n), true
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return 0, false
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// StreamInvoker is how a batch reaches the function: its handler, directly or as JSON.
type StreamInvoker func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// StreamPoller reads one table's stream for one event source until stopped.
type StreamPoller struct {
	client *dynamodbstreams.Client
	table  string
	source StreamSource
	invoke StreamInvoker
	log    *slog.Logger

	arn    string
	shards map[string]*shard
	order  []string // shard ids as listed: parents before children
	cancel context.CancelFunc
	done   chan struct{}

	// rounds counts reads of the stream begun; idleRound is the last that found nothing.
	mu        sync.Mutex
	rounds    uint64
	idleRound uint64
	rolled    bool          // a shard closed: list the shards again before the next read
	kick      chan struct{} // Drained asks for a read now
}

type shard struct {
	id, parent string
	iterator   string
	lastSeq    string
	started    bool
	closed     bool // read to its end
}

// PollStream starts reading the table's stream and returns once every shard has its
// starting position, so that nothing committed after it returns is missed.
func PollStream(ctx context.Context, client *dynamodbstreams.Client, table string, src StreamSource, invoke StreamInvoker, log *slog.Logger) (*StreamPoller, error) {
	p := &StreamPoller{client: client, table: table, source: src, invoke: invoke, log: log,
		shards: map[string]*shard{}, done: make(chan struct{}), kick: make(chan struct{}, 1)}
	if err := p.discover(ctx, true); err != nil {
		return nil, err
	}
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	go p.run(run)
	return p, nil
}

// Stop ends the polling and waits for a batch in flight.
func (p *StreamPoller) Stop() {
	p.cancel()
	<-p.done
}

func (p *StreamPoller) run(ctx context.Context) {
	defer close(p.done)
	lastRefresh := time.Now()
	every := cmp.Or(p.source.PollEvery, StreamPollInterval)
	wait := every
	for ctx.Err() == nil {
		p.mu.Lock()
		p.rounds++
		round := p.rounds
		p.mu.Unlock()
		if p.rolled || time.Since(lastRefresh) > shardRefreshInterval {
			p.rolled = false
			lastRefresh = time.Now()
			if err := p.discover(ctx, false); err != nil && ctx.Err() == nil {
				p.log.Warn("stream: listing shards failed", "table", p.table, "error", err.Error())
			}
		}
		busy, err := p.pollOnce(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Warn("stream: reading failed; retrying", "table", p.table, "error", err.Error())
			p.arn = "" // DynamoDB Local may have restarted with a new stream: find it again
			busy = false
			sleep(ctx, 10*StreamPollInterval)
		}
		if !busy && err == nil && !p.rolled {
			p.mu.Lock()
			p.idleRound = round
			p.mu.Unlock()
		}
		switch {
		case busy:
			wait = every
		default:
			p.idle(ctx, wait)
			if wait < p.source.IdleBackoff {
				wait = min(2*wait, p.source.IdleBackoff)
			}
		}
	}
}

// Drained waits until the stream has been read to its end after the call: everything
// committed before it has been handed to the function (and the function has returned).
func (p *StreamPoller) Drained(ctx context.Context) error {
	p.mu.Lock()
	after := p.rounds
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
	for {
		p.mu.Lock()
		idle := p.idleRound
		p.mu.Unlock()
		if idle > after {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stream of %s not drained: %w", p.table, ctx.Err())
		case <-p.done:
			return errors.New("stream poller stopped")
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// idle waits d, or less if Drained asks for a read.
func (p *StreamPoller) idle(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-p.kick:
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// discover finds the stream and its shards. At the start, open shards begin at the source's
// starting position; shards found later (children of closed ones) at their beginning.
func (p *StreamPoller) discover(ctx context.Context, atStart bool) error {
	if p.arn == "" {
		out, err := p.client.ListStreams(ctx, &dynamodbstreams.ListStreamsInput{TableName: aws.String(p.table)})
		if err != nil {
			return fmt.Errorf("list streams of %s: %w", p.table, err)
		}
		if len(out.Streams) == 0 {
			return fmt.Errorf("table %s has no stream (StreamSpecification in template.yaml)", p.table)
		}
		p.arn = aws.ToString(out.Streams[len(out.Streams)-1].StreamArn)
		if !atStart {
			p.shards, p.order = map[string]*shard{}, nil
		}
	}
	var from *string
	for {
		out, err := p.client.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.arn), ExclusiveStartShardId: from})
		if err != nil {
			return fmt.Errorf("describe stream: %w", err)
		}
		for _, s := range out.StreamDescription.Shards {
			id := aws.ToString(s.ShardId)
			if _, known := p.shards[id]; known {
				continue
			}
			sh := &shard{id: id, parent: aws.ToString(s.ParentShardId)}
			if atStart && s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil {
				sh.closed = true // finished before we started: nothing of ours is in it
			}
			if atStart && !sh.closed {
				if err := p.position(ctx, sh, p.source.FromLatest); err != nil {
					return err
				}
			}
			p.shards[id] = sh
			p.order = append(p.order, id)
		}
		if out.StreamDescription.LastEvaluatedShardId == nil {
			return nil
		}
		from = out.StreamDescription.LastEvaluatedShardId
	}
}

// position gets a shard's iterator: at its end (LATEST), its beginning, or after the last
// record handled (an expired iterator).
func (p *StreamPoller) position(ctx context.Context, sh *shard, latest bool) error {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.arn), ShardId: aws.String(sh.id)}
	switch {
	case sh.lastSeq != "":
		in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(sh.lastSeq)
	case latest:
		in.ShardIteratorType = types.ShardIteratorTypeLatest
	default:
		in.ShardIteratorType = types.ShardIteratorTypeTrimHorizon
	}
	out, err := p.client.GetShardIterator(ctx, in)
	if err != nil {
		return fmt.Errorf("shard iterator of %s: %w", sh.id, err)
	}
	sh.iterator, sh.started = aws.ToString(out.ShardIterator), true
	return nil
}

// pollOnce reads each readable shard once and hands its records to the function; it reports
// whether any shard had records (then the next read follows at once).
func (p *StreamPoller) pollOnce(ctx context.Context) (bool, error) {
	busy := false
	for _, id := range p.order {
		sh := p.shards[id]
		if sh.closed || !p.readable(sh) {
			continue
		}
		if !sh.started {
			if err := p.position(ctx, sh, false); err != nil {
				return busy, err
			}
		}
		out, err := p.client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{
			ShardIterator: aws.String(sh.iterator), Limit: aws.Int32(int32(min(p.source.BatchSize, 1000))),
		})
		var expired *types.ExpiredIteratorException
		if errors.As(err, &expired) {
			sh.started = false
			continue
		}
		if err != nil {
			return busy, fmt.Errorf("get records of %s: %w", sh.id, err)
		}
		if len(out.Records) > 0 {
			busy = true
			sh.lastSeq = aws.ToString(out.Records[len(out.Records)-1].Dynamodb.SequenceNumber)
			p.deliver(ctx, out.Records)
		}
		if out.NextShardIterator == nil {
			sh.closed, p.rolled = true, true // rolled over: its children are read next
			continue
		}
		sh.iterator = aws.ToString(out.NextShardIterator)
	}
	return busy, nil
}

// readable: a shard is read once its parent is read to its end (or is gone from the list).
func (p *StreamPoller) readable(sh *shard) bool {
	parent, ok := p.shards[sh.parent]
	return !ok || parent.closed
}

// deliver invokes the function with the records that pass the filters, as Lambda would:
// retried from the first failed record, at most Retries times (-1: until it works, as
// Lambda's default), then given up with a log line where AWS would use the on-failure
// destination.
func (p *StreamPoller) deliver(ctx context.Context, records []types.Record) {
	batch := p.lambdaRecords(records)
	for attempt := 0; len(batch) > 0 && ctx.Err() == nil; attempt++ {
		resp, err := p.invoke(ctx, events.DynamoDBEvent{Records: batch})
		if err == nil && len(resp.BatchItemFailures) == 0 {
			return
		}
		if p.source.Retries >= 0 && attempt >= p.source.Retries {
			p.log.Error("stream: batch given up after its retries (in AWS: described on the on-failure destination)",
				"function", p.source.Function, "records", len(batch), "firstSequenceNumber", batch[0].Change.SequenceNumber)
			return
		}
		if err != nil {
			p.log.Warn("stream: function failed; retrying the batch", "function", p.source.Function, "error", err.Error())
		} else {
			batch = batch[firstFailed(batch, resp.BatchItemFailures):]
		}
		sleep(ctx, StreamPollInterval)
	}
}

// firstFailed is the index of the earliest record a response names (Lambda retries from the
// lowest sequence number reported).
func firstFailed(batch []events.DynamoDBEventRecord, failures []events.DynamoDBBatchItemFailure) int {
	failed := map[string]bool{}
	for _, f := range failures {
		failed[f.ItemIdentifier] = true
	}
	for i, r := range batch {
		if failed[r.Change.SequenceNumber] {
			return i
		}
	}
	return 0 // an identifier Lambda does not know fails the whole batch
}

// lambdaRecords turns stream records into the records Lambda hands a function (its JSON
// shape), keeping those that pass the filter criteria.
func (p *StreamPoller) lambdaRecords(records []types.Record) []events.DynamoDBEventRecord {
	var out []events.DynamoDBEventRecord
	for _, r := range records {
		doc := lambdaJSON(r, p.arn)
		if !passes(doc, p.source.Filters) {
			continue
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			p.log.Error("stream: record not encodable", "error", err.Error())
			continue
		}
		var rec events.DynamoDBEventRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			p.log.Error("stream: record not decodable", "error", err.Error())
			continue
		}
		out = append(out, rec)
	}
	return out
}

// lambdaJSON is a stream record as Lambda delivers it (and as filter patterns see it).
func lambdaJSON(r types.Record, streamARN string) map[string]any {
	d := r.Dynamodb
	change := map[string]any{
		"Keys": imageJSON(d.Keys), "SequenceNumber": aws.ToString(d.SequenceNumber),
		"SizeBytes": aws.ToInt64(d.SizeBytes), "StreamViewType": string(d.StreamViewType),
	}
	if d.ApproximateCreationDateTime != nil {
		change["ApproximateCreationDateTime"] = d.ApproximateCreationDateTime.Unix()
	}
	if d.NewImage != nil {
		change["NewImage"] = imageJSON(d.NewImage)
	}
	if d.OldImage != nil {
		change["OldImage"] = imageJSON(d.OldImage)
	}
	return map[string]any{
		"eventID": aws.ToString(r.EventID), "eventName": string(r.EventName), "eventVersion": aws.ToString(r.EventVersion),
		"eventSource": "aws:dynamodb", "awsRegion": localRegion, "dynamodb": change, "eventSourceARN": streamARN,
	}
}

func imageJSON(m map[string]types.AttributeValue) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = attributeJSON(v)
	}
	return out
}

// attributeJSON is an attribute value in DynamoDB's JSON ({"S": "…"}, {"N": "1"}, …).
func attributeJSON(v types.AttributeValue) map[string]any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": v.Value}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": v.Value}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}
	case *types.AttributeValueMemberBS:
		return map[string]any{"BS": v.Value}
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = attributeJSON(e)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		return map[string]any{"M": imageJSON(v.Value)}
	}
	return map[string]any{"NULL": true}
}

// passes applies Lambda's event filtering: no filters pass everything; otherwise a record
// passes if any pattern matches. Patterns here use what Lambda's grammar has for exact
// values: an object matches field by field, a list of strings is "one of these".
func passes(doc map[string]any, filters []map[string]any) bool {
	if len(filters) == 0 {
		return true
	}
	return slices.ContainsFunc(filters, func(f map[string]any) bool { return matches(doc, f) })
}

func matches(value any, pattern any) bool {
	switch pat := pattern.(type) {
	case map[string]any:
		obj, ok := value.(map[string]any)
		if !ok {
			return false
		}
		for k, sub := range pat {
			if !matches(obj[k], sub) {
				return false
			}
		}
		return true
	case []any:
		return slices.ContainsFunc(pat, func(want any) bool { return fmt.Sprint(want) == fmt.Sprint(value) && value != nil })
	}
	return false
}

// streams runs a poller for each of the template's DynamoDB event sources whose function the
// gateway can invoke.
type streams struct {
	mu      sync.Mutex
	pollers []*StreamPoller
}

func (s *streams) add(p *StreamPoller) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pollers = append(s.pollers, p)
}

func (s *streams) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pollers {
		p.Stop()
	}
	s.pollers = nil
}
