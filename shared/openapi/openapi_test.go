package openapi_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/invite-forward/invite-forward/shared/openapi"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
	"github.com/invite-forward/invite-forward/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// loaded parses and compiles the document once for all tests of the package.
var loaded = sync.OnceValues(func() (*loadedDoc, error) {
	doc, err := openapi.LoadRepo()
	if err != nil {
		return nil, err
	}
	strict, err := doc.Compile(openapi.Options{ClosedObjects: true})
	if err != nil {
		return nil, err
	}
	return &loadedDoc{doc: doc, strict: strict}, nil
})

type loadedDoc struct {
	doc    *openapi.Document
	strict *openapi.Validator
}

func load(t *testing.T) *loadedDoc {
	t.Helper()
	l, err := loaded()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func loadTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// TestRoutes_TheDocumentDescribesExactlyTheTemplatesHTTPRoutes: every HTTP API route of
// template.yaml is an operation of openapi.yaml, served by the same function, and every
// operation is a route: a new function cannot ship undocumented, nor a removed one stay
// documented.
func TestRoutes_TheDocumentDescribesExactlyTheTemplatesHTTPRoutes(t *testing.T) {
	doc := load(t).doc
	routes := map[string]string{}
	for _, r := range loadTemplate(t).HTTPRoutes() {
		routes[r.Method+" "+r.Path] = r.FunctionLogicalID
	}
	ops := map[string]string{}
	for _, op := range doc.Operations() {
		ops[op.Method+" "+op.Path] = op.Function
	}
	if len(routes) == 0 {
		t.Fatal("the template declares no HTTP routes")
	}
	for _, key := range slices.Sorted(maps.Keys(routes)) {
		fn, ok := ops[key]
		switch {
		case !ok:
			t.Errorf("template route %s (%s) is not in %s", key, routes[key], openapi.File)
		case fn != routes[key]:
			t.Errorf("%s: x-sam-function is %q, the template's function is %s", key, fn, routes[key])
		}
	}
	for _, key := range slices.Sorted(maps.Keys(ops)) {
		if _, ok := routes[key]; !ok {
			t.Errorf("%s describes %s, which template.yaml does not route", openapi.File, key)
		}
	}
}

// TestDocument_IsStructurallyValid checks what OpenAPI 3.1 requires of the document and what
// this API promises in it. (The official OpenAPI schema is not vendored; these checks cover
// the parts clients and tools rely on.)
func TestDocument_IsStructurallyValid(t *testing.T) {
	l := load(t)
	root := l.doc.Raw()
	if root["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", root["openapi"])
	}
	info := asMap(root["info"])
	if info["title"] == nil || info["version"] == nil {
		t.Error("info needs title and version")
	}
	t.Run("every $ref resolves", func(t *testing.T) {
		walk(root, "", func(at string, m map[string]any) {
			if ref, ok := m["$ref"].(string); ok {
				if _, err := l.doc.Lookup(ref); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
		})
	})
	t.Run("every schema compiles as JSON Schema 2020-12, open and closed", func(t *testing.T) {
		if _, err := l.doc.Compile(openapi.Options{}); err != nil {
			t.Error(err)
		}
		if n := l.strict.Schemas(); n < 50 {
			t.Errorf("only %d schemas found; is the walk missing some?", n)
		}
	})
	t.Run("every example matches its schema", func(t *testing.T) {
		n := 0
		walk(root, "", func(at string, m map[string]any) {
			example, ok := m["example"]
			if !ok {
				return
			}
			ptr := at // a schema with its own example
			if _, isMediaType := m["schema"]; isMediaType {
				ptr = at + "/schema"
			}
			raw, err := json.Marshal(example)
			if err != nil {
				t.Fatal(err)
			}
			n++
			if err := l.strict.ValidateJSON(ptr, raw); err != nil {
				t.Errorf("the example at %s: %v", at, err)
			}
		})
		if n == 0 {
			t.Error("no examples found")
		}
	})
	schemes := asMap(asMap(root["components"])["securitySchemes"])
	ids := map[string]bool{}
	for _, op := range l.doc.Operations() {
		name := op.Method + " " + op.Path
		t.Run(name, func(t *testing.T) { checkOperation(t, l.doc, op, schemes, ids) })
	}
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func checkOperation(t *testing.T, doc *openapi.Document, op openapi.Operation, schemes map[string]any, ids map[string]bool) {
	if op.ID == "" || ids[op.ID] {
		t.Errorf("operationId %q is missing or not unique", op.ID)
	}
	ids[op.ID] = true
	if asString(op.Raw["summary"]) == "" || asString(op.Raw["description"]) == "" {
		t.Error("summary and description are required here: they are the API's documentation")
	}

	// Path parameters: each {name} declared (on the path item or the operation), and nothing
	// declared that the path lacks.
	declared := map[string]bool{}
	pathItem := asMap(asMap(doc.Raw()["paths"])[op.Path])
	for _, p := range append(asSlice(pathItem["parameters"]), asSlice(op.Raw["parameters"])...) {
		pm := resolved(t, doc, p)
		if pm["in"] == "path" {
			if pm["required"] != true {
				t.Errorf("path parameter %v must be required", pm["name"])
			}
			declared[asString(pm["name"])] = true
		}
	}
	var inPath []string
	for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
		inPath = append(inPath, m[1])
		if !declared[m[1]] {
			t.Errorf("path parameter {%s} is not declared", m[1])
		}
	}
	for name := range declared {
		if !slices.Contains(inPath, name) {
			t.Errorf("parameter %s is declared in: path, but the path has no {%s}", name, name)
		}
	}

	// Security: every requirement names a declared scheme; {} is the anonymous alternative.
	sec, ok := op.Raw["security"].([]any)
	if !ok || len(sec) == 0 {
		t.Error("security must say who may call (use - {} for anyone)")
	}
	for _, req := range sec {
		for name := range asMap(req) {
			if _, ok := schemes[name]; !ok {
				t.Errorf("security scheme %q is not declared", name)
			}
		}
	}

	// Request bodies: JSON, closed like the strict decoder.
	if rb, ok := op.Raw["requestBody"]; ok {
		schema := asMap(asMap(asMap(resolved(t, doc, rb)["content"])["application/json"])["schema"])
		target := resolved(t, doc, schema)
		if target["additionalProperties"] != false {
			t.Error("the request body schema must say additionalProperties: false: the handlers refuse unknown fields")
		}
	}

	responses := asMap(op.Raw["responses"])
	var success []string
	for code := range responses {
		if code[0] == '2' {
			success = append(success, code)
		}
	}
	if len(success) != 1 {
		t.Errorf("want exactly one success status, got %v", success)
	}
	// What every route can answer.
	for _, code := range []string{"413", "500"} {
		if _, ok := responses[code]; !ok {
			t.Errorf("status %s is not documented; every route can answer it", code)
		}
	}
	// Credentials that are sent are always checked, also where none are needed, and a
	// malformed Idempotency-Key is refused before any route looks at the request.
	for _, code := range []string{"400", "401"} {
		if _, ok := responses[code]; !ok {
			t.Errorf("status %s is not documented; every route can answer it", code)
		}
	}

	idempotent := false
	for _, p := range asSlice(op.Raw["parameters"]) {
		if asString(resolved(t, doc, p)["name"]) == "Idempotency-Key" {
			idempotent = true
		}
	}
	for code := range responses {
		status := 0
		_, _ = fmt.Sscan(code, &status)
		resp, err := doc.Response(op.Method, op.Path, status)
		if err != nil {
			t.Error(err)
			continue
		}
		if status >= 400 {
			codes := resp.ErrorCodes()
			if len(codes) == 0 {
				t.Errorf("%d: the description lists no error codes (write them as \"- `code`: when\")", status)
			}
			if resp.JSONSchemaPointer() == "" {
				t.Errorf("%d: error answers have the Error body", status)
			}
			if status == 429 && asMap(resp.Raw["headers"])["Retry-After"] == nil {
				t.Errorf("429 must document Retry-After")
			}
			if status == 401 && asMap(resp.Raw["headers"])["WWW-Authenticate"] == nil {
				t.Errorf("401 must document WWW-Authenticate")
			}
			if idempotent && status == 422 && !slices.Contains(codes, "idempotency_key_reused") {
				t.Errorf("422 must list idempotency_key_reused: the operation takes an Idempotency-Key")
			}
			if idempotent && status == 409 && !slices.Contains(codes, "idempotency_in_progress") {
				t.Errorf("409 must list idempotency_in_progress: the operation takes an Idempotency-Key")
			}
		}
		if status < 300 && idempotent && asMap(resp.Raw["headers"])["Idempotency-Replayed"] == nil {
			t.Errorf("%d must document Idempotency-Replayed: the operation takes an Idempotency-Key", status)
		}
		if status == 204 && resp.JSONSchemaPointer() != "" {
			t.Errorf("204 has no body")
		}
	}
	if idempotent {
		for _, code := range []string{"409", "422"} {
			if _, ok := responses[code]; !ok {
				t.Errorf("status %s is not documented; Idempotency-Key makes it possible", code)
			}
		}
	}
}

// TestWebSocketMessages_DocumentEverySpecEventType: §6's push types are all documented, and
// the list under x-websocket-messages is the EventType enum that history and push validate
// against.
func TestWebSocketMessages_DocumentEverySpecEventType(t *testing.T) {
	doc := load(t).doc
	ws := asMap(asMap(doc.Raw()["components"])["x-websocket-messages"])
	if asString(ws["description"]) == "" {
		t.Error("x-websocket-messages needs its description: how to connect and what arrives")
	}
	for _, k := range []string{"serverToClient", "clientToServer"} {
		if ref := asString(asMap(ws[k])["$ref"]); ref == "" {
			t.Errorf("x-websocket-messages.%s must reference a schema", k)
		} else if _, err := doc.Lookup(ref); err != nil {
			t.Error(err)
		}
	}
	listed := toStrings(asSlice(ws["eventTypes"]))
	enum, err := doc.Lookup("#/components/schemas/EventType/enum")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(listed, toStrings(asSlice(enum))) {
		t.Errorf("x-websocket-messages.eventTypes %v differ from the EventType enum %v", listed, enum)
	}
	spec := []string{"message.created", "participant.joined", "participant.left", "invitation.created",
		"invitation.accepted", "invitation.declined", "invitation.redeemed", "invitation.revoked",
		"invitation.expired", "invitation.taken", "conversation.forwarded", "conversation.assigned"}
	for _, typ := range spec {
		if !slices.Contains(listed, typ) {
			t.Errorf("SPEC §6 event type %s is not documented", typ)
		}
	}
}

// walk calls fn for every object in v, with its JSON pointer.
func walk(v any, at string, fn func(at string, m map[string]any)) {
	switch c := v.(type) {
	case map[string]any:
		fn(at, c)
		for k, child := range c {
			walk(child, at+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k), fn)
		}
	case []any:
		for i, child := range c {
			walk(child, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

// resolved follows a Reference Object.
func resolved(t *testing.T, doc *openapi.Document, v any) map[string]any {
	t.Helper()
	for range 8 {
		m := asMap(v)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		target, err := doc.Lookup(ref)
		if err != nil {
			t.Fatal(err)
		}
		v = target
	}
	t.Fatal("too many nested references")
	return nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func toStrings(v []any) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = asString(s)
	}
	return out
}
