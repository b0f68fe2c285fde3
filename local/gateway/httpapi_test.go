package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// TestVisitor_SessionTokenIsTheOnlyWayIn: an anonymous visitor starts a conversation and reads
// it with its session token; without a token it is 401, with another visitor's token 403.
func TestVisitor_SessionTokenIsTheOnlyWayIn(t *testing.T) {
	s := start(t)
	mine := s.startConversation("")
	if mine.ConversationID == "" || mine.SessionToken == "" {
		t.Fatalf("start answered %+v; want a conversation id and a session token", mine)
	}
	path := "/conversations/" + mine.ConversationID

	if r := s.do(http.MethodGet, path, mine.SessionToken, nil); r.status != http.StatusOK {
		t.Errorf("GET with the session token: %d %s, want 200", r.status, r.body)
	}
	r := s.do(http.MethodGet, path, "", nil)
	if r.status != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d %s, want 401", r.status, r.body)
	}
	if code := errorCode(t, r); code == "" {
		t.Errorf("401 without an error code: %s", r.body)
	}
	other := s.startConversation("")
	if r := s.do(http.MethodGet, path, other.SessionToken, nil); r.status != http.StatusForbidden {
		t.Errorf("GET with another visitor's token: %d %s, want 403", r.status, r.body)
	}
	if r := s.do(http.MethodGet, path, "not-a-valid-token", nil); r.status != http.StatusUnauthorized {
		t.Errorf("GET with a malformed token: %d %s, want 401", r.status, r.body)
	}
}

// TestDevToken_AgentStartsConversation: a token from /_dev/token is verified by the real JWT
// verifier against the gateway's JWKS, and the agent becomes the conversation's assignee.
func TestDevToken_AgentStartsConversation(t *testing.T) {
	s := start(t)
	token := s.agentToken("ada")
	conv := s.startConversation(token)
	if conv.SessionToken != "" {
		t.Errorf("an agent got a visitor session token")
	}
	r := s.do(http.MethodGet, "/conversations/"+conv.ConversationID, token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET as the agent: %d %s", r.status, r.body)
	}
	var view struct {
		Assignee string `json:"assigneeId"`
	}
	r.decode(t, &view)
	if view.Assignee != "ada" {
		t.Errorf("assignee = %q, want ada (%s)", view.Assignee, r.body)
	}
	// Another agent is not a participant.
	if r := s.do(http.MethodGet, "/conversations/"+conv.ConversationID, s.agentToken("grace"), nil); r.status != http.StatusForbidden {
		t.Errorf("GET as a non-participant agent: %d %s, want 403", r.status, r.body)
	}
}

