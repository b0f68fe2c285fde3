package gateway

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

// This file reads what the gateway serves from template.yaml: the HTTP API's routes, its
// authorizers and CORS configuration, and the WebSocket API's routes with their integrations
// and $connect authorizer. Everything is looked up by following Ref / GetAtt / Sub from one
// resource to the next, as CloudFormation would.

const (
	httpAPIType       = "AWS::Serverless::HttpApi"
	v2APIType         = "AWS::ApiGatewayV2::Api"
	v2RouteType       = "AWS::ApiGatewayV2::Route"
	v2IntegrationType = "AWS::ApiGatewayV2::Integration"
	v2AuthorizerType  = "AWS::ApiGatewayV2::Authorizer"

	// lambdaDefaultTimeout is Lambda's own default when neither the function nor Globals set one.
	lambdaDefaultTimeout = 3 * time.Second
)

// httpAPIDef is the HTTP API as the template declares it.
type httpAPIDef struct {
	routes []samtemplate.Route
	// authorizers maps an authorizer name to its function's logical id.
	authorizers       map[string]string
	defaultAuthorizer string // name; "" for none
	cors              corsConfig
}

// authorizerFor returns the logical id of the authorizer function of a route, "" for none.
func (a httpAPIDef) authorizerFor(r samtemplate.Route) string {
	switch r.Authorizer {
	case "NONE":
		return ""
	case "":
		return a.authorizers[a.defaultAuthorizer]
	default:
		return a.authorizers[r.Authorizer]
	}
}

func readHTTPAPI(t *samtemplate.Template) (httpAPIDef, error) {
	def := httpAPIDef{routes: t.HTTPRoutes(), authorizers: map[string]string{}}
	props, err := singleResource(t, httpAPIType)
	if err != nil || props == nil {
		return def, err
	}
	auth := asMap(props["Auth"])
	def.defaultAuthorizer = asString(auth["DefaultAuthorizer"])
	for name, raw := range asMap(auth["Authorizers"]) {
		a := asMap(raw)
		if v := asString(a["AuthorizerPayloadFormatVersion"]); v != "2.0" || a["EnableSimpleResponses"] != true {
			return def, fmt.Errorf("HTTP API authorizer %s: the local gateway runs payload 2.0 authorizers with simple responses only (found version %q)", name, v)
		}
		fn := functionIn(t, a["FunctionArn"])
		if fn == "" {
			return def, fmt.Errorf("HTTP API authorizer %s: FunctionArn names no function of the template", name)
		}
		def.authorizers[name] = fn
	}
	if def.defaultAuthorizer != "" && def.authorizers[def.defaultAuthorizer] == "" {
		return def, fmt.Errorf("HTTP API: default authorizer %s is not declared", def.defaultAuthorizer)
	}
	def.cors = readCORS(asMap(props["CorsConfiguration"]))
	return def, nil
}

// wsAPIDef is the WebSocket API: its route selection and routes by route key.
type wsAPIDef struct {
	selection string // e.g. "$request.body.action"
	routes    map[string]wsRoute
}

type wsRoute struct {
	key        string
	function   string
	authorizer *wsAuthorizerDef // $connect only
	// twoWay: the route has a RouteResponseSelectionExpression, so API Gateway sends the
	// integration's response body back to the client.
	twoWay bool
}

type wsAuthorizerDef struct {
	function string
	// identity lists the request parts that must be present, or the caller is refused
	// 401 without invoking the authorizer (e.g. route.request.querystring.ticket).
	identity []string
}

// Conventional logical ids of the WebSocket functions, used when the template declares no
// WebSocket API (sam local cannot run one, so a template may leave it out).
var wsConvention = map[string]string{
	"$connect":    "WsConnectFunction",
	"$disconnect": "WsDisconnectFunction",
	"$default":    "WsDefaultFunction",
}

const (
	wsConventionAuthorizer = "WsAuthorizerFunction"
	wsConventionIdentity   = "route.request.querystring.ticket"
)

// readWebSocketAPI reads the template's WebSocket API; without one, it maps the route keys to
// the conventional functions that have a handler.
func readWebSocketAPI(t *samtemplate.Template, hasHandler func(string) bool) (wsAPIDef, error) {
	apiID, props := websocketAPI(t)
	if apiID == "" {
		return conventionalWebSocketAPI(hasHandler), nil
	}
	def := wsAPIDef{selection: asString(props["RouteSelectionExpression"]), routes: map[string]wsRoute{}}
	res := t.Resources()
	for _, id := range slices.Sorted(maps.Keys(res)) {
		r := res[id]
		p := asMap(r["Properties"])
		if r["Type"] != v2RouteType || !slices.Contains(refs(p["ApiId"]), apiID) {
			continue
		}
		route, err := readWSRoute(t, id, p)
		if err != nil {
			return def, err
		}
		def.routes[route.key] = route
	}
	return def, nil
}

