package openapi_test

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/openapi"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// answered is one real request and its answer, to break on purpose.
type answered struct {
	req  apitest.Request
	resp apitest.Response
}

// TestChecks_FailOnABrokenAnswer takes real answers of the handlers (each passes the checks
// as it is, in send) and breaks each the way one check guards against: every check must then
// report it, in its own words. A check the validator stopped making fails here, not silently
// in the scenario.
func TestChecks_FailOnABrokenAnswer(t *testing.T) {
	l := load(t)
	d := newRecorder(l).deploy(t, func(o *setup.Overrides) { o.Invitations.Limits.ConversationStartsPerIP.Limit = 1 })
	ada, grace := d.agent("ada"), d.agent("grace")
	d.connect("ws-ada", ada)
	call := func(want int, code string, req apitest.Request) answered {
		t.Helper()
		return answered{req, d.send(req, want, code)}
	}

	start := op("POST", "/conversations")
	start.SourceIP = "2001:db8::5"
	withKey := as(start, "", map[string]any{"topic": "Order 42"}, "Idempotency-Key", "3f2b8c1e-9d4a-4e6f-8b7c-0a1d2e3f4a60")
	withKey.SourceIP = start.SourceIP
	visitor := call(201, "", withKey)
	replayed := call(201, "", withKey)
	limited := call(429, "rate_limited", start)
	unknownTeam := as(op("POST", "/conversations"), "", map[string]any{"teamId": "nobody"})
	unknownTeam.SourceIP = "2001:db8::6"
	notFound := call(404, "team_not_found", unknownTeam)
	unauthenticated := call(401, "unauthenticated", as(op("GET", "/agents"), "", nil))

	id := decode[started](t, d.ok(201, as(op("POST", "/conversations"), ada, map[string]any{"topic": "Refund"}))).ConversationID
	message := call(201, "", as(op("POST", "/conversations/{id}/messages", "id", id), ada, map[string]any{"text": "Hello"}))
	inv := decode[invitationAnswer](t, d.ok(201, as(op("POST", "/conversations/{id}/invitations/agent", "id", id), ada, map[string]any{"agentId": "grace"})))
	d.ok(204, as(op("POST", "/invitations/{invitationId}/decline", "invitationId", inv.InvitationID), grace, map[string]any{"reason": "Busy."}))
	history := call(200, "", as(op("GET", "/conversations/{id}/events", "id", id), ada, nil))
	ended := call(204, "", as(op("POST", "/conversations/{id}/end", "id", id), ada, nil))

	for _, c := range []struct {
		check  string
		answer answered
		breaks func(t *testing.T, r *apitest.Response)
		says   string
	}{
		{"required fields", visitor, inBody(func(b map[string]any) { delete(b, "conversationId") }), "missing property 'conversationId'"},
		{"closed objects", visitor, inBody(func(b map[string]any) { b["extra"] = 1 }), "additional properties 'extra' not allowed"},
		{"types", visitor, inBody(func(b map[string]any) { b["conversationId"] = 7 }), "got number, want string"},
		{"JSON", visitor, func(t *testing.T, r *apitest.Response) { r.Body = []byte("{not json") }, "cannot be decoded"},
		{"documented statuses", visitor, func(t *testing.T, r *apitest.Response) { r.Status = 418 }, "'418'"},
		{"content types", visitor, withHeader("Content-Type", "text/plain"), "content type 'text/plain'"},
		{"formats (date-time)", message, inBody(func(b map[string]any) { b["at"] = "yesterday" }), "'yesterday' is not valid date-time"},
		{"enums", message, inBody(func(b map[string]any) { b["audience"] = "nobody" }), "value must be one of"},
		{"if/then: a branch's required fields", message, inBody(func(b map[string]any) { delete(asMap(b["data"]), "text") }), "missing property 'text'"},
		{"if/then: a branch's closed object", message, inBody(func(b map[string]any) { asMap(b["data"])["extra"] = 1 }), "additional properties 'extra' not allowed"},
		{"$ref with a sibling required", history, inEvent("invitation.declined", func(e map[string]any) { delete(asMap(e["data"]), "final") }), "missing property 'final'"},
		{"required headers (Retry-After)", limited, withoutHeader("Retry-After"), "Retry-After"},
		{"header patterns", limited, withHeader("Retry-After", "soon"), "does not match pattern"},
		{"required headers (WWW-Authenticate)", unauthenticated, withoutHeader("WWW-Authenticate"), "WWW-Authenticate"},
		{"header consts", replayed, withHeader("Idempotency-Replayed", "yes"), "value must be 'true'"},
		{"no body where none is documented", ended, func(t *testing.T, r *apitest.Response) { r.Body = []byte(`{"x":1}`) }, "the document says none"},
		{"listed error codes", notFound, inBody(func(b map[string]any) { asMap(b["error"])["code"] = "no_such_code" }), `error code "no_such_code" is not listed`},
		{"the Error body", notFound, inBody(func(b map[string]any) { delete(asMap(b["error"]), "message") }), "missing property 'message'"},
	} {
		t.Run("response/"+c.check, func(t *testing.T) {
			resp := c.answer.resp
			resp.Headers = maps.Clone(resp.Headers)
			c.breaks(t, &resp)
			expectFailure(t, l.strict.CheckResponse(httpRequest(t, c.answer.req), httpResponse(resp)), c.says)
		})
	}

	for _, c := range []struct {
		check  string
		req    apitest.Request
		breaks func(r *apitest.Request)
		says   string
	}{
		{"closed request objects", visitor.req, func(r *apitest.Request) { r.Body = map[string]any{"topic": "x", "extra": 1} }, "additional properties 'extra' not allowed"},
		{"request types", visitor.req, func(r *apitest.Request) { r.Body = map[string]any{"topic": 42} }, "got number, want string"},
		{"request lengths", visitor.req, func(r *apitest.Request) { r.Body = map[string]any{"topic": strings.Repeat("t", 201)} }, "maxLength"},
		{"header parameters", visitor.req, func(r *apitest.Request) { r.Headers = map[string]string{"Idempotency-Key": "has spaces"} }, "Idempotency-Key"},
		{"no body where none is declared", ended.req, func(r *apitest.Request) { r.Body = map[string]any{"reason": "x"} }, "not declared"},
		{"required bodies", message.req, func(r *apitest.Request) { r.Body = nil }, "request body is empty"},
		{"security", message.req, func(r *apitest.Request) { r.Authorization = "" }, "Authorization"},
	} {
		t.Run("request/"+c.check, func(t *testing.T) {
			req := c.req
			c.breaks(&req)
			expectFailure(t, l.strict.CheckRequest(httpRequest(t, req)), c.says)
		})
	}

	t.Run("push/closed objects", func(t *testing.T) {
		d.api.AwaitStream()
		for _, raw := range d.api.Push.Raw("ws-ada") {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			if m["type"] != "message.created" {
				continue
			}
			if err := l.strict.ValidateJSON("/components/schemas/PushMessage", raw); err != nil {
				t.Fatalf("the real push fails already: %v", err)
			}
			asMap(m["data"])["extra"] = 1
			broken, _ := json.Marshal(m)
			expectFailure(t, l.strict.ValidateJSON("/components/schemas/PushMessage", broken), "additional properties 'extra' not allowed")
			return
		}
		t.Fatal("no message.created was pushed to ws-ada")
	})
}