func TestDevToken_RefusesBadRequests(t *testing.T) {
	s := start(t)
	if r := s.do(http.MethodPost, "/_dev/token", "", map[string]string{"agentId": ""}); r.status != http.StatusBadRequest {
		t.Errorf("empty agent id: %d, want 400", r.status)
	}
	if r := s.do(http.MethodGet, "/_dev/token", "", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", r.status)
	}
	r := s.do(http.MethodGet, "/_dev/jwks.json", "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"keys"`) {
		t.Errorf("JWKS: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), `"d"`) {
		t.Error("the JWKS publishes private key material")
	}
}

// TestCORS_LikeAPIGateway: preflights are answered by the gateway itself for allowed
// origins, responses carry the allow-origin header, other origins get no CORS headers.
func TestCORS_LikeAPIGateway(t *testing.T) {
	s := start(t)
	r := s.do(http.MethodOptions, "/conversations/conv_x/messages", "", nil,
		"Origin", webOrigin, "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,idempotency-key,content-type")
	if r.status != http.StatusNoContent {
		t.Fatalf("preflight: %d %s, want 204", r.status, r.body)
	}
	if got := r.header.Get("Access-Control-Allow-Origin"); got != webOrigin {
		t.Errorf("Allow-Origin = %q, want %q", got, webOrigin)
	}
	for _, h := range []string{"authorization", "idempotency-key", "content-type"} {
		if !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), h) {
			t.Errorf("Allow-Headers %q lacks %s", r.header.Get("Access-Control-Allow-Headers"), h)
		}
	}
	if !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("Allow-Methods = %q", r.header.Get("Access-Control-Allow-Methods"))
	}

	r = s.do(http.MethodOptions, "/conversations", "", nil,
		"Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("a foreign origin was allowed: %q", got)
	}

	r = s.do(http.MethodPost, "/conversations", "", map[string]string{}, "Origin", webOrigin)
	if r.status != http.StatusCreated || r.header.Get("Access-Control-Allow-Origin") != webOrigin {
		t.Errorf("POST from the web origin: %d, Allow-Origin %q", r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
	if !strings.Contains(strings.ToLower(r.header.Get("Access-Control-Expose-Headers")), "retry-after") {
		t.Errorf("Expose-Headers = %q, want Retry-After exposed", r.header.Get("Access-Control-Expose-Headers"))
	}
}

func TestUnknownRoute_NotFoundLikeAPIGateway(t *testing.T) {
	s := start(t)
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/nope"},
		{http.MethodDelete, "/conversations"},      // known path, unknown method
		{http.MethodGet, "/conversations/a/b/c/d"}, // too deep
		{http.MethodGet, "/"},
	} {
		r := s.do(c.method, c.path, "", nil)
		if r.status != http.StatusNotFound || strings.TrimSpace(string(r.body)) != `{"message":"Not Found"}` {
			t.Errorf("%s %s: %d %s, want 404 {\"message\":\"Not Found\"}", c.method, c.path, r.status, r.body)
		}
	}
}

func TestBodyOverAPIGatewayLimit_413(t *testing.T) {
	s := start(t)
	r := s.do(http.MethodPost, "/conversations", "", strings.Repeat("x", 10<<20+1))
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("11 MB body: %d, want 413", r.status)
	}
}

// TestOversizedIDs_400NotAStoreError: ids past DynamoDB's 2,048-byte key limit, in a path
// or an anonymous body, are bad input (400 invalid_id), never a 500 from the store.
func TestOversizedIDs_400NotAStoreError(t *testing.T) {
	s := start(t)
	huge := strings.Repeat("a", 3000)
	agent := s.agentToken("ada")
	for name, r := range map[string]response{
		"path id":           s.do(http.MethodGet, "/conversations/conv_"+huge, agent, nil),
		"anonymous teamId":  s.do(http.MethodPost, "/conversations", "", map[string]any{"teamId": huge}),
		"invited agent id":  s.do(http.MethodPost, "/conversations/conv_x/invitations/agent", agent, map[string]any{"agentId": huge}),
		"invitation id":     s.do(http.MethodPost, "/invitations/inv_"+huge+"/accept", agent, nil),
		"teamId of 129 B":   s.do(http.MethodPost, "/conversations", "", map[string]any{"teamId": strings.Repeat("t", 129)}),
		"teamId with slash": s.do(http.MethodPost, "/conversations", "", map[string]any{"teamId": "support/../billing"}),
	} {
		if r.status != http.StatusBadRequest || errorCode(t, r) != "invalid_id" {
			t.Errorf("%s: %d %s, want 400 invalid_id", name, r.status, r.body)
		}
	}
}

