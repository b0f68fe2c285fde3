// Package samtemplate reads the repository's SAM template (template.yaml) so that tests and
// local tools take resource definitions from it instead of repeating them: the table's keys and
// indexes, the functions with their environment, policies and events, and the HTTP routes.
//
// The template is converted to CloudFormation's long form (the JSON syntax: {"Ref": …},
// {"Fn::GetAtt": […]}) so that callers never see YAML short-form tags.
package samtemplate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Template is a parsed SAM template in long form.
type Template struct {
	doc map[string]any
}

// Load reads and parses the template file at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// LoadRepo reads the repository's template.yaml.
func LoadRepo() (*Template, error) {
	path, err := FindRepoFile("template.yaml")
	if err != nil {
		return nil, err
	}
	return Load(path)
}

// Parse parses a template from YAML (or JSON, which is YAML) text.
func Parse(data []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	v, err := longForm(&root)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("parse template: the document is not a mapping")
	}
	return &Template{doc: doc}, nil
}

// Raw returns the whole template in long form. It is the template's own data: callers must not
// modify it.
func (t *Template) Raw() map[string]any { return t.doc }

// Resources returns the Resources section by logical id.
func (t *Template) Resources() map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range asMap(t.doc["Resources"]) {
		if m, ok := r.(map[string]any); ok {
			out[id] = m
		}
	}
	return out
}

// FindRepoFile returns the path of name relative to the repository root, the nearest directory
// at or above the working directory holding go.mod. Tests run in their package's directory, so
// this is how they find template.yaml, events/ or local/. It fails if the file does not exist.
func FindRepoFile(name string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	path := filepath.Join(root, filepath.FromSlash(name))
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("find %s in the repository: %w", name, err)
	}
	return path, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// asMap and asString read loosely typed template values; a missing or differently typed value
// reads as empty, which every caller treats as "not set".
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// dig follows a path of mapping keys.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		v = asMap(v)[k]
	}
	return v
}
