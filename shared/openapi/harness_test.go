package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/openapi"
	"github.com/invite-forward/invite-forward/shared/setup"
	"github.com/invite-forward/invite-forward/shared/testenv"
	"github.com/invite-forward/invite-forward/shared/wsdefault"
)

// recorder collects, across deployments, which statuses of which operations the truth test
// checked, so that it can tell when a route was never exercised.
type recorder struct {
	l    *loadedDoc
	mu   sync.Mutex
	seen map[string]map[int]int // "METHOD /path" → status → answers checked
	// replayed are the operations whose Idempotency-Key replay was checked.
	replayed map[string]bool
}

func newRecorder(l *loadedDoc) *recorder {
	return &recorder{l: l, seen: map[string]map[int]int{}, replayed: map[string]bool{}}
}

func (r *recorder) record(method, route string, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := method + " " + route
	if r.seen[key] == nil {
		r.seen[key] = map[int]int{}
	}
	r.seen[key][status]++
}

func (r *recorder) recordReplay(method, route string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replayed[method+" "+route] = true
}

// checkCoverage fails for every operation whose success answer was never checked, or that
// documents Idempotency-Key without a replay having been checked, and logs what was.
func (r *recorder) checkCoverage(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, op := range r.l.doc.Operations() {
		key := op.Method + " " + op.Path
		statuses := r.seen[key]
		if !slices.ContainsFunc(slices.Collect(maps.Keys(statuses)), func(s int) bool { return s < 300 }) {
			t.Errorf("%s (%s): no success answer was checked; drive it in the scenario", key, op.ID)
		}
		if takesIdempotencyKey(op) && !r.replayed[key] {
			t.Errorf("%s (%s) documents Idempotency-Key; send it twice in the scenario", key, op.ID)
		}
		t.Logf("%-52s %v", key, slices.Sorted(maps.Keys(statuses)))
	}
}

// clock is a deployment's time: real time, moved ahead when a scenario says so.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// defaultTeam receives visitors' conversations that name no team, as DefaultTeamId does.
const defaultTeam = "support"

// deployment is one isolated API (apitest: real handlers behind the real authorizer, real
// JWTs, DynamoDB Local, the SES emulator, a recording @connections endpoint) whose every
// answer is checked against the document.
type deployment struct {
	t     *testing.T
	rec   *recorder
	api   *apitest.API
	clock *clock
	conns []string
	keys  int // Idempotency-Keys made by twice
}

func (r *recorder) deploy(t *testing.T, o ...func(*setup.Overrides)) *deployment {
	t.Helper()
	c := &clock{}
	cfg := handover.DefaultConfig()
	cfg.DefaultTeamID = defaultTeam
	api := apitest.New(t, append([]func(*setup.Overrides){func(ov *setup.Overrides) {
		// Services and store on one clock, so that a scenario can let invitations expire.
		ov.Store = ov.Store.WithClock(c.Now)
		ov.Handover = &cfg
	}}, o...)...)
	api.Deps.Now = c.Now
	d := &deployment{t: t, rec: r, api: api, clock: c}
	d.seedDirectory()
	return d
}

// The directory every deployment starts with.
func (d *deployment) seedDirectory() {
	d.t.Helper()
	st := d.api.Deps.Store()
	for _, a := range []directory.Agent{
		{ID: "ada", Name: "Ada Lovelace", Email: "ada@example.com", Status: directory.StatusAvailable},
		{ID: "grace", Name: "Grace Hopper", Status: directory.StatusAvailable},
		{ID: "mia", Name: "Mia Wong", Status: directory.StatusAway},
		{ID: "linus", Name: "Linus Berg", Status: directory.StatusAvailable},
	} {
		if err := st.PutAgent(d.t.Context(), a); err != nil {
			d.t.Fatal(err)
		}
	}
	for _, team := range []directory.Team{
		{ID: defaultTeam, Name: "Support", Members: []string{"ada", "grace"}},
		{ID: "billing", Name: "Billing", Members: []string{"linus", "mia"}},
		{ID: "night", Name: "Night shift"}, // nobody yet
	} {
		if err := st.PutTeam(d.t.Context(), team); err != nil {
			d.t.Fatal(err)
		}
	}
}

// agent is an agent's Authorization header.
func (d *deployment) agent(id string) string { return apitest.Bearer(d.api.AgentToken(id)) }

