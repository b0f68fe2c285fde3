// Package httpapi is the one adapter between API Gateway's HTTP API (payload format 2.0) and
// the product's actions: it turns an APIGatewayV2HTTPRequest into a typed Request (with the
// caller's Principal from the authorizer), decodes JSON bodies strictly, maps errors to
// {"error":{"code","message"}} with the right status, applies Idempotency-Key, and writes one
// log line per request. No function has its own copy of any of this.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/idempotency"
	"github.com/invite-forward/invite-forward/shared/ids"
	"github.com/invite-forward/invite-forward/shared/metrics"
	"github.com/invite-forward/invite-forward/shared/requestscope"
)

// MaxBodyBytes is the largest request body accepted (413 beyond). Every request of this API
// is small JSON; the limit keeps a single request from costing much.
const MaxBodyBytes = 16 << 10

// Request is what an action sees of an HTTP request.
type Request struct {
	Principal      auth.Principal
	PathParams     map[string]string
	Query          map[string]string
	Body           []byte
	Headers        map[string]string // lower-case names
	SourceIP       string
	RequestID      string
	IdempotencyKey string
	// ConversationID is logged with the outcome; set from the {id} path parameter, or by
	// the action when it learns it later (start, redeem).
	ConversationID string
}

// Path returns a path parameter.
func (r *Request) Path(name string) string { return r.PathParams[name] }

// Response is what an action answers: a status and a JSON body.
type Response struct {
	Status  int
	Body    any
	Headers map[string]string
}

// OK is a 200 with a JSON body.
func OK(body any) Response { return Response{Status: 200, Body: body} }

// Created is a 201 with a JSON body.
func Created(body any) Response { return Response{Status: 201, Body: body} }

// NoContent is a 204.
func NoContent() Response { return Response{Status: 204} }

// Action is one API operation.
type Action func(ctx context.Context, r *Request) (Response, error)

// Handler is what lambda.Start receives.
type Handler func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Option changes how Handle treats a route.
type Option func(*settings)

type settings struct {
	idempotency idempotency.Store
	commitsOnce func(*Request) bool
	answer      func(result any) Response
	prefetch    Prefetcher
	keyRides    bool // PrefetchWithKey
	anonymous   bool
	noBody      bool
	now         func() time.Time
	metrics     metrics.Publisher
}

// Prefetcher reads what an action will need, keeping it in the request's scope
// (requestscope), while the request's idempotency claim is written.
type Prefetcher func(ctx context.Context, r *Request)

// Prefetch runs fn beside the idempotency claim of a keyed request, so that the claim and the
// action's first read take one round trip between them instead of two. What fn reads must be
// safe to read before the claim is won: it is dropped if the request turns out a replay.
func Prefetch(fn Prefetcher) Option { return func(o *settings) { o.prefetch = fn } }

// PrefetchWithKey is Prefetch for a prefetch that starts with a consistent batch read (an
// access check's store.Standing): a request that commits once has its key's record read in
// that batch (idempotency.Ride) rather than beside it, one call and one connection fewer.
// Should fn read nothing, the key is read after it, at no cost: fn took no time.
func PrefetchWithKey(fn Prefetcher) Option {
	return func(o *settings) { o.prefetch, o.keyRides = fn, true }
}

// AllowAnonymous lets callers without credentials reach the action (starting a conversation,
// redeeming a PIN or link). Every other route answers 401 before it reads the body, so an
// unauthenticated caller learns nothing about what the route would accept.
func AllowAnonymous() Option { return func(o *settings) { o.anonymous = true } }

// NoBody marks a route that takes no request body: anything but an empty body or an empty
// JSON object is 400 unexpected_body, so a client that thinks it is sending something learns
// that it is not read.
func NoBody() Option { return func(o *settings) { o.noBody = true } }

// Idempotent makes the route honour Idempotency-Key through the given store.
func Idempotent(s idempotency.Store) Option { return func(o *settings) { o.idempotency = s } }

// CommitsOnce marks a keyed route whose action reads, then commits one transaction, and
// builds its answer without another call: its answer is written in that transaction
// (idempotency.Speculation), so the key costs no round trip of its own. An action that does
// more is still right under it — it runs the long way — but pays for the attempt.
func CommitsOnce() Option { return CommitsOnceFor(func(*Request) bool { return true }) }

// CommitsOnceFor is CommitsOnce for the requests that match: a route whose action commits
// once for some callers only (an agent's start, not a visitor's with its rate limits).
func CommitsOnceFor(match func(*Request) bool) Option {
	return func(o *settings) { o.commitsOnce = match }
}

