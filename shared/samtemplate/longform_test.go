package samtemplate

import (
	"reflect"
	"strings"
	"testing"
)

// parseValue parses "V: <yaml>" and returns V in long form.
func parseValue(t *testing.T, yamlValue string) any {
	t.Helper()
	tpl, err := Parse([]byte("V: " + yamlValue))
	if err != nil {
		t.Fatalf("Parse(%q): %v", yamlValue, err)
	}
	return tpl.Raw()["V"]
}

func TestShortFormTagsBecomeLongForm(t *testing.T) {
	tests := []struct {
		yaml string
		want any
	}{
		{`!Ref Table`, map[string]any{"Ref": "Table"}},
		{`!Ref AWS::Region`, map[string]any{"Ref": "AWS::Region"}},
		{`!GetAtt Fn.Arn`, map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}},
		{`!GetAtt Db.Endpoint.Address`, map[string]any{"Fn::GetAtt": []any{"Db", "Endpoint.Address"}}},
		{`!GetAtt [Fn, Arn]`, map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}},
		{`!Sub "arn:${AWS::Partition}:x"`, map[string]any{"Fn::Sub": "arn:${AWS::Partition}:x"}},
		{`!Sub ["${A}-b", {A: !Ref Stage}]`, map[string]any{"Fn::Sub": []any{"${A}-b", map[string]any{"A": map[string]any{"Ref": "Stage"}}}}},
		{`!Join ["", [a, !Ref B]]`, map[string]any{"Fn::Join": []any{"", []any{"a", map[string]any{"Ref": "B"}}}}},
		{`!If [IsProd, 1, !Ref AWS::NoValue]`, map[string]any{"Fn::If": []any{"IsProd", 1, map[string]any{"Ref": "AWS::NoValue"}}}},
		{`!Select [0, !Split [",", !Ref L]]`, map[string]any{"Fn::Select": []any{0, map[string]any{"Fn::Split": []any{",", map[string]any{"Ref": "L"}}}}}},
		{`!Equals [!Ref Stage, prod]`, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Stage"}, "prod"}}},
		{`!Not [!Condition IsProd]`, map[string]any{"Fn::Not": []any{map[string]any{"Condition": "IsProd"}}}},
		{`!And [!Condition A, !Condition B]`, map[string]any{"Fn::And": []any{map[string]any{"Condition": "A"}, map[string]any{"Condition": "B"}}}},
		{`!Or [!Condition A, !Condition B]`, map[string]any{"Fn::Or": []any{map[string]any{"Condition": "A"}, map[string]any{"Condition": "B"}}}},
		{`!FindInMap [M, !Ref Stage, K]`, map[string]any{"Fn::FindInMap": []any{"M", map[string]any{"Ref": "Stage"}, "K"}}},
		{`!GetAZs ""`, map[string]any{"Fn::GetAZs": ""}},
		{`!ImportValue Shared-Vpc`, map[string]any{"Fn::ImportValue": "Shared-Vpc"}},
		{`!ImportValue {"Fn::Sub": "${S}-Vpc"}`, map[string]any{"Fn::ImportValue": map[string]any{"Fn::Sub": "${S}-Vpc"}}},
		{`!Base64 hello`, map[string]any{"Fn::Base64": "hello"}},
		{`!Cidr [10.0.0.0/16, 4, 8]`, map[string]any{"Fn::Cidr": []any{"10.0.0.0/16", 4, 8}}},
		// A tag fixes the scalar's meaning: the argument stays text even when it looks like a number.
		{`!Ref 123`, map[string]any{"Ref": "123"}},
		// Long form written out by hand passes through unchanged.
		{`{"Fn::GetAtt": [Fn, Arn]}`, map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			if got := parseValue(t, tt.yaml); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestBlockScalarsAndNestedTags(t *testing.T) {
	tpl, err := Parse([]byte(`
Resources:
  Fn:
    Properties:
      Code: !Sub |
        line ${A}
      Policies:
        - Statement:
            - Resource: !Sub
                - "${T}/index/*"
                - T: !GetAtt Table.Arn
`))
	if err != nil {
		t.Fatal(err)
	}
	props := tpl.Raw()["Resources"].(map[string]any)["Fn"].(map[string]any)["Properties"].(map[string]any)
	if got, want := props["Code"], map[string]any{"Fn::Sub": "line ${A}\n"}; !reflect.DeepEqual(got, want) {
		t.Errorf("block scalar: got %#v, want %#v", got, want)
	}
	stmt := props["Policies"].([]any)[0].(map[string]any)["Statement"].([]any)[0].(map[string]any)
	want := map[string]any{"Fn::Sub": []any{"${T}/index/*", map[string]any{"T": map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}}}}
	if !reflect.DeepEqual(stmt["Resource"], want) {
		t.Errorf("nested: got %#v, want %#v", stmt["Resource"], want)
	}
}

func TestPlainScalarsKeepTheirYAMLTypes(t *testing.T) {
	tpl, err := Parse([]byte("AWSTemplateFormatVersion: 2010-09-09\nA: 10\nB: true\nC: \"10\"\nD: ~\nE: [arm64]\nF: &x {k: v}\nG: *x\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"A":                        10,
		"B":                        true,
		"C":                        "10",
		"D":                        nil,
		"E":                        []any{"arm64"},
		"F":                        map[string]any{"k": "v"},
		"G":                        map[string]any{"k": "v"},
	}
	if got := tpl.Raw(); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
}

func TestParseRejects(t *testing.T) {
	tests := map[string]struct{ yaml, wantErr string }{
		"unknown tag":        {"V: !Reff Table\n", "line 1: unknown tag !Reff"},
		"GetAtt without dot": {"V: !GetAtt Table\n", `line 1: !GetAtt "Table" is not of the form Resource.Attribute`},
		"duplicate key":      {"A: 1\nB: 2\nA: 3\n", `line 3: duplicate key "A"`},
		"not a mapping":      {"- a\n", "not a mapping"},
		"bad YAML":           {"A: [\n", "parse template"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.yaml, err, tt.wantErr)
			}
		})
	}
}
