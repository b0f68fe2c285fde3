package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// This file runs a WebSocket API's $connect REQUEST authorizer the way API Gateway does:
// identity sources checked first (401 without invoking anything), an IAM policy that must
// allow the route's method ARN (else 403), an error "Unauthorized" meaning 401, and the
// authorizer's context handed on with every value stringified.

// wsAuthorizerRequest is the event a WebSocket REQUEST authorizer receives. Its request
// context is the WebSocket one (route key, connection id, …), which
// events.APIGatewayCustomAuthorizerRequestTypeRequest only partly declares; a handler
// decoding into that type reads the fields it knows, as it would in AWS.
type wsAuthorizerRequest struct {
	Type                            string                                        `json:"type"`
	MethodArn                       string                                        `json:"methodArn"`
	Headers                         map[string]string                             `json:"headers"`
	MultiValueHeaders               map[string][]string                           `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string                             `json:"queryStringParameters,omitempty"`
	MultiValueQueryStringParameters map[string][]string                           `json:"multiValueQueryStringParameters,omitempty"`
	StageVariables                  map[string]string                             `json:"stageVariables,omitempty"`
	RequestContext                  events.APIGatewayWebsocketProxyRequestContext `json:"requestContext"`
}

// authorizerResponse is an IAM-policy authorizer response. Action and Resource may be a string
// or a list in JSON, which events.IAMPolicyStatement does not accept.
type authorizerResponse struct {
	PrincipalID    string `json:"principalId"`
	PolicyDocument struct {
		Statement []struct {
			Effect   string     `json:"Effect"`
			Action   stringList `json:"Action"`
			Resource stringList `json:"Resource"`
		} `json:"Statement"`
	} `json:"policyDocument"`
	Context map[string]any `json:"context"`
}

type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// authDecision is the outcome of a $connect authorization.
type authDecision struct {
	status  int            // 0 when allowed
	message string         // API Gateway's message when refused
	context map[string]any // requestContext.authorizer when allowed
}

// missingIdentity reports whether a required identity source is absent from the request.
func missingIdentity(r *http.Request, sources []string) bool {
	for _, src := range sources {
		if name, ok := strings.CutPrefix(src, "route.request.querystring."); ok && r.URL.Query().Get(name) == "" {
			return true
		}
		if name, ok := strings.CutPrefix(src, "route.request.header."); ok && r.Header.Get(name) == "" {
			return true
		}
	}
	return false
}

func (a *wsAPI) authorizeConnect(ctx context.Context, r *http.Request, authz *wsAuthorizerDef, rc events.APIGatewayWebsocketProxyRequestContext) authDecision {
	if missingIdentity(r, authz.identity) {
		return authDecision{status: http.StatusUnauthorized, message: "Unauthorized"}
	}
	methodArn := "arn:aws:execute-api:" + localRegion + ":" + localAccount + ":" + localWSAPI + "/" + a.stage + "/$connect"
	headers, multi := wsHeaders(r)
	query, multiQuery := wsQuery(r)
	req := wsAuthorizerRequest{
		Type: "REQUEST", MethodArn: methodArn,
		Headers: headers, MultiValueHeaders: multi,
		QueryStringParameters: query, MultiValueQueryStringParameters: multiQuery,
		RequestContext: rc,
	}
	fn := a.fns.byID[authz.function]
	start := time.Now()
	var resp authorizerResponse
	if err := fn.invoke(ctx, req, &resp); err != nil {
		var ie *invokeError
		if errors.As(err, &ie) && ie.err.Error() == "Unauthorized" {
			return authDecision{status: http.StatusUnauthorized, message: "Unauthorized"}
		}
		a.log.Error("WebSocket authorizer failed", "function", authz.function, "connectionId", rc.ConnectionID, "error", err.Error())
		return authDecision{status: http.StatusInternalServerError, message: "Internal Server Error"}
	}
	if !resp.allows(methodArn) {
		return authDecision{status: http.StatusForbidden, message: "Forbidden"}
	}
	authCtx, err := stringifyContext(resp.Context)
	if err != nil {
		a.log.Error("WebSocket authorizer returned an invalid context", "function", authz.function, "error", err.Error())
		return authDecision{status: http.StatusInternalServerError, message: "Internal Server Error"}
	}
	authCtx["principalId"] = resp.PrincipalID
	authCtx["integrationLatency"] = time.Since(start).Milliseconds()
	return authDecision{context: authCtx}
}

// allows: some Allow statement covers execute-api:Invoke on arn, and no Deny does.
func (r authorizerResponse) allows(arn string) bool {
	allowed := false
	for _, st := range r.PolicyDocument.Statement {
		if !anyMatch(st.Action, "execute-api:Invoke") || !anyMatch(st.Resource, arn) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches IAM wildcards: * any run of characters (slashes included), ? one character.
func glob(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if glob(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
		}
		pattern, s = pattern[1:], s[1:]
	}
	return s == ""
}

// stringifyContext applies API Gateway's rule for REQUEST authorizer contexts: strings,
// numbers and booleans arrive as strings, null stays null, and an object or array is a
// configuration error.
func stringifyContext(in map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(in)+2)
	for k, v := range in {
		switch x := v.(type) {
		case nil:
			out[k] = nil
		case string:
			out[k] = x
		case bool:
			out[k] = strconv.FormatBool(x)
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			return nil, fmt.Errorf("context key %q holds a %T; only strings, numbers and booleans are allowed", k, v)
		}
	}
	return out, nil
}

// wsHeaders are the handshake's headers as the WebSocket API delivers them: original case,
// single- and multi-valued.
func wsHeaders(r *http.Request) (map[string]string, map[string][]string) {
	single := map[string]string{"Host": r.Host}
	multi := map[string][]string{"Host": {r.Host}}
	for name, values := range r.Header {
		single[name] = strings.Join(values, ",")
		multi[name] = append([]string(nil), values...)
	}
	ip := remoteIP(r)
	single["X-Forwarded-For"], multi["X-Forwarded-For"] = ip, []string{ip}
	single["X-Forwarded-Proto"], multi["X-Forwarded-Proto"] = "http", []string{"http"}
	return single, multi
}

func wsQuery(r *http.Request) (map[string]string, map[string][]string) {
	q := r.URL.Query()
	if len(q) == 0 {
		return nil, nil
	}
	single := make(map[string]string, len(q))
	for k, vs := range q {
		single[k] = vs[len(vs)-1]
	}
	return single, q
}
