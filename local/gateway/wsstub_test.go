package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// stubTemplate declares a WebSocket API with a two-way "echo" route, served by test doubles,
// so that API Gateway's rules can be checked whatever the product's handlers do.
const stubTemplate = `
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: { ProtocolType: WEBSOCKET, RouteSelectionExpression: "$request.body.action" }
  Authz:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Api
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${StubAuthorizerFunction.Arn}/invocations"
      IdentitySource: [route.request.querystring.ticket]
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: { ApiId: !Ref Api, RouteKey: $connect, AuthorizationType: CUSTOM, AuthorizerId: !Ref Authz, Target: !Sub "integrations/${ConnectInteg}" }
  ConnectInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties: { ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !Sub "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${StubConnectFunction.Arn}/invocations" }
  EchoRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: echo
      RouteResponseSelectionExpression: $default
      Target: !Join ["/", [integrations, !Ref EchoInteg]]
  EchoInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties: { ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !Sub "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${StubEchoFunction.Arn}/invocations" }
  StubAuthorizerFunction: { Type: AWS::Serverless::Function, Properties: { Timeout: 5 } }
  StubConnectFunction: { Type: AWS::Serverless::Function, Properties: { Timeout: 5 } }
  StubEchoFunction: { Type: AWS::Serverless::Function, Properties: { Timeout: 5 } }
`

// connectRecorder keeps the $connect events the stub received.
type connectRecorder struct {
	mu     sync.Mutex
	events []events.APIGatewayWebsocketProxyRequest
}

func (r *connectRecorder) last() events.APIGatewayWebsocketProxyRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[len(r.events)-1]
}

func stubHandlers(rec *connectRecorder) map[string]gateway.Constructor {
	return map[string]gateway.Constructor{
		"StubAuthorizerFunction": func(*setup.Deps) any {
			return func(_ context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
				effect := "Allow"
				switch req.QueryStringParameters["ticket"] {
				case "error":
					return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
				case "deny":
					effect = "Deny"
				}
				return events.APIGatewayCustomAuthorizerResponse{
					PrincipalID: "p1",
					PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
						{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{req.MethodArn}},
					}},
					Context: map[string]any{"who": req.QueryStringParameters["ticket"], "n": 7, "ok": true},
				}, nil
			}
		},
		"StubConnectFunction": func(*setup.Deps) any {
			return func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
				rec.mu.Lock()
				rec.events = append(rec.events, req)
				rec.mu.Unlock()
				if auth, _ := req.RequestContext.Authorizer.(map[string]any); auth["who"] == "refuse" {
					return events.APIGatewayProxyResponse{StatusCode: 403}, nil
				}
				return events.APIGatewayProxyResponse{StatusCode: 200}, nil
			}
		},
		"StubEchoFunction": func(*setup.Deps) any {
			return func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
				return events.APIGatewayProxyResponse{StatusCode: 200, Body: "echo " + req.RequestContext.RouteKey + " " + req.Body}, nil
			}
		},
	}
}

// TestWebSocketAuthorizer_APIGatewayRules: an authorizer error "Unauthorized" is 401, a Deny
// is 403, a non-2xx $connect refuses; an allowed connection's $connect sees the authorizer
// context stringified, with principalId.
func TestWebSocketAuthorizer_APIGatewayRules(t *testing.T) {
	tmpl, err := samtemplate.Parse([]byte(stubTemplate))
	if err != nil {
		t.Fatal(err)
	}
	rec := &connectRecorder{}
	s := start(t, withTemplate(tmpl), withHandlers(stubHandlers(rec)))

	for query, want := range map[string]int{"": 401, "?ticket=error": 401, "?ticket=deny": 403, "?ticket=refuse": 403} {
		if _, status := s.dial(query); status != want {
			t.Errorf("dial %q: %d, want %d", query, status, want)
		}
	}
	ws, status := s.dial("?ticket=ada")
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("dial: %d", status)
	}
	ev := rec.last()
	rc := ev.RequestContext
	auth, _ := rc.Authorizer.(map[string]any)
	if rc.RouteKey != "$connect" || rc.EventType != "CONNECT" || rc.ConnectionID == "" || rc.Stage != "dev" {
		t.Errorf("$connect request context = %+v", rc)
	}
	if auth["who"] != "ada" || auth["n"] != "7" || auth["ok"] != "true" || auth["principalId"] != "p1" {
		t.Errorf("authorizer context = %v; want stringified values and principalId", auth)
	}
	if ev.QueryStringParameters["ticket"] != "ada" {
		t.Errorf("query = %v", ev.QueryStringParameters)
	}

	// A two-way route's response body goes back to the client; an unrouted message (no
	// $default here) is answered Forbidden.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"action":"echo"}`)); err != nil {
		t.Fatal(err)
	}
	if _, got, err := ws.Read(ctx); err != nil || string(got) != `echo echo {"action":"echo"}` {
		t.Errorf("two-way reply: %q %v", got, err)
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"action":"nope"}`)); err != nil {
		t.Fatal(err)
	}
	if _, got, err := ws.Read(ctx); err != nil || !strings.Contains(string(got), `"message":"Forbidden"`) {
		t.Errorf("unrouted message reply: %q %v", got, err)
	}
}
