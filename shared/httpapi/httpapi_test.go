package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/invite-forward/invite-forward/shared/apperror"
	"github.com/invite-forward/invite-forward/shared/auth"
)

type greeting struct {
	Name string `json:"name"`
	Age  int    `json:"age,omitempty"`
}

func TestDecode_StrictJSON(t *testing.T) {
	cases := []struct {
		name, body, code string
	}{
		{"valid", `{"name":"Ada"}`, ""},
		{"empty body is an empty object", ``, ""},
		{"unknown field", `{"name":"Ada","admin":true}`, "invalid_json"},
		{"trailing data", `{"name":"Ada"} {"name":"Bob"}`, "invalid_json"},
		{"trailing garbage", `{"name":"Ada"}x`, "invalid_json"},
		{"wrong type", `{"name":42}`, "invalid_field"},
		{"array", `[{"name":"Ada"}]`, "invalid_json"},
		{"truncated", `{"name":"Ada"`, "invalid_json"},
		{"null", `null`, "invalid_json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var g greeting
			err := Decode([]byte(tc.body), &g)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Decode(%q) = %v, want success", tc.body, err)
				}
				return
			}
			e := apperror.As(err)
			if err == nil || e.Code != tc.code || Status(e.Kind) != 400 {
				t.Fatalf("Decode(%q) = %v, want 400 %s", tc.body, err, tc.code)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{`{"name":"Ada"}`, ``, `{"name":1}`, `{"a":{}}`, `{"name":"x"}}`, "\x00", `{"age":1e999}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var g greeting
		err := Decode(body, &g)
		if err != nil {
			if e := apperror.As(err); e.Kind != apperror.KindInvalid {
				t.Fatalf("Decode error of kind %v, want invalid: %v", e.Kind, err)
			}
			return
		}
		// Whatever was accepted must round-trip: it was one JSON object of known fields.
		if _, err := json.Marshal(g); err != nil {
			t.Fatalf("accepted body does not re-encode: %v", err)
		}
	})
}

func quietLog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func call(t *testing.T, h Handler, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, ErrorBody) {
	t.Helper()
	resp, err := h(context.Background(), ev)
	if err != nil {
		t.Fatalf("handler returned an error to the runtime: %v", err)
	}
	var body ErrorBody
	_ = json.Unmarshal([]byte(resp.Body), &body)
	return resp, body
}

func TestHandle_MapsErrorsToStatusAndStableCode(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{apperror.Invalid("pin_invalid", "x"), 400, "pin_invalid"},
		{apperror.Unauthenticated("token_expired", "x"), 401, "token_expired"},
		{apperror.Forbidden("not_participant", "x"), 403, "not_participant"},
		{apperror.NotFound("conversation_not_found", "x"), 404, "conversation_not_found"},
		{apperror.Conflict("invitation_taken", "x"), 409, "invitation_taken"},
		{apperror.Gone("invitation_expired", "x"), 410, "invitation_expired"},
		{apperror.RateLimited("too_many_attempts", "x", 90*time.Second), 429, "too_many_attempts"},
		{io.ErrUnexpectedEOF, 500, "internal"},
		// However deep a busy refusal is wrapped, it stays a 503 that says when to retry.
		{fmt.Errorf("save: %w", apperror.Internal(fmt.Errorf("put: %w", apperror.Busy("service_busy", "x", 2*time.Second)))), 503, "service_busy"},
	}
	for _, tc := range cases {
		h := Handle("test", quietLog(), func(context.Context, *Request) (Response, error) { return Response{}, tc.err }, AllowAnonymous())
		resp, body := call(t, h, events.APIGatewayV2HTTPRequest{})
		if resp.StatusCode != tc.status || body.Error.Code != tc.code {
			t.Errorf("%v → %d %q, want %d %q", tc.err, resp.StatusCode, body.Error.Code, tc.status, tc.code)
		}
		if tc.status == 429 && resp.Headers["Retry-After"] != "90" {
			t.Errorf("429 without Retry-After 90: %v", resp.Headers)
		}
		if tc.status == 503 && resp.Headers["Retry-After"] != "2" {
			t.Errorf("503 without Retry-After 2: %v", resp.Headers)
		}
		if tc.status == 500 && strings.Contains(resp.Body, "EOF") {
			t.Errorf("internal cause leaked to the caller: %s", resp.Body)
		}
	}
}

func TestHandle_RefusesOversizedBodies(t *testing.T) {
	called := false
	h := Handle("test", quietLog(), func(context.Context, *Request) (Response, error) { called = true; return OK(nil), nil }, AllowAnonymous())
	big := `{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	for _, ev := range []events.APIGatewayV2HTTPRequest{
		{Body: big},
		{Body: base64.StdEncoding.EncodeToString([]byte(big)), IsBase64Encoded: true},
	} {
		resp, body := call(t, h, ev)
		if resp.StatusCode != 413 || body.Error.Code != "body_too_large" {
			t.Fatalf("oversized body → %d %s, want 413 body_too_large", resp.StatusCode, body.Error.Code)
		}
	}
	if called {
		t.Fatal("the action ran for an oversized body")
	}
}

func TestHandle_DecodesBase64BodiesAndReadsPrincipal(t *testing.T) {
	var got *Request
	h := Handle("test", quietLog(), func(_ context.Context, r *Request) (Response, error) {
		got = r
		return OK(map[string]string{"ok": "yes"}), nil
	}, AllowAnonymous())
	ev := events.APIGatewayV2HTTPRequest{
		Body:            base64.StdEncoding.EncodeToString([]byte(`{"name":"Ada"}`)),
		IsBase64Encoded: true,
		Headers:         map[string]string{"Idempotency-Key": "k-1"},
		PathParameters:  map[string]string{"id": "conv_1"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				Lambda: auth.Principal{Kind: auth.Agent, AgentID: "ada"}.ToContext(),
			},
		},
	}
	resp, _ := call(t, h, ev)
	if resp.StatusCode != 200 || resp.Headers["Content-Type"] != "application/json" {
		t.Fatalf("got %d %v", resp.StatusCode, resp.Headers)
	}
	if string(got.Body) != `{"name":"Ada"}` || got.IdempotencyKey != "k-1" || got.ConversationID != "conv_1" {
		t.Fatalf("request not read right: body %q key %q conv %q", got.Body, got.IdempotencyKey, got.ConversationID)
	}
	if !got.Principal.IsAgent() || got.Principal.AgentID != "ada" {
		t.Fatalf("principal = %+v, want agent ada", got.Principal)
	}
}

func TestHandle_NoAuthorizerContextIsAnonymous(t *testing.T) {
	var got *Request
	h := Handle("test", quietLog(), func(_ context.Context, r *Request) (Response, error) { got = r; return NoContent(), nil }, AllowAnonymous())
	resp, _ := call(t, h, events.APIGatewayV2HTTPRequest{})
	if resp.StatusCode != 204 || got.Principal.Kind != auth.Anonymous || got.Principal.RequireAuthenticated() == nil {
		t.Fatalf("got %d, principal %+v", resp.StatusCode, got.Principal)
	}
}

func TestHandle_RefusesBadIdempotencyKeys(t *testing.T) {
	h := Handle("test", quietLog(), func(context.Context, *Request) (Response, error) { return OK(nil), nil }, AllowAnonymous())
	for _, key := range []string{"has space", strings.Repeat("k", 256), "tab\there"} {
		resp, body := call(t, h, events.APIGatewayV2HTTPRequest{Headers: map[string]string{"idempotency-key": key}})
		if resp.StatusCode != 400 || body.Error.Code != "invalid_idempotency_key" {
			t.Errorf("key %q → %d %s, want 400 invalid_idempotency_key", key, resp.StatusCode, body.Error.Code)
		}
	}
}

func TestHandle_LogsOutcomeWithoutBodyOrHeaders(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	h := Handle("post_message", log, func(context.Context, *Request) (Response, error) {
		return Response{}, apperror.Forbidden("not_participant", "no")
	}, AllowAnonymous())
	_, _ = h(context.Background(), events.APIGatewayV2HTTPRequest{
		Body:           `{"text":"my secret message"}`,
		Headers:        map[string]string{"authorization": "Bearer secret-session-token"},
		PathParameters: map[string]string{"id": "conv_9"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-7"},
	})
	line := buf.String()
	for _, want := range []string{`"action":"post_message"`, `"requestId":"req-7"`, `"conversationId":"conv_9"`, `"outcome":"not_participant"`, `"status":403`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s: %s", want, line)
		}
	}
	for _, secret := range []string{"my secret message", "secret-session-token"} {
		if strings.Contains(line, secret) {
			t.Errorf("log line leaks %q: %s", secret, line)
		}
	}
}

func TestHandle_RoutesRequireCredentialsBeforeReadingTheBody(t *testing.T) {
	called := false
	h := Handle("test", quietLog(), func(context.Context, *Request) (Response, error) { called = true; return OK(nil), nil })
	resp, body := call(t, h, events.APIGatewayV2HTTPRequest{Body: `{"not":"even valid for the route"`})
	if resp.StatusCode != 401 || body.Error.Code != "unauthenticated" || called {
		t.Fatalf("anonymous call → %d %s (action ran: %v), want 401 unauthenticated", resp.StatusCode, body.Error.Code, called)
	}
	refused := auth.Principal{Kind: auth.Agent, AuthError: "token_expired"}.ToContext()
	resp, body = call(t, h, events.APIGatewayV2HTTPRequest{RequestContext: events.APIGatewayV2HTTPRequestContext{
		Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: refused}}})
	if resp.StatusCode != 401 || body.Error.Code != "token_expired" || called {
		t.Fatalf("refused token → %d %s, want 401 token_expired", resp.StatusCode, body.Error.Code)
	}
}

// TestHandle_RefusesMalformedPathIDsBeforeTheActionRuns: an id longer than 128 bytes (or
// DynamoDB's 2,048-byte key limit) or of the wrong shape is 400 invalid_id, and nothing reads it.
func TestHandle_RefusesMalformedPathIDsBeforeTheActionRuns(t *testing.T) {
	h := Handle("test", quietLog(), func(context.Context, *Request) (Response, error) {
		t.Error("the action ran with a malformed id")
		return OK(nil), nil
	}, AllowAnonymous())
	for _, id := range []string{strings.Repeat("c", 129), strings.Repeat("c", 3000), "../inbox", "conv x"} {
		resp, body := call(t, h, events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"id": id}})
		if resp.StatusCode != 400 || body.Error.Code != "invalid_id" {
			t.Errorf("id %.20q… → %d %q, want 400 invalid_id", id, resp.StatusCode, body.Error.Code)
		}
	}
	ok := Handle("test", quietLog(), func(context.Context, *Request) (Response, error) { return OK(map[string]string{}), nil }, AllowAnonymous())
	if resp, _ := call(t, ok, events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"id": "conv_" + strings.Repeat("x", 123)}}); resp.StatusCode != 200 {
		t.Errorf("a 128-byte id → %d, want 200", resp.StatusCode)
	}
}
