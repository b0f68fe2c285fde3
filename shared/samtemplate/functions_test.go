package samtemplate

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const sample = `
Globals:
  Function:
    CodeUri: .
    Handler: bootstrap
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        LOG_LEVEL: INFO
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - { AttributeName: pk, AttributeType: S }
        - { AttributeName: sk, AttributeType: S }
        - { AttributeName: g1, AttributeType: S }
      KeySchema:
        - { AttributeName: pk, KeyType: HASH }
        - { AttributeName: sk, KeyType: RANGE }
      GlobalSecondaryIndexes:
        - IndexName: byG1
          KeySchema: [{ AttributeName: g1, KeyType: HASH }]
          Projection: { ProjectionType: INCLUDE, NonKeyAttributes: [a, b] }
      StreamSpecification: { StreamViewType: NEW_IMAGE }
      TimeToLiveSpecification: { AttributeName: expiresAt, Enabled: true }
  Api:
    Type: AWS::Serverless::HttpApi
  StartConversationFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildMethod: makefile }
    Properties:
      Environment:
        Variables:
          LOG_LEVEL: DEBUG
          RATE: "5"
      Policies:
        DynamoDBCrudPolicy: { TableName: !Ref Table }
      Events:
        Start:
          Type: HttpApi
          Properties: { ApiId: !Ref Api, Method: post, Path: /conversations, Auth: { Authorizer: NONE } }
        Nightly:
          Type: Schedule
          Properties: { Schedule: rate(1 day) }
  GetConversationFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: other/
      Handler: main
      Policies: [AWSLambdaBasicExecutionRole]
      Events:
        Get:
          Type: HttpApi
          Properties: { ApiId: !Ref Api, Method: GET, Path: "/conversations/{id}" }
`

func mustParse(t *testing.T, text string) *Template {
	t.Helper()
	tpl, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestFunctionsApplyGlobals(t *testing.T) {
	fns := mustParse(t, sample).Functions()
	if len(fns) != 2 {
		t.Fatalf("got %d functions, want 2", len(fns))
	}
	get, start := fns[0], fns[1] // sorted by logical id

	if start.LogicalID != "StartConversationFunction" || start.CodeURI != "." || start.Handler != "bootstrap" || start.BuildMethod != "makefile" {
		t.Errorf("start: got %+v", start)
	}
	wantEnv := map[string]any{"TABLE_NAME": map[string]any{"Ref": "Table"}, "LOG_LEVEL": "DEBUG", "RATE": "5"}
	if !reflect.DeepEqual(start.Env, wantEnv) {
		t.Errorf("start env: got %v, want %v (function variables override Globals)", start.Env, wantEnv)
	}
	wantPolicies := []any{map[string]any{"DynamoDBCrudPolicy": map[string]any{"TableName": map[string]any{"Ref": "Table"}}}}
	if !reflect.DeepEqual(start.Policies, wantPolicies) {
		t.Errorf("a single policy becomes a one-item list: got %v", start.Policies)
	}
	if len(start.Events) != 2 || start.Events[0].Name != "Nightly" || start.Events[0].Type != "Schedule" || start.Events[0].Method != "" {
		t.Errorf("start events: got %+v", start.Events)
	}
	http := start.Events[1]
	if http.Method != "POST" || http.Path != "/conversations" || !reflect.DeepEqual(http.ApiID, map[string]any{"Ref": "Api"}) {
		t.Errorf("start HttpApi event: got %+v", http)
	}

	if get.CodeURI != "other/" || get.Handler != "main" || get.BuildMethod != "" {
		t.Errorf("function properties override Globals: got %+v", get)
	}
	if get.Env["LOG_LEVEL"] != "INFO" {
		t.Errorf("get env: got %v, want Globals' LOG_LEVEL", get.Env)
	}
}

func TestHTTPRoutes(t *testing.T) {
	got := mustParse(t, sample).HTTPRoutes()
	want := []Route{
		{Method: "POST", Path: "/conversations", FunctionLogicalID: "StartConversationFunction", Authorizer: "NONE"},
		{Method: "GET", Path: "/conversations/{id}", FunctionLogicalID: "GetConversationFunction", Authorizer: ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestFolderFor(t *testing.T) {
	tests := map[string]string{
		"StartConversationFunction": "functions/start-conversation",
		"HttpAuthorizerFunction":    "functions/http-authorizer",
		"GetPINFunction":            "functions/get-pin",
		"WSConnectFunction":         "functions/ws-connect",
		"Oauth2CallbackFunction":    "functions/oauth2-callback",
	}
	for id, want := range tests {
		if got := FolderFor(id); got != want {
			t.Errorf("FolderFor(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestTableInput(t *testing.T) {
	in, ttl, err := mustParse(t, sample).TableInput("t1")
	if err != nil {
		t.Fatal(err)
	}
	want := &dynamodb.CreateTableInput{
		TableName: aws.String("t1"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("g1"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("byG1"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("g1"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"a", "b"}},
		}},
		BillingMode:         types.BillingModePayPerRequest,
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage},
	}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("got  %+v\nwant %+v", in, want)
	}
	if ttl != "expiresAt" {
		t.Errorf("ttl attribute = %q, want expiresAt", ttl)
	}
}

func TestTableInputNeedsExactlyOneTable(t *testing.T) {
	if _, _, err := mustParse(t, "Resources: {}").TableInput("t"); err == nil {
		t.Error("no table: want an error")
	}
	two := "Resources:\n  A: {Type: AWS::DynamoDB::Table}\n  B: {Type: AWS::DynamoDB::Table}\n"
	if _, _, err := mustParse(t, two).TableInput("t"); err == nil {
		t.Error("two tables: want an error")
	}
}

func TestValidateReportsTheResourcesOwnKind(t *testing.T) {
	tpl := mustParse(t, `
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      CodeUri: .
      Timout: 10
`)
	err := tpl.Validate()
	if err == nil {
		t.Fatal("misspelt property: want an error")
	}
	// Only the function's own complaint, not one per other resource kind.
	want := "the template does not match the SAM schema:\n  at '/Resources/Fn/Properties': additional properties 'Timout' not allowed"
	if err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestValidateAcceptsNonSAMResources(t *testing.T) {
	tpl := mustParse(t, "Resources:\n  Table: {Type: AWS::DynamoDB::Table, Properties: {Anything: 1}}\n")
	if err := tpl.Validate(); err != nil {
		t.Errorf("non-SAM resources are only checked for a Type: %v", err)
	}
}
