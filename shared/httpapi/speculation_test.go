package httpapi

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/idempotency"
)

// keyLedger is an idempotency store that keeps its records in memory and notes every call,
// and an "action" whose effect is a counter: what a keyed request did, and in which calls.
type keyLedger struct {
	records map[string]idempotency.Record
	calls   []string
	applied int // effects of the action that took place
	// finish, when set, answers the next Finish of a held commit instead of the store.
	finish *finishAnswer
}

// finishAnswer is how a held commit ends: whether it took effect, and what came back.
type finishAnswer struct {
	applied bool
	err     error
}

func newKeyLedger() *keyLedger { return &keyLedger{records: map[string]idempotency.Record{}} }

func (l *keyLedger) Begin(_ context.Context, c *idempotency.Claim, hash string, _, _ time.Duration) (idempotency.Record, bool, error) {
	l.calls = append(l.calls, "Begin")
	if r, ok := l.records[c.Scope]; ok {
		return r, false, nil
	}
	l.records[c.Scope] = idempotency.Record{RequestHash: hash}
	return idempotency.Record{}, true, nil
}

func (l *keyLedger) Complete(_ context.Context, c *idempotency.Claim, resp idempotency.Response, _ time.Duration) error {
	l.calls = append(l.calls, "Complete")
	r := l.records[c.Scope]
	r.Completed, r.Response = true, resp
	l.records[c.Scope] = r
	return nil
}

func (l *keyLedger) Abandon(_ context.Context, c *idempotency.Claim) error {
	l.calls = append(l.calls, "Abandon")
	delete(l.records, c.Scope)
	return nil
}

func (l *keyLedger) Lookup(_ context.Context, scope string) (idempotency.Record, bool, error) {
	l.calls = append(l.calls, "Lookup")
	r, ok := l.records[scope]
	return r, ok, nil
}

func (l *keyLedger) Finish(ctx context.Context, held idempotency.Commit, rec idempotency.Completion) error {
	l.calls = append(l.calls, "Finish")
	if _, ok := l.records[rec.Scope]; ok {
		return idempotency.ErrKeyTaken
	}
	if f := l.finish; f != nil {
		l.finish = nil
		if f.applied {
			l.applied++
			l.records[rec.Scope] = idempotency.Record{RequestHash: rec.RequestHash, Completed: true, Response: rec.Response}
		}
		return f.err
	}
	if held != nil {
		if err := held(ctx, rec); err != nil {
			return err
		}
	}
	l.records[rec.Scope] = idempotency.Record{RequestHash: rec.RequestHash, Completed: true, Response: rec.Response}
	return nil
}

// committing is an action that commits n times: held in a speculation, at once with a claim.
func (l *keyLedger) committing(n int) Action {
	return func(ctx context.Context, _ *Request) (Response, error) {
		for range n {
			sp := idempotency.SpeculationFrom(ctx)
			if sp == nil {
				l.applied++
				continue
			}
			if err := sp.Hold(func(context.Context, idempotency.Completion) error { l.applied++; return nil }); err != nil {
				return Response{}, apperror.Internal(err)
			}
		}
		return Created(map[string]int{"done": 1}), nil
	}
}

func (l *keyLedger) send(t *testing.T, act Action) events.APIGatewayV2HTTPResponse {
	t.Helper()
	h := Handle("test", quietLog(), act, AllowAnonymous(), Idempotent(l), CommitsOnce())
	resp, _ := call(t, h, keyedEvent)
	return resp
}

var keyedEvent = events.APIGatewayV2HTTPRequest{Headers: map[string]string{"idempotency-key": "0f8fad5b-d9cb-469f-a165-70867728950e"}}

func (l *keyLedger) expect(t *testing.T, resp events.APIGatewayV2HTTPResponse, status, applied int, calls ...string) {
	t.Helper()
	if resp.StatusCode != status || l.applied != applied || !slices.Equal(l.calls, calls) {
		t.Fatalf("answered %d (%s), applied %d times, calls %v; want %d, %d, %v", resp.StatusCode, resp.Body, l.applied, l.calls, status, applied, calls)
	}
	l.calls = nil
}

// An action that commits once costs the key one read and no write of its own: its answer is
// written with its commit, and a retry is answered from it.
func TestCommitsOnce_TheAnswerIsWrittenWithTheCommit(t *testing.T) {
	l := newKeyLedger()
	l.expect(t, l.send(t, l.committing(1)), 201, 1, "Lookup", "Finish")
	replayed := l.send(t, l.committing(1))
	l.expect(t, replayed, 201, 1, "Lookup")
	if replayed.Headers["Idempotency-Replayed"] != "true" {
		t.Fatalf("retry not marked replayed: %v", replayed.Headers)
	}
}

// An action that commits twice cannot be one write: it runs the long way, and the
// speculation took no effect of its own.
func TestCommitsOnce_AnActionThatDoesMoreRunsWithAClaim(t *testing.T) {
	l := newKeyLedger()
	l.expect(t, l.send(t, l.committing(2)), 201, 2, "Lookup", "Begin", "Complete")
}

