// Package apitest drives the real handlers the way API Gateway does, for tests: a fresh
// table in DynamoDB Local, agent JWTs signed by a test key served as JWKS over HTTP and
// verified by the production verifier, the HTTP authorizer run on every request, and the
// event JSON round-tripped like the Lambda runtime does. Only tests import it.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/golang-jwt/jwt/v5"

	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/auth"
	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/devkeys"
	"github.com/invite-forward/invite-forward/shared/httpapi"
	"github.com/invite-forward/invite-forward/shared/push/pushtest"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/store"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

// Issuer and Audience of test agent tokens.
const (
	Issuer   = "https://issuer.test"
	Audience = "invite-forward-test"
)

// API is one isolated deployment: its own table, keys and log.
type API struct {
	T     testing.TB
	Store *store.Store
	Deps  *setup.Deps
	Keys  *devkeys.Keys
	Logs  *SyncBuffer
	// Push is the WebSocket API's @connections endpoint the deployment pushes to: what each
	// connection received, and connections made gone, failing or hanging. Pushes arrive after
	// the request that committed them: AwaitStream first.
	Push *pushtest.Server

	streams []*gateway.StreamPoller

	mu       sync.Mutex
	handlers map[string]any
}

// New builds an API over a fresh table whose stream drives the push function. Extra
// overrides may be given.
func New(t testing.TB, o ...func(*setup.Overrides)) *API {
	t.Helper()
	return build(t, true, o)
}

// NewWithoutPushes builds an API over a fresh table without a stream: nothing is ever pushed,
// and no end is cleaned up but by the sweep (AwaitStream returns at once). For tests that
// never look at pushes, such as races and the fault matrix, whose load would otherwise double
// with the push function's lookups.
func NewWithoutPushes(t testing.TB, o ...func(*setup.Overrides)) *API {
	t.Helper()
	return build(t, false, o)
}

func build(t testing.TB, withStream bool, o []func(*setup.Overrides)) *API {
	t.Helper()
	table := testenv.NewTableWithoutStream
	if withStream {
		table = testenv.NewTable
	}
	st := store.New(testenv.DynamoDB(t), table(t))
	keys, err := devkeys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(keys.Handler())
	t.Cleanup(jwks.Close)
	verifier, err := auth.NewAgentVerifier(context.Background(), auth.AgentVerifierConfig{
		JWKSURL: jwks.URL, Issuer: Issuer, Audiences: []string{Audience},
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &SyncBuffer{}
	pushes := pushtest.New(t)
	// SES events reach the handler unsigned unless a test gives a verifier of its own.
	ov := setup.Overrides{Store: st, AgentTokens: verifier, Management: pushes.Client(), UnsignedSESEvents: true}
	withInvitationDefaults(t, &ov)
	for _, f := range o {
		f(&ov)
	}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	deps := setup.With(log, ov)
	a := &API{T: t, Store: st, Deps: deps, Keys: keys, Logs: logs, Push: pushes, handlers: map[string]any{}}
	if withStream {
		a.readStream(log)
	}
	return a
}

// testIdleBackoff bounds how long an idle test table's stream waits between reads: many tests
// run at once against one DynamoDB Local, so an idle one backs off (AwaitStream reads at once).
const testIdleBackoff = 500 * time.Millisecond

// readStream pushes through the real path: the table's stream, read like Lambda's event
// source mapping reads it (the local gateway's poller, with the template's filter and batch
// settings), drives the push function's handler. Requests never push themselves.
func (a *API) readStream(log *slog.Logger) {
	t := a.T
	t.Helper()
	tmpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	sources, err := gateway.StreamSources(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodbstreams.NewFromConfig(awsconfig.Static(testenv.Region), func(o *dynamodbstreams.Options) {
		o.BaseEndpoint = aws.String(testenv.DynamoDBEndpoint(t))
	})
	for _, src := range sources {
		src.IdleBackoff = testIdleBackoff
		handler := a.handler(src.Function).(func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error))
		p, err := gateway.PollStream(t.Context(), client, a.Store.Table(), src, handler, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		a.streams = append(a.streams, p)
	}
}

// AwaitStream waits (at most 30 s) until everything committed so far has gone through the
// table's stream: the stream read to its end and its functions returned — every event pushed,
// every end cleaned up. Then what a connection received is all it will receive for those
// commits, so a test can also assert that nothing came. The bound is generous: under -race,
// with other packages' tests beside it on two cores, the cleanup of an end of 150 visitors
// once took more than 10 s.
func (a *API) AwaitStream() {
	a.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range a.streams {
		if err := p.Drained(ctx); err != nil {
			a.T.Fatal(err)
		}
	}
}

// AgentToken returns a valid JWT for the agent.
func (a *API) AgentToken(agentID string) string {
	a.T.Helper()
	tok, err := a.Keys.Mint(agentID, Issuer, Audience, time.Hour)
	if err != nil {
		a.T.Fatal(err)
	}
	return tok
}

// SignedToken signs arbitrary claims with the trusted key.
func (a *API) SignedToken(claims jwt.MapClaims) string {
	a.T.Helper()
	tok, err := a.Keys.Sign(claims)
	if err != nil {
		a.T.Fatal(err)
	}
	return tok
}

// Request is one call to the API.
type Request struct {
	Function      string // logical id, e.g. "StartConversationFunction"
	Method, Route string // e.g. "POST", "/conversations/{id}"
	Params        map[string]string
	Query         map[string]string
	Body          any // marshalled to JSON; a string is sent as is
	Authorization string
	Headers       map[string]string
	SourceIP      string
}

// Response is the API's answer.
type Response struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// Decode unmarshals the body.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode is the body's error code, "" if none.
func (r Response) ErrorCode() string {
	var b httpapi.ErrorBody
	_ = json.Unmarshal(r.Body, &b)
	return b.Error.Code
}

// Do runs the authorizer and the function's handler like API Gateway would.
func (a *API) Do(req Request) Response {
	a.T.Helper()
	return a.DoContext(context.Background(), req)
}

// DoContext is Do with ctx handed to the function's handler only (the authorizer is another
// Lambda invocation): a round-trip counter in ctx counts what the function itself calls.
func (a *API) DoContext(ctx context.Context, req Request) Response {
	a.T.Helper()
	ev := a.event(req)
	authz := a.handler("HttpAuthorizerFunction").(func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error))
	decision, err := authz(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST", RouteKey: ev.RouteKey, RawPath: ev.RawPath, Headers: ev.Headers,
		RequestContext: ev.RequestContext, PathParameters: ev.PathParameters,
	})
	if err != nil {
		return Response{Status: 500}
	}
	if !decision.IsAuthorized {
		return Response{Status: 403, Body: []byte(`{"message":"Forbidden"}`)}
	}
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: decision.Context}
	ev = roundTrip(a.T, ev)
	h := a.handler(req.Function).(httpapi.Handler)
	out, err := h(ctx, ev)
	if err != nil {
		a.T.Fatalf("%s returned an error to the runtime: %v", req.Function, err)
	}
	return Response{Status: out.StatusCode, Headers: out.Headers, Body: []byte(out.Body)}
}

