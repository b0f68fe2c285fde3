// Package openapi reads the repository's OpenAPI description of the HTTP API (openapi.yaml at
// the root) and checks HTTP answers against it, so that tests can hold the document to what
// the handlers really do: its operations against template.yaml's routes, its schemas against
// real request and response bodies.
//
// OpenAPI 3.1 schema objects are JSON Schema 2020-12, so the whole document is handed to the
// JSON Schema compiler as one resource and each schema is compiled by its JSON pointer; the
// "#/components/schemas/…" references then resolve inside the document as they are written.
package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
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

// Validator checks bodies and headers against the document's schemas.
type Validator struct {
	doc      *Document
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema // by JSON pointer
}

// documentURL names the document as a JSON Schema resource; only the compiler sees it.
const documentURL = "https://invite-forward.invalid/openapi.json"

// Options change how the document's schemas are compiled.
type Options struct {
	// ClosedObjects compiles every object schema that lists its properties as if it said
	// additionalProperties: false. The document leaves response objects open, so that
	// clients ignore fields added later; tests close them, so that a field a handler starts
	// sending fails until it is documented.
	ClosedObjects bool
}

// Compile compiles every schema of the document: those of components, and those written
// inline for parameters, headers, request bodies and responses. Any schema that does not
// compile, or a $ref that does not resolve, is an error.
func (d *Document) Compile(o Options) (*Validator, error) {
	root := d.root
	if o.ClosedObjects {
		root = closeObjects(deepCopy(d.root), false).(map[string]any)
	}
	raw, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// Formats (date-time, uri) are annotations by default in 2020-12; asserting them makes
	// "format: date-time" a promise the test checks.
	c.AssertFormat()
	if err := c.AddResource(documentURL, doc); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	v := &Validator{doc: d, compiler: c, schemas: map[string]*jsonschema.Schema{}}
	var errs []error
	for _, ptr := range d.SchemaPointers() {
		if _, err := v.schema(ptr); err != nil {
			errs = append(errs, err)
		}
	}
	return v, errors.Join(errs...)
}

func (v *Validator) schema(ptr string) (*jsonschema.Schema, error) {
	if s, ok := v.schemas[ptr]; ok {
		return s, nil
	}
	s, err := v.compiler.Compile(documentURL + "#" + ptr)
	if err != nil {
		return nil, fmt.Errorf("openapi: schema %s: %w", ptr, err)
	}
	v.schemas[ptr] = s
	return s, nil
}

// SchemaPointers lists the JSON pointer of every schema the document holds where OpenAPI
// puts schemas (not the subschemas inside them, which compile with their parent).
func (d *Document) SchemaPointers() []string {
	var out []string
	comps := asMap(d.root["components"])
	for _, name := range slices.Sorted(maps.Keys(asMap(comps["schemas"]))) {
		out = append(out, "/components/schemas/"+escape(name))
	}
	for _, kind := range []string{"parameters", "headers"} {
		for _, name := range slices.Sorted(maps.Keys(asMap(comps[kind]))) {
			out = append(out, schemaOf(asMap(comps[kind])[name], "/components/"+kind+"/"+escape(name))...)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(asMap(comps["responses"]))) {
		out = append(out, responseSchemas(asMap(comps["responses"])[name], "/components/responses/"+escape(name))...)
	}
	for _, op := range d.Operations() {
		at := operationPointer(op)
		for i, p := range asSlice(op.Raw["parameters"]) {
			out = append(out, schemaOf(p, at+"/parameters/"+strconv.Itoa(i))...)
		}
		out = append(out, contentSchemas(asMap(op.Raw["requestBody"])["content"], at+"/requestBody/content")...)
		responses := asMap(op.Raw["responses"])
		for _, code := range slices.Sorted(maps.Keys(responses)) {
			out = append(out, responseSchemas(responses[code], at+"/responses/"+code)...)
		}
	}
	return out
}

func schemaOf(v any, at string) []string {
	if _, ok := asMap(v)["schema"]; ok {
		return []string{at + "/schema"}
	}
	return nil
}

func responseSchemas(v any, at string) []string {
	out := contentSchemas(asMap(v)["content"], at+"/content")
	headers := asMap(asMap(v)["headers"])
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		out = append(out, schemaOf(headers[name], at+"/headers/"+escape(name))...)
	}
	return out
}