// TestHTTPEvent_HasAPIGatewayShape records the event a handler receives and checks it against
// what API Gateway sends with payload format 2.0.
func TestHTTPEvent_HasAPIGatewayShape(t *testing.T) {
	var mu sync.Mutex
	var got events.APIGatewayV2HTTPRequest
	var raw map[string]any
	recorder := func(d *setup.Deps) any {
		return func(_ context.Context, payload json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
			mu.Lock()
			defer mu.Unlock()
			_ = json.Unmarshal(payload, &got)
			_ = json.Unmarshal(payload, &raw)
			return events.APIGatewayV2HTTPResponse{
				StatusCode: 202, Headers: map[string]string{"X-Seen": "yes", "Access-Control-Allow-Origin": "*"},
				Cookies: []string{"a=1"}, Body: "aGk=", IsBase64Encoded: true,
			}, nil
		}
	}
	s := start(t, withHandlers(map[string]gateway.Constructor{"ListEventsFunction": recorder}))
	token := s.agentToken("ada")
	r := s.do(http.MethodGet, "/conversations/conv%2F1/events?after=x&after=y&limit=5", token, nil,
		"Cookie", "c1=v1; c2=v2", "X-Custom", "Value")

	if r.status != 202 || string(r.body) != "hi" || r.header.Get("X-Seen") != "yes" || r.header.Get("Set-Cookie") != "a=1" {
		t.Errorf("response translated to %d %q %v", r.status, r.body, r.header)
	}
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("an integration's CORS header was passed through; API Gateway ignores it")
	}
	mu.Lock()
	defer mu.Unlock()
	checks := map[string]bool{
		"version 2.0":            got.Version == "2.0",
		"routeKey":               got.RouteKey == "GET /conversations/{id}/events",
		"rawPath":                got.RawPath == "/conversations/conv%2F1/events",
		"pathParameters decoded": got.PathParameters["id"] == "conv/1",
		"rawQueryString":         got.RawQueryString == "after=x&after=y&limit=5",
		"query joined by commas": got.QueryStringParameters["after"] == "x,y" && got.QueryStringParameters["limit"] == "5",
		"cookies":                len(got.Cookies) == 2 && got.Cookies[0] == "c1=v1" && got.Cookies[1] == "c2=v2",
		"no cookie header":       got.Headers["cookie"] == "",
		"lower-case headers":     got.Headers["x-custom"] == "Value",
		"requestContext.http":    got.RequestContext.HTTP.Method == "GET" && got.RequestContext.HTTP.SourceIP == "127.0.0.1" && got.RequestContext.HTTP.Path == "/conversations/conv/1/events",
		"requestId":              len(got.RequestContext.RequestID) == 36,
		"routeKey in context":    got.RequestContext.RouteKey == got.RouteKey,
		"timeEpoch":              got.RequestContext.TimeEpoch > 0 && got.RequestContext.Time != "",
		"authorizer agent":       got.RequestContext.Authorizer != nil && got.RequestContext.Authorizer.Lambda["agentId"] == "ada",
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("event: %s is wrong; event: %+v", name, got)
		}
	}
	if dig(raw, "requestContext", "authorizer", "lambda", "kind") != "agent" {
		t.Errorf("requestContext.authorizer.lambda in the JSON = %v", dig(raw, "requestContext", "authorizer"))
	}
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// TestDemoPage_IsServed: the demo and join pages are static files under /demo/.
func TestDemoPage_IsServed(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/index.html", "<h1>demo</h1>")
	s := start(t, func(c *gateway.Config) { c.DemoDir = dir })
	r := s.do(http.MethodGet, "/demo/", "", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "demo") {
		t.Errorf("GET /demo/: %d %s", r.status, r.body)
	}
}

// The X-Dev-Fault header fails the named AWS call of the invocation, so a person can watch
// a fault by hand under make dev; a malformed plan is the gateway's 400.
func TestDevFault_FailsTheNamedCall(t *testing.T) {
	s := start(t)
	token := s.agentToken("ada")
	r := s.do(http.MethodPost, "/conversations", token, map[string]string{"topic": "Faulty"}, "X-Dev-Fault", "TransactWriteItems")
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	r.decode(t, &body)
	if r.status != http.StatusInternalServerError || body.Error.Code != "internal" {
		t.Fatalf("with the commit refused: %d %s, want 500 internal", r.status, r.body)
	}
	if r := s.do(http.MethodPost, "/conversations", token, map[string]string{"topic": "Fine"}); r.status != http.StatusCreated {
		t.Fatalf("without the header: %d %s", r.status, r.body)
	}
	if r := s.do(http.MethodPost, "/conversations", token, map[string]string{"topic": "Faulty"}, "X-Dev-Fault", "transact;explode"); r.status != http.StatusBadRequest {
		t.Fatalf("malformed plan: %d %s", r.status, r.body)
	}
}