// The held commit applied but its answer was lost: the long way finds the key completed and
// replays it; the action does not run again.
func TestCommitsOnce_ALostAnswerIsSettledByTheKey(t *testing.T) {
	l := newKeyLedger()
	l.finish = &finishAnswer{true, errors.New("connection reset")}
	resp := l.send(t, l.committing(1))
	l.expect(t, resp, 201, 1, "Lookup", "Finish", "Begin")
	if resp.Headers["Idempotency-Replayed"] != "true" {
		t.Fatalf("not answered from the key: %v", resp.Headers)
	}
}

// The held commit was refused (a race lost, a condition failed): nothing took effect, and
// the action runs again the long way, deciding on what it finds.
func TestCommitsOnce_ARefusedCommitRunsAgainWithAClaim(t *testing.T) {
	l := newKeyLedger()
	l.finish = &finishAnswer{false, errors.New("transaction cancelled: head")}
	l.expect(t, l.send(t, l.committing(1)), 201, 1, "Lookup", "Finish", "Begin", "Complete")
}

// The held commit was refused as busy: the key is claimed to learn that it did not apply,
// released, and the client told to come back — the action is not run again under load.
func TestCommitsOnce_ABusyCommitAnswers503AndReleasesTheKey(t *testing.T) {
	l := newKeyLedger()
	l.finish = &finishAnswer{false, apperror.Busy("service_busy", "busy", time.Second)}
	resp := l.send(t, l.committing(1))
	l.expect(t, resp, 503, 0, "Lookup", "Finish", "Begin", "Abandon")
	if resp.Headers["Retry-After"] != "1" {
		t.Fatalf("Retry-After %q", resp.Headers["Retry-After"])
	}
	l.expect(t, l.send(t, l.committing(1)), 201, 1, "Lookup", "Finish")
}

// A final refusal that changed nothing is remembered, with the one write it costs.
func TestCommitsOnce_AFinalRefusalIsRemembered(t *testing.T) {
	l := newKeyLedger()
	refuse := func(context.Context, *Request) (Response, error) {
		l.applied++ // counts runs here: a refusal takes no effect
		return Response{}, apperror.NotFound("not_found", "no such thing")
	}
	l.expect(t, l.send(t, refuse), 404, 1, "Lookup", "Finish")
	l.expect(t, l.send(t, refuse), 404, 1, "Lookup")
}

// A copy that arrives while an attempt holds the key (one that takes the long way) is told
// when to send it again.
func TestKeyed_ACopyOfARunningRequestIsToldWhenToComeBack(t *testing.T) {
	l := newKeyLedger()
	r, err := NewRequest(keyedEvent)
	if err != nil {
		t.Fatal(err)
	}
	l.records[idempotencyScope("test", r)] = idempotency.Record{RequestHash: requestHash(r)} // in progress
	resp := l.send(t, l.committing(1))
	l.expect(t, resp, 409, 0, "Lookup", "Begin")
	if resp.Headers["Retry-After"] != "1" {
		t.Fatalf("409 without Retry-After: %v", resp.Headers)
	}
}

// answeringAhead is an action that takes a slot (a write outside its commit, so it runs with
// a claim), names its result, then commits once — recording the answer under the key as the
// store does when the commit carries it, unless refused is set.
func (l *keyLedger) answeringAhead(refused bool) Action {
	return func(ctx context.Context, _ *Request) (Response, error) {
		result := map[string]int{"done": 1}
		commit := idempotency.Answering(ctx, result)
		claim := idempotency.ClaimFrom(commit)
		answer := idempotency.AnswerFrom(commit)
		switch {
		case refused:
			return Response{}, apperror.New(apperror.KindInvalid, "refused", "the commit's condition failed")
		case answer != nil:
			l.records[claim.Scope] = idempotency.Record{RequestHash: l.hashOf(claim.Scope), Completed: true, Response: *answer}
			claim.MarkAnswered()
		default:
			claim.MarkCommitted()
		}
		l.applied++
		return Created(result), nil
	}
}

func (l *keyLedger) hashOf(scope string) string { return l.records[scope].RequestHash }

func (l *keyLedger) sendAhead(t *testing.T, act Action) events.APIGatewayV2HTTPResponse {
	t.Helper()
	h := Handle("test", quietLog(), act, AllowAnonymous(), Idempotent(l), AnswersAhead(Created))
	resp, _ := call(t, h, keyedEvent)
	return resp
}

// On the long way, an action that knows its answer before its last commit records it there:
// the attempt costs no Complete, and a retry is answered from the key with the same body.
func TestAnswersAhead_TheLastCommitRecordsTheAnswer(t *testing.T) {
	l := newKeyLedger()
	first := l.sendAhead(t, l.answeringAhead(false))
	l.expect(t, first, 201, 1, "Begin")
	replayed := l.sendAhead(t, l.answeringAhead(false))
	l.expect(t, replayed, 201, 1, "Begin")
	if replayed.Headers["Idempotency-Replayed"] != "true" || replayed.Body != first.Body {
		t.Fatalf("retry answered %v %s, want the first answer %s replayed", replayed.Headers, replayed.Body, first.Body)
	}
}

// When the last commit fails, it wrote nothing, the answer included: the action's own answer
// is recorded the usual way.
func TestAnswersAhead_AFailedCommitIsCompletedAsUsual(t *testing.T) {
	l := newKeyLedger()
	l.expect(t, l.sendAhead(t, l.answeringAhead(true)), 400, 0, "Begin", "Complete")
}
