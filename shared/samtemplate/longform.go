package samtemplate

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// intrinsicNames maps each CloudFormation short-form tag to the key of its long form. Anything
// else with a "!" tag is an error: CloudFormation would reject it too, and guessing hides typos.
var intrinsicNames = map[string]string{
	"!Ref":         "Ref",
	"!Condition":   "Condition",
	"!GetAtt":      "Fn::GetAtt",
	"!Sub":         "Fn::Sub",
	"!Join":        "Fn::Join",
	"!If":          "Fn::If",
	"!Select":      "Fn::Select",
	"!Split":       "Fn::Split",
	"!Equals":      "Fn::Equals",
	"!Not":         "Fn::Not",
	"!And":         "Fn::And",
	"!Or":          "Fn::Or",
	"!FindInMap":   "Fn::FindInMap",
	"!GetAZs":      "Fn::GetAZs",
	"!ImportValue": "Fn::ImportValue",
	"!Base64":      "Fn::Base64",
	"!Cidr":        "Fn::Cidr",
}

// longForm turns a YAML node into plain Go values (map[string]any, []any, string, int, float64,
// bool, nil), rewriting short-form intrinsic tags into the long form CloudFormation's JSON
// syntax uses, so that the result can be marshalled to JSON and validated like a JSON template.
func longForm(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return longForm(n.Content[0])
	case yaml.AliasNode:
		return longForm(n.Alias)
	}
	tag := n.ShortTag()
	if !strings.HasPrefix(tag, "!!") {
		return intrinsic(tag, n)
	}
	return plain(n)
}

// plain converts an untagged (or standard-tagged) node.
func plain(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		return mapping(n)
	case yaml.SequenceNode:
		return sequence(n)
	default:
		if n.ShortTag() == "!!timestamp" {
			// CloudFormation has no date type: an unquoted 2010-09-09 is the string the
			// author wrote, not a time.Time.
			return n.Value, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
}

func mapping(n *yaml.Node) (map[string]any, error) {
	m := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: mapping keys must be scalars", k.Line)
		}
		// yaml.v3 only reports duplicate keys when decoding into Go maps, not into nodes;
		// CloudFormation rejects them, and silently keeping the last one hides mistakes.
		if _, dup := m[k.Value]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
		}
		val, err := longForm(v)
		if err != nil {
			return nil, err
		}
		m[k.Value] = val
	}
	return m, nil
}

func sequence(n *yaml.Node) ([]any, error) {
	s := make([]any, 0, len(n.Content))
	for _, c := range n.Content {
		v, err := longForm(c)
		if err != nil {
			return nil, err
		}
		s = append(s, v)
	}
	return s, nil
}

// intrinsic converts a node carrying a short-form tag such as !Ref or !GetAtt.
func intrinsic(tag string, n *yaml.Node) (any, error) {
	name, ok := intrinsicNames[tag]
	if !ok {
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, tag)
	}
	var arg any
	var err error
	if n.Kind == yaml.ScalarNode {
		// The tag replaces the scalar's type, so the text is always the argument itself:
		// "!Ref 123" names the logical id "123", not the number.
		arg = n.Value
	} else {
		arg, err = plain(n)
		if err != nil {
			return nil, err
		}
	}
	if tag == "!GetAtt" {
		arg, err = getAttArgs(n, arg)
		if err != nil {
			return nil, err
		}
	}
	return map[string]any{name: arg}, nil
}

// getAttArgs accepts both "Resource.Attribute" and [Resource, Attribute]. Only the first dot
// separates: attribute names can contain dots themselves (Endpoint.Address).
func getAttArgs(n *yaml.Node, arg any) (any, error) {
	s, ok := arg.(string)
	if !ok {
		return arg, nil
	}
	resource, attribute, found := strings.Cut(s, ".")
	if !found || resource == "" || attribute == "" {
		return nil, fmt.Errorf("line %d: !GetAtt %q is not of the form Resource.Attribute", n.Line, s)
	}
	return []any{resource, attribute}, nil
}
