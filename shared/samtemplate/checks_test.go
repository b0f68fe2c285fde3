package samtemplate_test

// Tests of the repository checks in template_test.go: a check that cannot fail protects nothing.

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

func TestPolicyChecks(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(`
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - AWSLambdaBasicExecutionRole
        - AmazonDynamoDBFullAccess
        - DynamoDBCrudPolicy: {TableName: !Ref Table}
        - DynamoDBReadPolicy: {TableName: other-table}
        - SQSSendMessagePolicy: {QueueName: "*"}
        - Statement:
            - {Effect: Allow, Action: dynamodb:GetItem, Resource: !GetAtt Table.Arn}
            - {Effect: Allow, Action: [cloudwatch:PutMetricData], Resource: "*"}
            - {Effect: Allow, Action: [ses:SendEmail], Resource: "*"}
            - {Effect: Allow, Action: "dynamodb:*", Resource: !GetAtt Table.Arn}
            - {Effect: Allow, NotAction: iam:*, Resource: !GetAtt Table.Arn}
            - {Effect: Deny, Action: "*", Resource: "*"}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range tpl.Functions()[0].Policies {
		got = append(got, policyProblems(tpl, p)...)
	}
	want := []string{
		"managed policy AmazonDynamoDBFullAccess grants more than the function needs",
		"DynamoDBReadPolicy: TableName = other-table, want !Ref to the template's table",
		`SQSSendMessagePolicy: QueueName is "*"`,
		`action ses:sendemail on Resource "*"`,
		`action "dynamodb:*" grants a whole service`,
		"uses NotAction",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("problem %d = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

func TestEnvReadsFollowTheCallGraph(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.24\n",
		"shared/config/config.go": `package config

import "os"

func String(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
`,
		"shared/setup/setup.go": `package setup

import (
	"os"

	cfg "example.com/m/shared/config"
)

const TableVar = "TABLE_NAME"

var level = os.Getenv("LOG_LEVEL") // read at start-up by every importer

type Deps struct{}

func (Deps) Store() string { return cfg.String(TableVar, "") }

func (Deps) Mail() string { return cfg.String("MAIL_FROM", "") } // no caller

type Publisher interface{ Publish() }

type pusher struct{}

func (pusher) Publish() { _, _ = os.LookupEnv("PUSH_URL") }

func (Deps) Publisher() Publisher { return pusher{} }

func Later() func() string { return func() string { return os.Getenv("IN_CLOSURE") } }

func computed() string { return os.Getenv(level + "_X") }

// Constructors is used by nobody: the functions it lists are not reached through it.
var Constructors = map[string]func() string{"mail": Deps{}.Mail, "lit": func() string { return os.Getenv("IN_UNUSED_TABLE") }}

var handlers = map[string]func() string{"store": Deps{}.Store, "lit": func() string { return os.Getenv("IN_USED_TABLE") }}

var fromInit = cfg.String("CALLED_AT_INIT", "")

func Handler(name string) func() string { return handlers[name] }

func lower() string { return os.Getenv("not_a_variable") }
`,
		"functions/start/main.go": `package main

import "example.com/m/shared/setup"

func main() {
	d := setup.Deps{}
	_ = d.Store()
	d.Publisher().Publish()
	handler := setup.Later()
	_ = handler
	_ = setup.Handler("store")
}
`,
	}
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	got := envReadsByFolder(t, dir)

	want := map[string]map[string]string{"functions/start": {
		"LOG_LEVEL":      "shared/setup/setup.go:11",
		"TABLE_NAME":     "shared/setup/setup.go:15",
		"PUSH_URL":       "shared/setup/setup.go:23",
		"IN_CLOSURE":     "shared/setup/setup.go:27",
		"IN_USED_TABLE":  "shared/setup/setup.go:34",
		"CALLED_AT_INIT": "shared/setup/setup.go:36",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestReferenceChecksCatchUndeclaredNames(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(`
Parameters: {Stage: {Type: String}}
Conditions: {IsProd: !Equals [!Ref Stage, prod]}
Resources:
  Fn: {Type: AWS::Serverless::Function}
  Api: {Type: AWS::Serverless::HttpApi}
Outputs:
  A: {Value: !Sub "${Api}/${Stage}/${AWS::Region}/${!Literal}/${Fn.Arn}/${FnRole.Arn}"}
  B: {Value: !If [IsProd, !Ref Missing1, !GetAtt Missing2.Arn]}
  C: {Value: !Sub ["${Local}/${Missing3}", {Local: x}]}
  D: {Condition: Missing4, Value: !If [Missing5, a, b]}
`))
	if err != nil {
		t.Fatal(err)
	}
	refs := referables(tpl)
	var rec recorder
	walk(tpl.Raw(), func(m map[string]any) { checkReferences(&rec, m, refs) })
	got := rec.errors
	for _, missing := range []string{"Missing1", "Missing2", "Missing3", "Missing4", "Missing5"} {
		if !strings.Contains(strings.Join(got, "\n"), missing) {
			t.Errorf("%s not reported; got:\n%s", missing, strings.Join(got, "\n"))
		}
	}
	if len(got) != 5 {
		t.Errorf("got %d problems, want 5:\n%s", len(got), strings.Join(got, "\n"))
	}
}

type recorder struct{ errors []string }

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
