package samtemplate

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// samSchema is the vendored SAM template schema; see schema/README.md for its source.
//
//go:embed schema/sam.schema.json
var samSchema []byte

const samSchemaURL = "https://github.com/aws/serverless-application-model/schema_source/sam.schema.json"

var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(samSchema))
	if err != nil {
		return nil, fmt.Errorf("read SAM schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseRegexpEngine(regexpEngine)
	if err := c.AddResource(samSchemaURL, doc); err != nil {
		return nil, fmt.Errorf("load SAM schema: %w", err)
	}
	s, err := c.Compile(samSchemaURL)
	if err != nil {
		return nil, fmt.Errorf("compile SAM schema: %w", err)
	}
	return s, nil
})

// Validate checks the template against the SAM schema. The error lists one line per problem,
// each with the JSON pointer of the offending value.
func (t *Template) Validate() error {
	schema, err := compiledSchema()
	if err != nil {
		return err
	}
	// Round-trip through JSON so the validator sees JSON types (float64 numbers, not int).
	data, err := json.Marshal(t.doc)
	if err != nil {
		return fmt.Errorf("template as JSON: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("template as JSON: %w", err)
	}
	err = schema.Validate(inst)
	if ve, ok := err.(*jsonschema.ValidationError); ok {
		return fmt.Errorf("the template does not match the SAM schema:\n%s", strings.Join(problems(ve), "\n"))
	}
	return err
}

// problems flattens a validation error tree into its leaves. Every resource is checked against
// "any of" the resource kinds, so a mistake in a function also fails the HttpApi, Table, …
// alternatives; those alternatives are recognised by their complaint about the resource's Type
// and dropped, leaving the errors of the kind the resource actually declares.
func problems(e *jsonschema.ValidationError) []string {
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		causes := e.Causes
		if len(causes) > 1 {
			causes = withoutWrongType(e.InstanceLocation, causes)
		}
		if len(causes) == 0 {
			out = append(out, "  "+e.Error())
			return
		}
		for _, c := range causes {
			walk(c)
		}
	}
	walk(e)
	slices.Sort(out)
	return slices.Compact(out)
}

func withoutWrongType(at []string, causes []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	typePath := append(slices.Clone(at), "Type")
	var kept []*jsonschema.ValidationError
	for _, c := range causes {
		if !complainsAt(c, typePath) {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return causes
	}
	return kept
}

func complainsAt(e *jsonschema.ValidationError, path []string) bool {
	if len(e.Causes) == 0 {
		return slices.Equal(e.InstanceLocation, path)
	}
	return slices.ContainsFunc(e.Causes, func(c *jsonschema.ValidationError) bool { return complainsAt(c, path) })
}

// negativePrefix matches the one kind of pattern in the SAM schema that Go's RE2 engine cannot
// compile: "^(?!PREFIX).+$", meaning "a non-empty string not starting with PREFIX" (used to send
// any non-SAM resource type to the generic resource definition).
var negativePrefix = regexp.MustCompile(`^\^\(\?!([^()\\|*+?.^$\[\]{}]+)\)\.\+\$$`)

func regexpEngine(pattern string) (jsonschema.Regexp, error) {
	if m := negativePrefix.FindStringSubmatch(pattern); m != nil {
		return notPrefix{pattern: pattern, prefix: m[1]}, nil
	}
	return regexp.Compile(pattern)
}

type notPrefix struct{ pattern, prefix string }

func (p notPrefix) String() string { return p.pattern }

func (p notPrefix) MatchString(s string) bool {
	return s != "" && !strings.Contains(s, "\n") && !strings.HasPrefix(s, p.prefix)
}
