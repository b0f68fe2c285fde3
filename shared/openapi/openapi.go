// Package openapi reads the repository's OpenAPI description of the HTTP API (openapi.yaml at
// the root) and checks HTTP requests and answers against it, so that tests can hold the
// document to what the handlers really do: its operations against template.yaml's routes, its
// schemas against real request and response bodies.
//
// The checks against the document are libopenapi-validator's (github.com/pb33f/libopenapi-validator;
// OpenAPI 3.1, JSON Schema 2020-12): status, parameters, credentials, headers, content type
// and body. Tried on the scenario's real answers (343) and on broken copies of them, it makes
// every check the santhosh-tekuri/jsonschema code it replaced made — if/then, const and $ref
// siblings included — and checks_test.go keeps that so. It is for tests only: no function
// links it. What is left here is what it does not do:
//   - closed objects: its strict mode reports every property of an event's data as
//     undeclared (it does not look into if/then), so closeObjects closes a copy of the
//     document and that copy is handed over;
//   - no body where the document gives none: a 204 with a body passes it;
//   - an error's code must be one its response's description lists (not an OpenAPI notion);
//   - every schema compiled up front: it compiles a schema when a request first reaches
//     it, and its ValidateDocument accepts `type: objekt` or a pattern that is no regular
//     expression. (A malformed keyword in a schema that no other schema references, such as
//     `required: text`, still passes, as the library renders such a schema from its model;
//     Redocly's lint in make test refuses it.)
package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"
	"gopkg.in/yaml.v3"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

// File is the document's path in the repository.
const File = "openapi.yaml"

// Methods are the HTTP methods an OpenAPI path item may describe, in the spec's order.
var Methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Document is a parsed OpenAPI description in JSON types (map[string]any, []any, float64, …).
type Document struct {
	root map[string]any
}

// LoadRepo reads the repository's document.
func LoadRepo() (*Document, error) {
	path, err := samtemplate.FindRepoFile(File)
	if err != nil {
		return nil, err
	}
	return Load(path)
}

// Load reads a document from a YAML (or JSON) file.
func Load(path string) (*Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	d, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("openapi: %s: %w", path, err)
	}
	return d, nil
}

// Parse reads a document from YAML text. YAML is decoded and re-encoded as JSON so that what
// the schema compiler sees is exactly what a JSON client of the document would see.
func Parse(data []byte) (*Document, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		// yaml.v3 only yields non-string keys for YAML mappings keyed by numbers or the like,
		// which OpenAPI never uses (status codes must be quoted).
		return nil, fmt.Errorf("the document is not representable as JSON: %w", err)
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("the document is not a mapping: %w", err)
	}
	return &Document{root: root}, nil
}

// Raw is the whole document. It is the document's own data: callers must not modify it.
func (d *Document) Raw() map[string]any { return d.root }

// Operation is one method of one path.
type Operation struct {
	Method string // upper case, as in template.yaml
	Path   string
	ID     string // operationId
	// Function is x-sam-function: the template logical id of the function serving it.
	Function string
	Raw      map[string]any
}

// Operations returns every operation sorted by path, then method.
func (d *Document) Operations() []Operation {
	var ops []Operation
	paths := asMap(d.root["paths"])
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item := asMap(paths[path])
		for _, m := range Methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			ops = append(ops, Operation{
				Method: strings.ToUpper(m), Path: path, Raw: op,
				ID: asString(op["operationId"]), Function: asString(op["x-sam-function"]),
			})
		}
	}
	return ops
}

// Operation finds the operation of a method and path, as the template writes them.
func (d *Document) Operation(method, path string) (Operation, bool) {
	for _, op := range d.Operations() {
		if op.Method == strings.ToUpper(method) && op.Path == path {
			return op, true
		}
	}
	return Operation{}, false
}

// Lookup resolves a local reference ("#/components/schemas/Error") to the value it names.
func (d *Document) Lookup(ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("openapi: %q is not a reference into this document", ref)
	}
	var v any = d.root
	if ptr == "" {
		return v, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("openapi: %q is not a JSON pointer", ref)
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := v.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("openapi: %s: no %q", ref, tok)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("openapi: %s: no index %q", ref, tok)
			}
			v = c[i]
		default:
			return nil, fmt.Errorf("openapi: %s: %q is below a scalar", ref, tok)
		}
	}
	return v, nil
}