func contentSchemas(v any, at string) []string {
	var out []string
	content := asMap(v)
	for _, mt := range slices.Sorted(maps.Keys(content)) {
		out = append(out, schemaOf(content[mt], at+"/"+escape(mt))...)
	}
	return out
}

// CheckResponse checks one answer of an operation: its status must be documented, its
// documented headers present and valid, its body valid against the documented schema (and
// absent when none is documented), and an error's code one the response lists.
func (v *Validator) CheckResponse(method, path string, status int, headers map[string]string, body []byte) error {
	resp, err := v.doc.Response(method, path, status)
	if err != nil {
		return err
	}
	var errs []error
	if err := v.checkHeaders(resp, headers); err != nil {
		errs = append(errs, err)
	}
	ptr := resp.JSONSchemaPointer()
	switch {
	case ptr == "" && len(bytes.TrimSpace(body)) > 0:
		errs = append(errs, fmt.Errorf("status %d has a body, but the document says none: %s", status, body))
	case ptr != "":
		if err := v.validate(ptr, body); err != nil {
			errs = append(errs, fmt.Errorf("status %d: %w", status, err))
		} else if err := checkErrorCode(resp, status, body); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// checkErrorCode holds error answers to the codes their response lists.
func checkErrorCode(resp Response, status int, body []byte) error {
	if status < 400 {
		return nil
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return fmt.Errorf("status %d: %w", status, err)
	}
	if !slices.Contains(resp.ErrorCodes(), e.Error.Code) {
		return fmt.Errorf("status %d: error code %q is not listed in the response's description (%s lists %v)",
			status, e.Error.Code, resp.Pointer, resp.ErrorCodes())
	}
	return nil
}

func (v *Validator) checkHeaders(resp Response, got map[string]string) error {
	var errs []error
	documented := asMap(resp.Raw["headers"])
	for _, name := range slices.Sorted(maps.Keys(documented)) {
		h, at, err := v.doc.resolve(documented[name], resp.Pointer+"/headers/"+escape(name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		value, present := header(got, name)
		if !present {
			if h["required"] == true {
				errs = append(errs, fmt.Errorf("header %s is required but missing", name))
			}
			continue
		}
		s, err := v.schema(at + "/schema")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.Validate(value); err != nil {
			errs = append(errs, fmt.Errorf("header %s: %q: %w", name, value, err))
		}
	}
	return errors.Join(errs...)
}

func header(h map[string]string, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// CheckRequestBody checks a body an operation was sent against its documented request
// schema. An operation without a request body must be sent none.
func (v *Validator) CheckRequestBody(method, path string, body []byte) error {
	op, ok := v.doc.Operation(method, path)
	if !ok {
		return fmt.Errorf("openapi: no operation %s %s", method, path)
	}
	rb, ok := op.Raw["requestBody"]
	if !ok {
		if len(bytes.TrimSpace(body)) > 0 {
			return fmt.Errorf("%s %s takes no body, but was sent %s", method, path, body)
		}
		return nil
	}
	m, at, err := v.doc.resolve(rb, operationPointer(op)+"/requestBody")
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if m["required"] == true {
			return fmt.Errorf("%s %s: the request body is required", method, path)
		}
		return nil
	}
	if err := v.validate(at+"/content/application~1json/schema", body); err != nil {
		return fmt.Errorf("%s %s request: %w", method, path, err)
	}
	return nil
}

// ValidateJSON checks a JSON value against the schema at ptr ("/components/schemas/…").
func (v *Validator) ValidateJSON(ptr string, body []byte) error { return v.validate(ptr, body) }

func (v *Validator) validate(ptr string, body []byte) error {
	s, err := v.schema(ptr)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("body is not JSON: %w: %s", err, body)
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("body does not match %s: %w\nbody: %s", ptr, err, body)
	}
	return nil
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

// asMap, asSlice and asString read loosely typed document values; a missing or differently
// typed value reads as empty, which the structural checks then report where it matters.
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