// op names an operation the way template.yaml does; the function comes from the document.
func op(method, route string, params ...string) apitest.Request {
	req := apitest.Request{Method: method, Route: route}
	if len(params) > 0 {
		req.Params = map[string]string{}
		for i := 0; i+1 < len(params); i += 2 {
			req.Params[params[i]] = params[i+1]
		}
	}
	return req
}

// as sets the caller, body and headers of a request.
func as(req apitest.Request, authorization string, body any, headers ...string) apitest.Request {
	req.Authorization, req.Body = authorization, body
	if len(headers) > 0 {
		req.Headers = map[string]string{}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Headers[headers[i]] = headers[i+1]
		}
	}
	return req
}

// ok sends a request that must succeed with status want, and returns its answer.
func (d *deployment) ok(want int, req apitest.Request) apitest.Response {
	d.t.Helper()
	return d.send(req, want, "")
}

// refused sends a request that must fail with status want and error code code.
func (d *deployment) refused(want int, code string, req apitest.Request) apitest.Response {
	d.t.Helper()
	return d.send(req, want, code)
}

// send runs the request through the real authorizer and handler and holds the answer to the
// document: status documented, headers and body valid, error code listed. A request that
// succeeded must also be one the document's request schema accepts.
func (d *deployment) send(req apitest.Request, want int, code string) apitest.Response {
	d.t.Helper()
	doc := d.rec.l.doc
	operation, ok := doc.Operation(req.Method, req.Route)
	if !ok {
		d.t.Fatalf("%s %s is not in the document", req.Method, req.Route)
	}
	if req.Function == "" {
		req.Function = operation.Function
	}
	resp := d.api.Do(req)
	where := fmt.Sprintf("%s %s", req.Method, req.Route)
	if resp.Status != want || (code != "" && resp.ErrorCode() != code) {
		d.t.Fatalf("%s: got %d %s, want %d %s", where, resp.Status, resp.Body, want, code)
	}
	if err := d.rec.l.strict.CheckResponse(httpRequest(d.t, req), httpResponse(resp)); err != nil {
		d.t.Errorf("the answer does not match %s:\n%v", "openapi.yaml", err)
	}
	if resp.Status < 300 {
		if err := d.rec.l.strict.CheckRequest(httpRequest(d.t, req)); err != nil {
			d.t.Errorf("the handler accepted a request the document refuses:\n%v", err)
		}
	}
	d.rec.record(req.Method, req.Route, resp.Status)
	return resp
}

// twice sends a request with an Idempotency-Key (its own, unless it has one) and again:
// the retry must be the first answer, replayed.
func (d *deployment) twice(want int, req apitest.Request) apitest.Response {
	d.t.Helper()
	if req.Headers["Idempotency-Key"] == "" {
		d.keys++
		req.Headers = map[string]string{"Idempotency-Key": fmt.Sprintf("00000000-0000-4000-8000-%012d", d.keys)} // a UUID: anonymous keys must be unguessable
	}
	first := d.ok(want, req)
	again := d.ok(want, req)
	if again.Headers["Idempotency-Replayed"] != "true" || string(again.Body) != string(first.Body) {
		d.t.Fatalf("%s %s: a retry with the same Idempotency-Key must replay %s, got %s %v",
			req.Method, req.Route, first.Body, again.Body, again.Headers)
	}
	d.rec.recordReplay(req.Method, req.Route)
	return first
}