// resolve follows an OpenAPI Reference Object ({"$ref": "#/components/…"}) to its target;
// anything else is returned as it is. It also returns the JSON pointer of what it returns.
func (d *Document) resolve(v any, at string) (map[string]any, string, error) {
	for range 8 { // references to references are allowed, cycles are not
		m, ok := v.(map[string]any)
		if !ok {
			return nil, at, fmt.Errorf("openapi: %s is not an object", at)
		}
		ref, isRef := m["$ref"].(string)
		if !isRef {
			return m, at, nil
		}
		target, err := d.Lookup(ref)
		if err != nil {
			return nil, at, err
		}
		v, at = target, strings.TrimPrefix(ref, "#")
	}
	return nil, at, fmt.Errorf("openapi: %s: too many nested references", at)
}

// Response is an operation's answer for one status, its references followed.
type Response struct {
	Pointer string // JSON pointer of the response object
	Raw     map[string]any
}

// Response returns the documented answer of an operation for a status. A status the
// operation does not list is an error: the document must name every status a route answers.
func (d *Document) Response(method, path string, status int) (Response, error) {
	op, ok := d.Operation(method, path)
	if !ok {
		return Response{}, fmt.Errorf("openapi: no operation %s %s", method, path)
	}
	code := strconv.Itoa(status)
	v, ok := asMap(op.Raw["responses"])[code]
	if !ok {
		return Response{}, fmt.Errorf("openapi: %s %s (%s) does not document status %d", method, path, op.ID, status)
	}
	m, at, err := d.resolve(v, operationPointer(op)+"/responses/"+code)
	if err != nil {
		return Response{}, err
	}
	return Response{Pointer: at, Raw: m}, nil
}

// errorCodeLine is one line of an error response's description that lists stable codes:
// "- `code`: when" or "- `code_a`, `code_b`: when".
var (
	errorCodeLine = regexp.MustCompile("^\\s*- (`[a-z0-9_]+`(?:, `[a-z0-9_]+`)*):")
	backticked    = regexp.MustCompile("`([a-z0-9_]+)`")
)

// ErrorCodes are the stable error codes a response's description lists. Descriptions are the
// one place codes are written down, so that people reading the rendered document see them.
func (r Response) ErrorCodes() []string {
	var codes []string
	for _, line := range strings.Split(asString(r.Raw["description"]), "\n") {
		if m := errorCodeLine.FindStringSubmatch(line); m != nil {
			for _, c := range backticked.FindAllStringSubmatch(m[1], -1) {
				codes = append(codes, c[1])
			}
		}
	}
	return codes
}

// JSONSchemaPointer is the pointer of the response's application/json schema, "" if the
// response has no body.
func (r Response) JSONSchemaPointer() string {
	if _, ok := asMap(asMap(r.Raw["content"])["application/json"])["schema"]; !ok {
		return ""
	}
	return r.Pointer + "/content/application~1json/schema"
}

func operationPointer(op Operation) string {
	return "/paths/" + escape(op.Path) + "/" + strings.ToLower(op.Method)
}

func escape(tok string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(tok)
}

// Validator checks requests and answers against the document.
type Validator struct {
	doc     *Document
	model   *v3.Document
	lib     validator.Validator
	options *config.ValidationOptions
	schemas map[string]*base.Schema // every schema of the model, by JSON pointer
}

// Options change how the document's schemas are compiled.
type Options struct {
	// ClosedObjects compiles every object schema that lists its properties as if it said
	// additionalProperties: false. The document leaves response objects open, so that
	// clients ignore fields added later; tests close them, so that a field a handler starts
	// sending fails until it is documented.
	ClosedObjects bool
}

