package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/faults"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

// maxHTTPBody is API Gateway's payload limit for HTTP APIs. Handlers enforce their own,
// much smaller, limit; this one only protects the gateway.
const maxHTTPBody = 10 << 20

// httpAPI serves the template's HTTP API routes.
type httpAPI struct {
	routes []compiledRoute
	cors   corsConfig
	log    *slog.Logger
	now    func() time.Time
}

// compiledRoute is a template route ready for matching.
type compiledRoute struct {
	samtemplate.Route
	segments   []string
	literals   int       // more literal segments = more specific, as API Gateway prefers
	function   *function // nil if the template names a function without a handler
	authorizer *function // nil for none
}

func newHTTPAPI(def httpAPIDef, fns *functions, log *slog.Logger) *httpAPI {
	a := &httpAPI{cors: def.cors, log: log, now: time.Now}
	for _, r := range def.routes {
		cr := compiledRoute{Route: r, segments: splitPath(r.Path), function: fns.byID[r.FunctionLogicalID]}
		for _, s := range cr.segments {
			if !isParam(s) {
				cr.literals++
			}
		}
		if id := def.authorizerFor(r); id != "" {
			cr.authorizer = fns.byID[id]
		}
		a.routes = append(a.routes, cr)
	}
	return a
}

func splitPath(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// match finds the most specific route for the request's method and escaped path, with its
// path parameters decoded.
func (a *httpAPI) match(method, escapedPath string) (*compiledRoute, map[string]string) {
	segs := splitPath(escapedPath)
	var best *compiledRoute
	var bestParams map[string]string
	for i := range a.routes {
		r := &a.routes[i]
		if r.Method != method && r.Method != "ANY" {
			continue
		}
		params, ok := matchSegments(r.segments, segs)
		if ok && (best == nil || r.literals > best.literals) {
			best, bestParams = r, params
		}
	}
	return best, bestParams
}

func matchSegments(pattern, segs []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, p := range pattern {
		if greedy, ok := strings.CutSuffix(strings.Trim(p, "{}"), "+"); ok && isParam(p) {
			if i >= len(segs) {
				return nil, false
			}
			v, err := url.PathUnescape(strings.Join(segs[i:], "/"))
			if err != nil {
				return nil, false
			}
			params[greedy] = v
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if !isParam(p) {
			if p != segs[i] {
				return nil, false
			}
			continue
		}
		v, err := url.PathUnescape(segs[i])
		if err != nil || v == "" {
			return nil, false
		}
		params[strings.Trim(p, "{}")] = v
	}
	if len(pattern) != len(segs) {
		return nil, false
	}
	if len(params) == 0 {
		params = nil
	}
	return params, true
}

func (a *httpAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := a.now()
	requestID := newRequestID()
	w.Header().Set("Apigw-Requestid", requestID)
	if a.cors.isPreflight(r) {
		a.cors.preflight(w, r)
		return
	}
	a.cors.decorate(w.Header(), r.Header.Get("Origin"))
	route, params := a.match(r.Method, r.URL.EscapedPath())
	status := a.serveRoute(w, r, route, params, requestID)
	routeKey := "-"
	if route != nil {
		routeKey = route.Method + " " + route.Path
	}
	// The path only: a query string may carry a secret.
	a.log.Debug("http", "method", r.Method, "path", r.URL.Path, "route", routeKey, "status", status,
		"requestId", requestID, "ms", a.now().Sub(start).Milliseconds())
}

// serveRoute runs the authorizer and the route's function, and returns the status written.
func (a *httpAPI) serveRoute(w http.ResponseWriter, r *http.Request, route *compiledRoute, params map[string]string, requestID string) int {
	if route == nil {
		return gatewayError(w, http.StatusNotFound, "Not Found")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHTTPBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		}
		return gatewayError(w, http.StatusBadRequest, "Bad Request")
	}
	ev := a.event(r, body, route, params, requestID)
	if route.authorizer != nil {
		allowed, authCtx, err := a.authorize(r, ev, route)
		if err != nil {
			a.log.Error("authorizer failed", "function", route.authorizer.logicalID, "requestId", requestID, "error", err.Error())
			return gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		}
		if !allowed {
			return gatewayError(w, http.StatusForbidden, "Forbidden")
		}
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: authCtx}
	}
	if route.function == nil {
		a.log.Error("route has no function", "route", route.Method+" "+route.Path)
		return gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
	}
	ctx, err := withDevFault(r)
	if err != nil {
		return gatewayError(w, http.StatusBadRequest, err.Error())
	}
	var out json.RawMessage
	if err := route.function.invoke(ctx, ev, &out); err != nil {
		a.log.Error("integration failed", "function", route.function.logicalID, "requestId", requestID, "error", err.Error())
		return gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
	}
	return writeIntegrationResponse(w, out, a.cors.enabled)
}