func conventionalWebSocketAPI(hasHandler func(string) bool) wsAPIDef {
	def := wsAPIDef{routes: map[string]wsRoute{}}
	for key, fn := range wsConvention {
		if hasHandler(fn) {
			def.routes[key] = wsRoute{key: key, function: fn}
		}
	}
	if r, ok := def.routes["$connect"]; ok && hasHandler(wsConventionAuthorizer) {
		r.authorizer = &wsAuthorizerDef{function: wsConventionAuthorizer, identity: []string{wsConventionIdentity}}
		def.routes["$connect"] = r
	}
	return def
}

func websocketAPI(t *samtemplate.Template) (string, map[string]any) {
	res := t.Resources()
	for _, id := range slices.Sorted(maps.Keys(res)) {
		p := asMap(res[id]["Properties"])
		if res[id]["Type"] == v2APIType && strings.EqualFold(asString(p["ProtocolType"]), "WEBSOCKET") {
			return id, p
		}
	}
	return "", nil
}

func readWSRoute(t *samtemplate.Template, id string, p map[string]any) (wsRoute, error) {
	route := wsRoute{key: asString(p["RouteKey"]), twoWay: asString(p["RouteResponseSelectionExpression"]) != ""}
	if route.key == "" {
		return route, fmt.Errorf("WebSocket route %s: RouteKey must be a literal", id)
	}
	integ := resourceOfType(t, p["Target"], v2IntegrationType)
	if integ == nil {
		return route, fmt.Errorf("WebSocket route %s: Target names no %s", id, v2IntegrationType)
	}
	if route.function = functionIn(t, integ["IntegrationUri"]); route.function == "" {
		return route, fmt.Errorf("WebSocket route %s: its integration invokes no function of the template", id)
	}
	if !strings.EqualFold(asString(p["AuthorizationType"]), "CUSTOM") {
		return route, nil
	}
	authz := resourceOfType(t, p["AuthorizerId"], v2AuthorizerType)
	if authz == nil {
		return route, fmt.Errorf("WebSocket route %s: AuthorizerId names no %s", id, v2AuthorizerType)
	}
	fn := functionIn(t, authz["AuthorizerUri"])
	if fn == "" {
		return route, fmt.Errorf("WebSocket route %s: its authorizer invokes no function of the template", id)
	}
	route.authorizer = &wsAuthorizerDef{function: fn}
	for _, s := range oneOrMany(authz["IdentitySource"]) {
		route.authorizer.identity = append(route.authorizer.identity, asString(s))
	}
	return route, nil
}

// functionTimeout is the function's Timeout, or Globals', or Lambda's default: handlers get a
// context with that deadline, as in Lambda.
func functionTimeout(t *samtemplate.Template, logicalID string) time.Duration {
	props := asMap(t.Resources()[logicalID]["Properties"])
	v, ok := props["Timeout"]
	if !ok {
		v = dig(t.Raw(), "Globals", "Function", "Timeout")
	}
	switch n := v.(type) {
	case int:
		return time.Duration(n) * time.Second
	case float64:
		return time.Duration(n * float64(time.Second))
	}
	return lambdaDefaultTimeout
}

// singleResource returns the properties of the only resource of a type; nil if there is none.
func singleResource(t *samtemplate.Template, typ string) (map[string]any, error) {
	var found []string
	res := t.Resources()
	for id, r := range res {
		if r["Type"] == typ {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return asMap(res[found[0]]["Properties"]), nil
	default:
		slices.Sort(found)
		return nil, fmt.Errorf("the local gateway serves one %s; the template declares %v", typ, found)
	}
}

// functionIn returns the logical id of the template function that v refers to ("" if none).
func functionIn(t *samtemplate.Template, v any) string {
	res := t.Resources()
	for _, id := range refs(v) {
		if res[id]["Type"] == samtemplate.FunctionType {
			return id
		}
	}
	return ""
}

// resourceOfType returns the properties of the resource of type typ that v refers to.
func resourceOfType(t *samtemplate.Template, v any, typ string) map[string]any {
	res := t.Resources()
	for _, id := range refs(v) {
		if res[id]["Type"] == typ {
			return asMap(res[id]["Properties"])
		}
	}
	return nil
}

var subVariable = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}`)

// refs lists the logical ids a template value refers to through Ref, Fn::GetAtt or Fn::Sub,
// at any depth (an integration URI is usually a Sub of the function's Arn).
func refs(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			switch k {
			case "Ref":
				out = append(out, asString(val))
			case "Fn::GetAtt":
				out = append(out, getAttTarget(val))
			case "Fn::Sub":
				out = append(out, subTargets(val)...)
			}
			out = append(out, refs(val)...)
		}
	case []any:
		for _, item := range x {
			out = append(out, refs(item)...)
		}
	}
	return out
}

func getAttTarget(v any) string {
	if l := listOf(v); len(l) > 0 {
		return asString(l[0])
	}
	s, _, _ := strings.Cut(asString(v), ".")
	return s
}

func subTargets(v any) []string {
	s := asString(v)
	if l := listOf(v); len(l) > 0 {
		s = asString(l[0])
	}
	var out []string
	for _, m := range subVariable.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// Loose readers of template values: a missing or differently typed value reads as empty.
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

// oneOrMany reads a property that CloudFormation accepts as a single value or a list.
func oneOrMany(v any) []any {
	if v == nil {
		return nil
	}
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		v = asMap(v)[k]
	}
	return v
}
