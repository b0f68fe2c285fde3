package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/idempotency"
	"github.com/invite-forward/invite-forward/shared/outcome"
	"github.com/invite-forward/invite-forward/shared/requestscope"
)

// Idempotency follows the pattern of AWS Lambda Powertools: before the action runs, a
// record "in progress" is written under the caller's key with a conditional put; the action
// runs only if that write succeeded; its response is then stored as "completed" and every
// retry with the same key gets that stored response without the action running again (no
// second email). A failure of ours (5xx, 502) removes the record so the retry can succeed.

// maxKeyLen bounds any Idempotency-Key.
const maxKeyLen = 255

func idempotencyKey(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	if len(raw) > maxKeyLen {
		return "", apperror.Invalid("invalid_idempotency_key", "Idempotency-Key must be at most 255 characters")
	}
	for _, r := range raw {
		if r < 0x21 || r > 0x7e {
			return "", apperror.Invalid("invalid_idempotency_key", "Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return raw, nil
}

// idempotencyScope keeps keys of different callers and actions apart (SPEC §5, idempotency
// scoped to who asked): a signed-in caller's key is theirs alone; an anonymous caller has no
// identity but the key itself — never the client IP, which neighbours behind one NAT share
// and which changes when a phone changes networks — so anonymous keys must be unguessable.
func idempotencyScope(action string, r *Request) string {
	p := r.Principal
	who := string(p.Kind) + ":" + p.AgentID + p.ParticipantID
	if anonymous(p) {
		who = "anonymous"
	}
	sum := sha256.Sum256([]byte(who + "\x00" + action + "\x00" + r.IdempotencyKey))
	return hex.EncodeToString(sum[:])
}

func anonymous(p auth.Principal) bool {
	return p.Kind == "" || (p.AgentID == "" && p.ParticipantID == "")
}

// minAnonymousKeyLen: 22 URL-safe characters carry 132 bits, as much as a random UUID's 122.
const minAnonymousKeyLen = 22

var uuidShape = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// urlSafeRandom: 22 to 255 URL-safe base64 characters. A loop, not a pattern: a bounded
// repetition this long compiles to 255 copies of its class, about 2 ms at every cold start.
func urlSafeRandom(key string) bool {
	if len(key) < minAnonymousKeyLen || len(key) > maxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkAnonymousKey refuses an anonymous key that someone else could guess: the key alone
// gives back what its request answered (a visitor's session token).
func checkAnonymousKey(key string) error {
	if uuidShape.MatchString(key) || urlSafeRandom(key) {
		return nil
	}
	return apperror.Invalid("invalid_idempotency_key",
		"without credentials, Idempotency-Key must be a random UUID or at least 22 random URL-safe characters")
}

// requestHash fingerprints what the request asks for, so a key reused for a different
// request is refused instead of silently answering with the wrong response.
func requestHash(r *Request) string {
	h := sha256.New()
	params, _ := json.Marshal(r.PathParams)
	h.Write(params)
	h.Write([]byte{0})
	h.Write(r.Body)
	return hex.EncodeToString(h.Sum(nil))
}

func runIdempotent(ctx context.Context, s settings, action string, r *Request, act Action, log *slog.Logger) (Response, error) {
	if anonymous(r.Principal) {
		if err := checkAnonymousKey(r.IdempotencyKey); err != nil {
			return Response{}, err
		}
	}
	k := keyed{st: s.idempotency, scope: idempotencyScope(action, r), hash: requestHash(r), answer: s.answer, rides: s.keyRides, log: log}
	if s.commitsOnce != nil && s.commitsOnce(r) {
		resp, err, done := k.speculate(ctx, s.prefetch, r, act)
		if done {
			return resp, err
		}
		// The speculation wrote nothing; the long way starts afresh, reading what it needs
		// again in a scope of its own.
		ctx = requestscope.New(ctx)
	}
	return k.claimed(ctx, s.prefetch, r, act)
}

// keyed is a request with an Idempotency-Key: where its answer is kept, under what.
type keyed struct {
	st          idempotency.Store
	scope, hash string
	answer      func(result any) Response // AnswersAhead
	rides       bool                      // PrefetchWithKey
	log         *slog.Logger
}

// speculate runs an action that commits once with its answer in its transaction
// (idempotency.Speculation): a key read beside the action's first read, then the action's
// one write. done is false when the request must take the long way: the speculation's
// transaction lost a race or its answer was lost, the action did more than one commit, or
// another attempt holds the key. Nothing was written then.
func (k keyed) speculate(ctx context.Context, prefetch Prefetcher, r *Request, act Action) (resp Response, err error, done bool) {
	rec, found, err := k.lookUpBeside(ctx, prefetch, r)
	switch {
	case err != nil:
		return Response{}, apperror.Internal(err), true
	case found && rec.Completed:
		resp, err := replay(rec, k.hash)
		return resp, err, true
	case found:
		return Response{}, nil, false // in progress: Begin tells a live attempt from a dead one
	}
	sp := &idempotency.Speculation{}
	resp, actErr := act(idempotency.WithSpeculation(ctx, sp), r)
	held, committed := sp.Held()
	switch {
	case sp.Spoiled() || (committed && actErr != nil):
		return Response{}, nil, false
	case !committed && actErr != nil && notRemembered(apperror.As(actErr).Kind):
		return resp, actErr, true
	}
	err = k.st.Finish(ctx, held, idempotency.Completion{Scope: k.scope, RequestHash: k.hash, Response: toStored(resp, actErr), TTL: idempotency.TTL})
	switch {
	case err == nil:
		return resp, actErr, true
	case !committed:
		// A final refusal that changed nothing is the answer whether or not it was kept.
		if !errors.Is(err, idempotency.ErrKeyTaken) {
			k.log.ErrorContext(ctx, "idempotency", "outcome", "not_recorded", "cause", err.Error())
		}
		return resp, actErr, true
	case apperror.IsBusy(err):
		// Too much at once: Begin learns whether the transaction applied after all; if not,
		// the client is told to come back rather than the action run again now.
		resp, err := k.claimedBusy(ctx, err)
		return resp, err, true
	default:
		return Response{}, nil, false
	}
}

// lookUpBeside reads the key while the prefetch reads what the action needs: riding on the
// prefetch's first consistent batch read when the route has one (PrefetchWithKey), else with
// a read of its own at the same time.
func (k keyed) lookUpBeside(ctx context.Context, prefetch Prefetcher, r *Request) (idempotency.Record, bool, error) {
	if k.rides && prefetch != nil {
		riding := idempotency.WithRide(ctx, k.scope)
		beside(riding, prefetch, r).Wait()
		return k.st.Lookup(riding, k.scope)
	}
	fetched := beside(ctx, prefetch, r)
	defer fetched.Wait()
	return k.st.Lookup(ctx, k.scope)
}

// claimedBusy answers a speculation whose transaction was refused as busy: a replay if it
// applied (the key holds its answer), else the 503, with the key released.
func (k keyed) claimedBusy(ctx context.Context, busy error) (Response, error) {
	claim := idempotency.NewClaim(k.scope)
	existing, claimed, err := k.st.Begin(ctx, claim, k.hash, idempotency.TTL, idempotency.InProgressTimeout)
	switch {
	case err != nil:
		return Response{}, apperror.Internal(err)
	case !claimed:
		return replay(existing, k.hash)
	}
	k.abandon(ctx, claim)
	return Response{}, busy
}

// claimed runs the action the long way: the key claimed (beside the prefetch), the action run
// with the claim in every transaction it commits, its answer recorded.
func (k keyed) claimed(ctx context.Context, prefetch Prefetcher, r *Request, act Action) (Response, error) {
	claim := idempotency.NewClaim(k.scope)
	fetched := beside(ctx, prefetch, r)
	existing, claimed, err := k.st.Begin(ctx, claim, k.hash, idempotency.TTL, idempotency.InProgressTimeout)
	fetched.Wait()
	if err != nil {
		return Response{}, apperror.Internal(err)
	}
	if !claimed {
		return replay(existing, k.hash)
	}
	resp, actErr := act(k.attempt(ctx, claim), r)
	if errors.Is(actErr, idempotency.ErrClaimLost) {
		return Response{}, errInProgress
	}
	if claim.Answered() && actErr == nil {
		return resp, nil // the action's last commit recorded this answer
	}
	if claim.Committed() && apperror.IsBusy(actErr) {
		// A 503 says nothing was done; after the commit that is false. Answered as our fault,
		// the key stays held, and a retry is told so instead of doing the action again.
		actErr = apperror.New(apperror.KindInternal, "internal", "something went wrong on our side").WithCause(actErr)
	}
	if actErr != nil && !finalAfterCommit(claim, actErr) && notRemembered(apperror.As(actErr).Kind) {
		// Released only if nothing committed; otherwise the key stays held so that a retry
		// cannot do the action a second time.
		k.abandon(ctx, claim)
		return resp, actErr
	}
	record, done := outcome.Context(ctx)
	defer done()
	if err := k.st.Complete(record, claim, toStored(resp, actErr), idempotency.TTL); err != nil {
		// The action is done and this is its answer; a retry finds the key held.
		k.log.ErrorContext(ctx, "idempotency", "outcome", "not_recorded", "cause", err.Error())
	}
	return resp, actErr
}

// attempt is the context the action runs in on the long way: its commits carry the claim, and
// on a route that answers ahead, its last commit may carry the answer.
func (k keyed) attempt(ctx context.Context, claim *idempotency.Claim) context.Context {
	ctx = idempotency.WithClaim(ctx, claim)
	if k.answer == nil {
		return ctx
	}
	return idempotency.WithAnswerer(ctx, k.st, k.scope, func(result any) idempotency.Response {
		return toStored(k.answer(result), nil)
	})
}

func (k keyed) abandon(ctx context.Context, claim *idempotency.Claim) {
	record, done := outcome.Context(ctx)
	defer done()
	if err := k.st.Abandon(record, claim); err != nil {
		k.log.ErrorContext(ctx, "idempotency", "outcome", "not_released", "cause", err.Error())
	}
}

// beside starts the prefetch, if any, and returns what to wait on for it to finish.
func beside(ctx context.Context, prefetch Prefetcher, r *Request) *sync.WaitGroup {
	var wg sync.WaitGroup
	if prefetch != nil {
		wg.Go(func() { prefetch(ctx, r) })
	}
	return &wg
}

// errInProgress tells a client that sent a request again too soon when to send it again: an
// attempt runs for a few hundred milliseconds, so a second is enough.
var errInProgress = func() *apperror.Error {
	e := apperror.Conflict("idempotency_in_progress",
		"a request with this Idempotency-Key is still being processed; retry after Retry-After seconds")
	e.RetryAfter = time.Second
	return e
}()

func replay(rec idempotency.Record, hash string) (Response, error) {
	if rec.RequestHash != hash {
		return Response{}, apperror.New(apperror.KindUnprocessable, "idempotency_key_reused",
			"this Idempotency-Key was used for a different request")
	}
	if !rec.Completed {
		return Response{}, errInProgress
	}
	headers := map[string]string{"Idempotency-Replayed": "true"}
	for k, v := range rec.Response.Headers {
		headers[k] = v
	}
	var body any
	if len(rec.Response.Body) > 0 {
		body = rec.Response.Body
	}
	return Response{Status: rec.Response.Status, Body: body, Headers: headers}, nil
}

// toStored keeps the answer a retry must see again. Final client errors are remembered too:
// the same request would fail the same way.
func toStored(resp Response, actErr error) idempotency.Response {
	out := encode(resp)
	if actErr != nil {
		out = errorResponse(apperror.As(actErr))
	}
	headers := map[string]string{}
	for k, v := range out.Headers {
		if k != "Content-Type" && k != "Cache-Control" {
			headers[k] = v
		}
	}
	var body json.RawMessage
	if out.Body != "" {
		body = json.RawMessage(out.Body)
	}
	return idempotency.Response{Status: out.StatusCode, Body: body, Headers: headers}
}

// finalAfterCommit: an attempt that committed and then answered with a product error (not
// an internal one) gave its final answer — an email SES refused is recorded as failed and
// answered email_not_sent, and a retry must hear the same.
func finalAfterCommit(c *idempotency.Claim, err error) bool {
	return c.Committed() && apperror.As(err).Kind != apperror.KindInternal
}

// notRemembered: answers that are not final, which a retry must not replay (SPEC §5). Our
// failures may pass on retry; a 429 ends with its window; a 409 reports a state that raced
// with the request (another accept first, a forward pending) and changed nothing, so the
// retry is decided afresh on the state it finds.
func notRemembered(k apperror.Kind) bool {
	return k.Retryable() || k == apperror.KindRateLimited || k == apperror.KindConflict
}