// Compile builds the validator and compiles every schema of the document: those of
// components, and those written inline for parameters, headers, request bodies and
// responses. A schema that does not compile, or a $ref that does not resolve, is an error.
func (d *Document) Compile(o Options) (*Validator, error) {
	root := d.root
	if o.ClosedObjects {
		root = closeObjects(deepCopy(d.root), false).(map[string]any)
	}
	raw, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	cfg := datamodel.NewDocumentConfiguration()
	cfg.Logger = slog.New(slog.DiscardHandler) // what it would log, BuildV3Model returns
	doc, err := libopenapi.NewDocumentWithConfiguration(raw, cfg)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	// Formats (date-time, uri) are annotations by default in 2020-12; asserting them makes
	// "format: date-time" a promise the checks hold. A body sent to an operation that
	// declares none is refused, as the handlers refuse it.
	opts := []config.Option{config.WithFormatAssertions(), config.WithRejectUndeclaredRequestBody()}
	v := &Validator{
		doc: d, model: &model.Model, options: config.NewValidationOptions(opts...),
		lib: validator.NewValidatorFromV3Model(&model.Model, opts...),
	}
	return v, v.compileAll()
}

// compileAll compiles every schema of the model, so that one no request reaches is checked
// too.
func (v *Validator) compileAll() error {
	proxies := modelSchemas(v.model)
	v.schemas = make(map[string]*base.Schema, len(proxies))
	version := helpers.VersionToFloat(v.model.Version)
	var errs []error
	for _, ptr := range slices.Sorted(maps.Keys(proxies)) {
		s, err := proxies[ptr].BuildSchema()
		if err == nil {
			v.schemas[ptr] = s
			// Compiled as a body is, from the document's own nodes: the library's other
			// way renders the schema from its model first, which quietly drops a malformed
			// keyword such as `required: text`.
			_, err = schema_validation.CompileSchemaForValidation(s, schema_validation.SchemaValidationPurposeResponseBody, v.options, version)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("openapi: schema %s: %w", ptr, err))
		}
	}
	return errors.Join(errs...)
}

// Schemas counts the schemas compiled: one per place OpenAPI puts a schema.
func (v *Validator) Schemas() int { return len(v.schemas) }

// modelSchemas lists the schemas of the model where OpenAPI puts them (not the subschemas
// inside them, which compile with their parent), by their JSON pointer in the document. A
// $ref'd parameter, header or response appears both where it is defined and where it is used.
func modelSchemas(m *v3.Document) map[string]*base.SchemaProxy {
	out := map[string]*base.SchemaProxy{}
	add := func(at string, s *base.SchemaProxy) {
		if s != nil {
			out[at] = s
		}
	}
	content := func(at string, c *orderedmap.Map[string, *v3.MediaType]) {
		for mt, m := range c.FromOldest() {
			add(at+"/content/"+escape(mt)+"/schema", m.Schema)
		}
	}
	response := func(at string, r *v3.Response) {
		content(at, r.Content)
		for name, h := range r.Headers.FromOldest() {
			add(at+"/headers/"+escape(name)+"/schema", h.Schema)
		}
	}
	if c := m.Components; c != nil {
		for name, s := range c.Schemas.FromOldest() {
			add("/components/schemas/"+escape(name), s)
		}
		for name, p := range c.Parameters.FromOldest() {
			add("/components/parameters/"+escape(name)+"/schema", p.Schema)
		}
		for name, h := range c.Headers.FromOldest() {
			add("/components/headers/"+escape(name)+"/schema", h.Schema)
		}
		for name, r := range c.Responses.FromOldest() {
			response("/components/responses/"+escape(name), r)
		}
	}
	if m.Paths == nil {
		return out
	}
	for path, item := range m.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			at := "/paths/" + escape(path) + "/" + strings.ToLower(method)
			for i, p := range op.Parameters {
				add(at+"/parameters/"+strconv.Itoa(i)+"/schema", p.Schema)
			}
			if op.RequestBody != nil {
				content(at+"/requestBody", op.RequestBody.Content)
			}
			if op.Responses != nil {
				for code, r := range op.Responses.Codes.FromOldest() {
					response(at+"/responses/"+code, r)
				}
			}
		}
	}
	return out
}

// CheckRequest checks a request against its operation: path, query and header parameters,
// the credentials its security asks for, and the body — none where it takes none.
func (v *Validator) CheckRequest(r *http.Request) error {
	if ok, errs := v.lib.ValidateHttpRequest(r); !ok {
		return fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, libErrors(errs))
	}
	return nil
}