// authorize runs the route's payload 2.0 authorizer with simple responses.
func (a *httpAPI) authorize(r *http.Request, ev events.APIGatewayV2HTTPRequest, route *compiledRoute) (bool, map[string]any, error) {
	req := events.APIGatewayV2CustomAuthorizerV2Request{
		Version:               "2.0",
		Type:                  "REQUEST",
		RouteArn:              "arn:aws:execute-api:" + localRegion + ":" + localAccount + ":" + localHTTPAPI + "/" + httpStageName + "/" + route.Method + route.Path,
		IdentitySource:        nil, // the template's authorizer has no identity source: it runs on every request
		RouteKey:              ev.RouteKey,
		RawPath:               ev.RawPath,
		RawQueryString:        ev.RawQueryString,
		Cookies:               ev.Cookies,
		Headers:               ev.Headers,
		QueryStringParameters: ev.QueryStringParameters,
		RequestContext:        ev.RequestContext,
		PathParameters:        ev.PathParameters,
		StageVariables:        ev.StageVariables,
	}
	var resp events.APIGatewayV2CustomAuthorizerSimpleResponse
	if err := route.authorizer.invoke(r.Context(), req, &resp); err != nil {
		return false, nil, err
	}
	return resp.IsAuthorized, resp.Context, nil
}

// event builds the payload format 2.0 event API Gateway would send for r.
func (a *httpAPI) event(r *http.Request, body []byte, route *compiledRoute, params map[string]string, requestID string) events.APIGatewayV2HTTPRequest {
	now := a.now()
	sourceIP := remoteIP(r)
	headers, cookies := eventHeaders(r, sourceIP, len(body))
	routeKey := route.Method + " " + route.Path
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: queryParameters(r.URL.RawQuery),
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     routeKey,
			AccountID:    localAccount,
			Stage:        httpStageName,
			RequestID:    requestID,
			APIID:        localHTTPAPI,
			DomainName:   r.Host,
			DomainPrefix: domainPrefix(r.Host),
			Time:         requestTime(now),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

// eventHeaders lower-cases names and joins repeated values with commas, moves cookies to
// their own list, and adds the X-Forwarded-* headers API Gateway adds.
func eventHeaders(r *http.Request, sourceIP string, bodyLen int) (map[string]string, []string) {
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[name] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	if bodyLen > 0 {
		headers["content-length"] = strconv.Itoa(bodyLen)
	}
	if prior := headers["x-forwarded-for"]; prior != "" {
		headers["x-forwarded-for"] = prior + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-proto"] = "http"
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = port
	}
	return headers, cookies
}

// queryParameters combines repeated parameters with commas, as HTTP APIs do; nil when none.
func queryParameters(raw string) map[string]string {
	values, _ := url.ParseQuery(raw) // like API Gateway, keep what parses
	if len(values) == 0 {
		return nil
	}
	out := make(map[string]string, len(values))
	for k, vs := range values {
		out[k] = strings.Join(vs, ",")
	}
	return out
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func domainPrefix(host string) string {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	prefix, _, _ := strings.Cut(h, ".")
	return prefix
}

// writeIntegrationResponse writes a function's payload 2.0 response. A result without
// statusCode is, as in API Gateway, a 200 whose JSON body is the result itself. With CORS
// configured, API Gateway ignores the integration's CORS headers (dropCORS).
func writeIntegrationResponse(w http.ResponseWriter, raw json.RawMessage, dropCORS bool) int {
	var probe map[string]json.RawMessage
	if json.Unmarshal(raw, &probe) != nil || probe["statusCode"] == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(raw)
		return http.StatusOK
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &resp); err != nil || resp.StatusCode < 100 || resp.StatusCode > 599 {
		return gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		}
		body = b
	}
	h := w.Header()
	keep := func(name string) bool { return !dropCORS || !isCORSHeader(name) }
	for k, v := range resp.Headers {
		if keep(k) {
			h.Set(k, v)
		}
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			if keep(k) {
				h.Add(k, v)
			}
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return resp.StatusCode
}

// isCORSHeader: API Gateway ignores an integration's CORS headers when CORS is configured.
func isCORSHeader(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), "access-control-")
}

// gatewayError writes one of API Gateway's own answers: {"message": "..."}.
func gatewayError(w http.ResponseWriter, status int, message string) int {
	b, _ := json.Marshal(map[string]string{"message": message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}

// DevFaultHeader makes the function's AWS calls fail as it says (shared/faults.ParsePlan), so
// a person can try a fault by hand with `make dev`: curl -H 'X-Dev-Fault: SendEmail' …. Only
// this local gateway reads it; API Gateway in AWS has no such thing, and no deployed function
// can switch faults on.
const DevFaultHeader = "X-Dev-Fault"

func withDevFault(r *http.Request) (context.Context, error) {
	spec := r.Header.Get(DevFaultHeader)
	if spec == "" {
		return r.Context(), nil
	}
	plan, err := faults.ParsePlan(spec)
	if err != nil {
		return nil, err
	}
	ctx, _ := faults.Inject(r.Context(), plan)
	return ctx, nil
}