// TestCompile_RefusesABrokenDocument: a schema that is not JSON Schema 2020-12, or a $ref
// that does not resolve, fails Compile — also where no request of the scenario reaches it.
func TestCompile_RefusesABrokenDocument(t *testing.T) {
	path, err := samtemplate.FindRepoFile(openapi.File)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ broken, was, is, says string }{
		{"a dangling $ref", `$ref: "#/components/schemas/MessageData" }`, `$ref: "#/components/schemas/NoSuchData" }`, "NoSuchData"},
		{"a type that does not exist", "MessageData:\n      type: object", "MessageData:\n      type: objekt", "MessageData"},
		{"required that is not a list", "required: [text, kind, displayName]", "required: text", "MessageData"},
		{"a pattern that is not a regular expression", `pattern: "^[1-9][0-9]*$"`, `pattern: "^[1-9][0-9*$"`, "/components/headers/RetryAfter/schema"},
	} {
		t.Run(c.broken, func(t *testing.T) {
			if !strings.Contains(string(text), c.was) {
				t.Fatalf("%s no longer has %q; break something else", openapi.File, c.was)
			}
			doc, err := openapi.Parse([]byte(strings.Replace(string(text), c.was, c.is, 1)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = doc.Compile(openapi.Options{ClosedObjects: true})
			expectFailure(t, err, c.says)
		})
	}
}

func expectFailure(t *testing.T, err error, says string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("passed; want a failure saying %q", says)
	case !strings.Contains(err.Error(), says):
		t.Errorf("failed, but not saying %q:\n%v", says, err)
	}
}

// inBody changes an answer's JSON body.
func inBody(change func(b map[string]any)) func(t *testing.T, r *apitest.Response) {
	return func(t *testing.T, r *apitest.Response) {
		t.Helper()
		var b map[string]any
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatal(err)
		}
		change(b)
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r.Body = raw
	}
}

// inEvent changes the first event of a type in a history page.
func inEvent(typ string, change func(e map[string]any)) func(t *testing.T, r *apitest.Response) {
	return func(t *testing.T, r *apitest.Response) {
		t.Helper()
		found := false
		inBody(func(b map[string]any) {
			for _, e := range asSlice(b["events"]) {
				if asMap(e)["type"] == typ && !found {
					change(asMap(e))
					found = true
				}
			}
		})(t, r)
		if !found {
			t.Fatalf("no %s in the page: %s", typ, r.Body)
		}
	}
}

func withoutHeader(name string) func(t *testing.T, r *apitest.Response) {
	return func(t *testing.T, r *apitest.Response) {
		for k := range r.Headers {
			if strings.EqualFold(k, name) {
				delete(r.Headers, k)
			}
		}
	}
}

func withHeader(name, value string) func(t *testing.T, r *apitest.Response) {
	return func(t *testing.T, r *apitest.Response) {
		withoutHeader(name)(t, r)
		r.Headers[name] = value
	}
}

// TestFunctions_DoNotLinkTheValidator: the validator and its dependencies are for tests; no
// function binary links them (nor this package).
func TestFunctions_DoNotLinkTheValidator(t *testing.T) {
	gomod, err := samtemplate.FindRepoFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "./functions/...")
	cmd.Dir = filepath.Dir(gomod)
	cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0") // as built for Lambda
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list found only %d packages: %s", len(deps), out)
	}
	for _, p := range deps {
		if strings.HasPrefix(p, "github.com/pb33f/") || strings.HasSuffix(p, "/shared/openapi") {
			t.Errorf("a function links %s", p)
		}
	}
}