// CheckResponse checks an answer to r: its status must be documented, its documented
// headers present and valid, its content type and body valid against the documented schema
// (and the body absent when none is documented), and an error's code one the response lists.
func (v *Validator) CheckResponse(r *http.Request, resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("openapi: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var errs []error
	if ok, lerrs := v.lib.ValidateHttpResponse(r, resp); !ok {
		errs = append(errs, libErrors(lerrs))
	}
	// An undocumented status or path is the library's finding already.
	if _, _, route := paths.FindPath(r, v.model, v.options); route != "" {
		if documented, err := v.doc.Response(r.Method, route, resp.StatusCode); err == nil {
			errs = append(errs, checkBody(documented, resp.StatusCode, body))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s %s: status %d: %w", r.Method, r.URL.Path, resp.StatusCode, err)
	}
	return nil
}

// checkBody refuses a body where the response documents none (the library lets it pass),
// and holds error answers to the codes their response lists.
func checkBody(resp Response, status int, body []byte) error {
	if resp.JSONSchemaPointer() == "" {
		if len(bytes.TrimSpace(body)) > 0 {
			return fmt.Errorf("a body, but the document says none: %s", body)
		}
		return nil
	}
	if status < 400 {
		return nil
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return err
	}
	if !slices.Contains(resp.ErrorCodes(), e.Error.Code) {
		return fmt.Errorf("error code %q is not listed in the response's description (%s lists %v)",
			e.Error.Code, resp.Pointer, resp.ErrorCodes())
	}
	return nil
}

// ValidateJSON checks a JSON value against the schema at ptr: a component
// ("/components/schemas/…") or any other place OpenAPI puts a schema
// ("/paths/~1join~1pin/post/requestBody/content/application~1json/schema").
func (v *Validator) ValidateJSON(ptr string, body []byte) error {
	s, ok := v.schemas[ptr]
	if !ok {
		return fmt.Errorf("openapi: no schema at %s", ptr)
	}
	if ok, errs := schema_validation.NewSchemaValidator(config.WithExistingOpts(v.options)).ValidateSchemaBytes(s, body); !ok {
		return fmt.Errorf("does not match %s: %w\nbody: %s", ptr, libErrors(errs), body)
	}
	return nil
}

// libErrors joins the library's findings, each with its reasons and the place in the value.
// Line numbers are left out: they are the handed-over copy's, not openapi.yaml's.
func libErrors(errs []*liberrors.ValidationError) error {
	var out []error
	for _, e := range errs {
		msg := e.Message + ": " + e.Reason
		for _, f := range e.SchemaValidationErrors {
			msg += "\n  - " + f.Reason
			if f.FieldPath != "" {
				msg += " at " + f.FieldPath
			}
		}
		out = append(out, errors.New(msg))
	}
	return errors.Join(out...)
}

// closeObjects adds additionalProperties: false to every schema that says it is an object
// and lists its properties, unless it decides about other properties itself. Schemas without
// "type": "object" are left open on purpose: the if/then parts of a composition constrain one
// property each and must not refuse the others. inSchema tells whether v is inside a schema
// (only there are "properties" schema keywords rather than, say, a property named so).
func closeObjects(v any, inSchema bool) any {
	switch c := v.(type) {
	case map[string]any:
		if inSchema && isObjectSchema(c) {
			_, add := c["additionalProperties"]
			_, uneval := c["unevaluatedProperties"]
			if _, props := c["properties"]; props && !add && !uneval {
				c["additionalProperties"] = false
			}
		}
		for k, child := range c {
			c[k] = closeObjects(child, inSchema || k == "schema" || k == "schemas")
		}
	case []any:
		for i, child := range c {
			c[i] = closeObjects(child, inSchema)
		}
	}
	return v
}

func isObjectSchema(m map[string]any) bool {
	switch t := m["type"].(type) {
	case string:
		return t == "object"
	case []any:
		return slices.Contains(t, any("object"))
	}
	return false
}

func deepCopy(v any) any {
	switch c := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(c))
		for k, child := range c {
			out[k] = deepCopy(child)
		}
		return out
	case []any:
		out := make([]any, len(c))
		for i, child := range c {
			out[i] = deepCopy(child)
		}
		return out
	}
	return v
}

// asMap and asString read loosely typed document values; a missing or differently
// typed value reads as empty, which the structural checks then report where it matters.
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}