// bodyBytes is the body apitest sends for req.Body.
func bodyBytes(t *testing.T, body any) []byte {
	t.Helper()
	switch b := body.(type) {
	case nil:
		return nil
	case string:
		return []byte(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
}

// apiBase is where the requests the checks see are sent: the path-only matching of the
// validator ignores the document's servers.
const apiBase = "https://api.invalid"

// httpRequest is req as it reaches API Gateway: its path with the parameters filled in, its
// query, headers, credentials and body.
func httpRequest(t *testing.T, req apitest.Request) *http.Request {
	t.Helper()
	path := req.Route
	for k, v := range req.Params {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	q := url.Values{}
	for k, v := range req.Query {
		q.Set(k, v)
	}
	r, err := http.NewRequest(req.Method, apiBase+path, bytes.NewReader(bodyBytes(t, req.Body)))
	if err != nil {
		t.Fatal(err)
	}
	r.URL.RawQuery = q.Encode()
	r.Header.Set("Content-Type", "application/json") // as apitest sends it
	for k, v := range req.Headers {
		r.Header.Set(k, v)
	}
	if req.Authorization != "" {
		r.Header.Set("Authorization", req.Authorization)
	}
	return r
}

// httpResponse is a handler's answer as API Gateway returns it.
func httpResponse(resp apitest.Response) *http.Response {
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	return &http.Response{StatusCode: resp.Status, Header: h, Body: io.NopCloser(bytes.NewReader(resp.Body))}
}

// decode reads an answer's body.
func decode[T any](t *testing.T, resp apitest.Response) T {
	t.Helper()
	var v T
	resp.Decode(t, &v)
	return v
}

// connect opens a push connection the way a client does — a connect ticket, redeemed by the
// $connect authorizer's service, then $connect's — so that what the deployment pushes to it
// can be checked against PushMessage.
func (d *deployment) connect(connectionID, authorization string) {
	d.t.Helper()
	tk := decode[struct {
		Ticket string `json:"ticket"`
	}](d.t, d.ok(201, as(op("POST", "/connect-ticket"), authorization, nil)))
	rt := d.api.Deps.Realtime()
	p, err := rt.RedeemTicket(d.t.Context(), tk.Ticket)
	if err != nil {
		d.t.Fatal(err)
	}
	if err := rt.Connect(d.t.Context(), connectionID, p); err != nil {
		d.t.Fatal(err)
	}
	d.conns = append(d.conns, connectionID)
}

// say sends a client message on a connection through the $default route's handler, whose
// answer (pong or error) is pushed back like any other message.
func (d *deployment) say(connectionID, body string) {
	d.t.Helper()
	h := wsdefault.Handler(d.api.Deps.Management(), d.api.Deps.Log)
	_, err := h(context.Background(), events.APIGatewayWebsocketProxyRequest{
		Body: body, RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: "$default", ConnectionID: connectionID, RequestID: "req-" + connectionID,
		},
	})
	if err != nil {
		d.t.Fatal(err)
	}
}

// checkPushes holds every message pushed to the deployment's connections to PushMessage,
// and returns the types seen.
func (d *deployment) checkPushes() []string {
	d.t.Helper()
	var types []string
	d.api.AwaitStream() // pushed from the table's stream after the requests committed
	for _, conn := range d.conns {
		msgs := d.api.Push.Raw(conn)
		if len(msgs) == 0 {
			d.t.Errorf("connection %s received nothing; the scenario should push to it", conn)
		}
		for _, raw := range msgs {
			if err := d.rec.l.strict.ValidateJSON("/components/schemas/PushMessage", raw); err != nil {
				d.t.Errorf("push to %s does not match PushMessage:\n%v", conn, err)
			}
			var m struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(raw, &m)
			types = append(types, m.Type)
		}
	}
	slices.Sort(types)
	return slices.Compact(types)
}

// history reads the whole history as the caller, page by page (every page is checked), and
// returns the event types seen.
func (d *deployment) history(conversationID, authorization string) []string {
	d.t.Helper()
	var types []string
	after := int64(0)
	for range 50 {
		req := as(op("GET", "/conversations/{id}/events", "id", conversationID), authorization, nil)
		req.Query = map[string]string{"limit": "7"}
		if after != 0 {
			req.Query["after"] = strconv.FormatInt(after, 10)
		}
		page := decode[struct {
			Events []struct {
				Type string `json:"type"`
			} `json:"events"`
			Next int64 `json:"next"`
		}](d.t, d.ok(200, req))
		for _, e := range page.Events {
			types = append(types, e.Type)
		}
		if page.Next == 0 {
			slices.Sort(types)
			return slices.Compact(types)
		}
		after = page.Next
	}
	d.t.Fatal("history does not end")
	return nil
}

// joinToken reads the join token from the newest invitation email sent to address.
func joinToken(t *testing.T, address string, wantMails int) string {
	t.Helper()
	mails := testenv.MailTo(t, address)
	if len(mails) != wantMails {
		t.Fatalf("%d mails to %s, want %d", len(mails), address, wantMails)
	}
	for _, f := range strings.Fields(mails[len(mails)-1].Text) {
		if _, token, ok := strings.Cut(f, "#join="); ok {
			return token
		}
	}
	t.Fatalf("no join link in the mail to %s", address)
	return ""
}

// takesIdempotencyKey reports whether an operation documents the Idempotency-Key header.
func takesIdempotencyKey(op openapi.Operation) bool {
	for _, p := range asSlice(op.Raw["parameters"]) {
		if ref := asString(asMap(p)["$ref"]); ref == "#/components/parameters/IdempotencyKey" {
			return true
		}
		if asString(asMap(p)["name"]) == "Idempotency-Key" {
			return true
		}
	}
	return false
}