// busyRetries is how many times DoAsClient retries a 503 before it hands the answer over.
const busyRetries = 4

// DoAsClient is Do as a well-behaved client sends it: a 503 (a designed refusal under load,
// SPEC §5) is retried, with the same headers and so the same Idempotency-Key, after the
// answer's Retry-After, up to busyRetries times; the last answer is returned, a 503 only if
// every retry was refused.
func (a *API) DoAsClient(req Request) Response {
	a.T.Helper()
	resp := a.Do(req)
	for range busyRetries {
		if resp.Status != 503 {
			break
		}
		time.Sleep(resp.RetryAfter())
		resp = a.Do(req)
	}
	return resp
}

// RetryAfter is the pause a 429 or 503 asks for (its Retry-After, whole seconds), at least
// one second.
func (r Response) RetryAfter() time.Duration {
	secs, err := strconv.Atoi(r.Headers["Retry-After"])
	if err != nil || secs < 1 {
		secs = 1
	}
	return time.Duration(secs) * time.Second
}

func (a *API) handler(fn string) any {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h, ok := a.handlers[fn]; ok {
		return h
	}
	c, ok := gateway.ByLogicalID[fn]
	if !ok {
		a.T.Fatalf("no handler for %s", fn)
	}
	h := c(a.Deps)
	a.handlers[fn] = h
	return h
}

func (a *API) event(req Request) events.APIGatewayV2HTTPRequest {
	path := req.Route
	for k, v := range req.Params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	headers := map[string]string{"content-type": "application/json"}
	for k, v := range req.Headers {
		headers[strings.ToLower(k)] = v
	}
	if req.Authorization != "" {
		headers["authorization"] = req.Authorization
	}
	ip := req.SourceIP
	if ip == "" {
		ip = "192.0.2.10"
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: req.Method + " " + req.Route, RawPath: path, Headers: headers,
		PathParameters: req.Params, QueryStringParameters: req.Query,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "test-" + strings.ReplaceAll(path, "/", "-"), RouteKey: req.Method + " " + req.Route, Stage: "test",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: req.Method, Path: path, SourceIP: ip},
		},
	}
	switch b := req.Body.(type) {
	case nil:
	case string:
		ev.Body = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.T.Fatal(err)
		}
		ev.Body = string(raw)
	}
	return ev
}

// roundTrip passes the event through JSON, as the Lambda runtime delivers it: authorizer
// context values arrive as JSON types, not as the Go values the authorizer returned.
func roundTrip(t testing.TB, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var out events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Bearer formats an Authorization header.
func Bearer(token string) string { return "Bearer " + token }

// SyncBuffer is a log sink safe for concurrent handlers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything logged so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