// AnswersAhead marks a keyed route whose action, taking the long way (more than one write:
// a rate-limit slot, an email), knows its answer before its last commit: answer is how the
// route turns the action's result into its response, and the action names that result
// with idempotency.Answering. The last commit then records the answer under the key, which
// spares the attempt's last write (idempotency/answer.go). The route must answer its result
// with the same answer func.
func AnswersAhead(answer func(result any) Response) Option {
	return func(o *settings) { o.answer = answer }
}

// Handle wraps an action for lambda.Start. It never returns an error to the Lambda runtime:
// every failure becomes a JSON response, so API Gateway never answers a bare 500.
func Handle(name string, log *slog.Logger, act Action, opts ...Option) Handler {
	s := settings{now: time.Now, metrics: metrics.FromEnv()}
	for _, o := range opts {
		o(&s)
	}
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		start := s.now()
		req, err := NewRequest(ev)
		var resp Response
		if err == nil {
			resp, err = s.run(requestscope.New(ctx), name, req, act, log)
		}
		out := s.finish(resp, err)
		logOutcome(ctx, log, s.metrics, name, req, out, err, s.now().Sub(start))
		return out, nil
	}
}

func (s settings) run(ctx context.Context, name string, req *Request, act Action, log *slog.Logger) (Response, error) {
	if !s.anonymous {
		if err := req.Principal.RequireAuthenticated(); err != nil {
			return Response{}, err
		}
	}
	if s.noBody && !emptyBody(req.Body) {
		return Response{}, apperror.Invalid("unexpected_body", "this route takes no request body")
	}
	if s.idempotency != nil && req.IdempotencyKey != "" {
		return runIdempotent(ctx, s, name, req, act, log)
	}
	return act(ctx, req)
}

// emptyBody: nothing, or an empty JSON object (what many clients send by habit).
func emptyBody(b []byte) bool {
	t := strings.TrimSpace(string(b))
	if t == "" {
		return true
	}
	var obj map[string]json.RawMessage
	return json.Unmarshal([]byte(t), &obj) == nil && obj != nil && len(obj) == 0
}

func (s settings) finish(resp Response, err error) events.APIGatewayV2HTTPResponse {
	if err != nil {
		return errorResponse(apperror.As(err))
	}
	return encode(resp)
}

// NewRequest reads an API Gateway event; a body over the limit or badly encoded is refused.
func NewRequest(ev events.APIGatewayV2HTTPRequest) (*Request, error) {
	req := &Request{
		PathParams: ev.PathParameters,
		Query:      ev.QueryStringParameters,
		Headers:    lowerKeys(ev.Headers),
		SourceIP:   ev.RequestContext.HTTP.SourceIP,
		RequestID:  ev.RequestContext.RequestID,
	}
	if req.PathParams == nil {
		req.PathParams = map[string]string{}
	}
	if req.Query == nil {
		req.Query = map[string]string{}
	}
	// Ids in the path are checked before anything else reads them: a malformed or oversized
	// one is bad input, never a store error.
	for name, value := range req.PathParams {
		if err := ids.Check(name, value); err != nil {
			return req, err
		}
	}
	req.ConversationID = req.PathParams["id"]
	if a := ev.RequestContext.Authorizer; a != nil && a.Lambda != nil {
		req.Principal = auth.FromContext(a.Lambda)
	} else {
		req.Principal = auth.Principal{Kind: auth.Anonymous}
	}
	body, err := readBody(ev)
	if err != nil {
		return req, err
	}
	req.Body = body
	key, err := idempotencyKey(req.Headers["idempotency-key"])
	if err != nil {
		return req, err
	}
	req.IdempotencyKey = key
	return req, nil
}

func readBody(ev events.APIGatewayV2HTTPRequest) ([]byte, error) {
	// Base64 inflates by 4/3: check the encoded length first so a huge body is never decoded.
	if len(ev.Body) > MaxBodyBytes*4/3+4 {
		return nil, tooLarge()
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, apperror.Invalid("invalid_body", "the request body is not valid base64")
		}
		body = b
	}
	if len(body) > MaxBodyBytes {
		return nil, tooLarge()
	}
	return body, nil
}

func tooLarge() error {
	return apperror.New(apperror.KindTooLarge, "body_too_large",
		"the request body is larger than "+strconv.Itoa(MaxBodyBytes)+" bytes")
}

func lowerKeys(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = v
	}
	return out
}

func encode(resp Response) events.APIGatewayV2HTTPResponse {
	headers := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}
	for k, v := range resp.Headers {
		headers[k] = v
	}
	status := resp.Status
	if status == 0 {
		status = 200
	}
	if resp.Body == nil || status == 204 {
		delete(headers, "Content-Type")
		return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers}
	}
	b, err := json.Marshal(resp.Body)
	if err != nil {
		return errorResponse(apperror.Internal(err))
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers, Body: string(b)}
}
