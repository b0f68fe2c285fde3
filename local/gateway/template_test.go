package gateway

import (
	"testing"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

func repoTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tmpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// TestRepoTemplate_WebSocketRoutes: the gateway follows Route → Integration → Function and
// Route → Authorizer → Function through the template's Ref / Sub.
func TestRepoTemplate_WebSocketRoutes(t *testing.T) {
	def, err := readWebSocketAPI(repoTemplate(t), func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"$connect": "WsConnectFunction", "$disconnect": "WsDisconnectFunction", "$default": "WsDefaultFunction"}
	for key, fn := range want {
		if got := def.routes[key].function; got != fn {
			t.Errorf("route %s → %q, want %q", key, got, fn)
		}
	}
	authz := def.routes["$connect"].authorizer
	if authz == nil || authz.function != "WsAuthorizerFunction" || len(authz.identity) != 1 || authz.identity[0] != "route.request.querystring.ticket" {
		t.Errorf("$connect authorizer = %+v", authz)
	}
	if def.selection != "$request.body.action" {
		t.Errorf("route selection = %q", def.selection)
	}
}

// TestRepoTemplate_HTTPAuthorizer: every route without its own authorizer gets the API's
// default one, read from the template.
func TestRepoTemplate_HTTPAuthorizer(t *testing.T) {
	def, err := readHTTPAPI(repoTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(def.routes) == 0 {
		t.Fatal("no routes")
	}
	for _, r := range def.routes {
		if got := def.authorizerFor(r); got != "HttpAuthorizerFunction" {
			t.Errorf("%s %s: authorizer %q", r.Method, r.Path, got)
		}
	}
	if !def.cors.enabled || def.cors.maxAge == 0 || len(def.cors.allowHeaders) == 0 {
		t.Errorf("CORS = %+v", def.cors)
	}
}

// TestNoWebSocketAPI_ConventionalFunctions: without a WebSocket API in the template, the
// route keys map to the conventional functions that have handlers.
func TestNoWebSocketAPI_ConventionalFunctions(t *testing.T) {
	tmpl, err := samtemplate.Parse([]byte("Resources: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{"WsConnectFunction": true, "WsAuthorizerFunction": true, "WsDefaultFunction": true}
	def, err := readWebSocketAPI(tmpl, func(id string) bool { return has[id] })
	if err != nil {
		t.Fatal(err)
	}
	if def.routes["$connect"].authorizer == nil || def.routes["$default"].function != "WsDefaultFunction" {
		t.Errorf("routes = %+v", def.routes)
	}
	if _, ok := def.routes["$disconnect"]; ok {
		t.Error("$disconnect mapped to a function without a handler")
	}
}

func TestRouteMatching_MostSpecificWins(t *testing.T) {
	a := newHTTPAPI(httpAPIDef{routes: []samtemplate.Route{
		{Method: "GET", Path: "/conversations/{id}"},
		{Method: "GET", Path: "/conversations/inbox"},
		{Method: "GET", Path: "/files/{path+}"},
	}}, &functions{byID: map[string]*function{}}, nil)
	if r, _ := a.match("GET", "/conversations/inbox"); r == nil || r.Path != "/conversations/inbox" {
		t.Errorf("literal route lost to a parameter: %+v", r)
	}
	if r, p := a.match("GET", "/conversations/c1"); r == nil || p["id"] != "c1" {
		t.Errorf("parameter route: %+v %v", r, p)
	}
	if r, p := a.match("GET", "/files/a/b%20c"); r == nil || p["path"] != "a/b c" {
		t.Errorf("greedy route: %+v %v", r, p)
	}
	if r, _ := a.match("POST", "/conversations/c1"); r != nil {
		t.Errorf("wrong method matched %+v", r)
	}
}

func TestPolicy_AllowDenyAndWildcards(t *testing.T) {
	arn := "arn:aws:execute-api:us-east-1:123456789012:localws/dev/$connect"
	policy := func(effect, resource string) authorizerResponse {
		var r authorizerResponse
		r.PolicyDocument.Statement = append(r.PolicyDocument.Statement, struct {
			Effect   string     `json:"Effect"`
			Action   stringList `json:"Action"`
			Resource stringList `json:"Resource"`
		}{effect, stringList{"execute-api:Invoke"}, stringList{resource}})
		return r
	}
	cases := []struct {
		p    authorizerResponse
		want bool
	}{
		{policy("Allow", arn), true},
		{policy("Allow", "arn:aws:execute-api:*:*:*/dev/*"), true},
		{policy("Allow", "arn:aws:execute-api:us-east-1:123456789012:other/*"), false},
		{policy("Deny", arn), false},
		{authorizerResponse{}, false},
	}
	for i, c := range cases {
		if got := c.p.allows(arn); got != c.want {
			t.Errorf("case %d: allows = %v, want %v", i, got, c.want)
		}
	}
}

func TestAuthorizerContext_StringifiedLikeAPIGateway(t *testing.T) {
	got, err := stringifyContext(map[string]any{"s": "x", "n": 1.5, "b": true, "z": nil})
	if err != nil {
		t.Fatal(err)
	}
	if got["s"] != "x" || got["n"] != "1.5" || got["b"] != "true" || got["z"] != nil {
		t.Errorf("context = %v", got)
	}
	if _, err := stringifyContext(map[string]any{"o": map[string]any{}}); err == nil {
		t.Error("an object value was accepted; API Gateway refuses it")
	}
}

func TestRouteSelection(t *testing.T) {
	def := wsAPIDef{selection: "$request.body.action", routes: map[string]wsRoute{
		"$default": {key: "$default", function: "D"},
		"ping":     {key: "ping", function: "P"},
	}}
	for body, want := range map[string]string{
		`{"action":"ping"}`:     "P",
		`{"action":"other"}`:    "D",
		`not json`:              "D",
		`{"action":"$connect"}`: "D",
	} {
		if r, ok := def.selectRoute([]byte(body)); !ok || r.function != want {
			t.Errorf("%s → %+v, want %s", body, r, want)
		}
	}
}
