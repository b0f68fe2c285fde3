package main

import (
	"debug/elf"
	"debug/gosym"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// buildFlags are the Makefile's (GOFLAGS_LAMBDA): what a function is built with for Lambda.
var buildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w"}

// build compiles pkg (a directory under the module root) for linux/arch into out.
func build(root, arch, pkg, out string) error {
	cmd := exec.Command("go", append(append([]string{"build"}, buildFlags...), "-o", out, pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s for %s: %v\n%s", pkg, arch, err, b)
	}
	return nil
}

func size(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// credentialServices are the SDK's own clients behind the default credential chain: every
// program that loads the AWS configuration links them, the floors too.
var credentialServices = map[string]bool{"sts": true, "sso": true, "ssooidc": true, "signin": true}

// clientMethod matches an operation of an SDK service client in a function table.
var clientMethod = regexp.MustCompile(`^github\.com/aws/aws-sdk-go-v2/service/([a-z0-9]+)\.\(\*Client\)\.([A-Z]\w*)$`)

// servicesCalled lists the AWS services whose operations a (stripped) Go binary links,
// read from its pclntab, which -s leaves in place because the runtime needs it.
func servicesCalled(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pcln, text := f.Section(".gopclntab"), f.Section(".text")
	if pcln == nil || text == nil {
		return nil, fmt.Errorf("%s: no .gopclntab or .text", path)
	}
	data, err := pcln.Data()
	if err != nil {
		return nil, err
	}
	table, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	seen := map[string]bool{}
	for _, fn := range table.Funcs {
		m := clientMethod.FindStringSubmatch(fn.Name)
		if m == nil || m[2] == "Options" || credentialServices[m[1]] {
			continue
		}
		seen[m[1]] = true
	}
	return slices.Sorted(func(yield func(string) bool) {
		for s := range seen {
			if !yield(s) {
				return
			}
		}
	}), nil
}

// calls are the one operation a floor makes per service, with the imports it needs.
var calls = map[string]struct{ imports, client, call string }{
	"dynamodb": {`"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"`,
		"dynamodb.NewFromConfig(cfg)",
		`_, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(os.Getenv("TABLE_NAME")),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "floor"}, "sk": &types.AttributeValueMemberS{Value: "floor"}}})`},
	// The floor of a function whose first answer is a transaction ($connect): DynamoDB Local
	// answers a TransactWriteItems several times slower than a GetItem, which no code of
	// ours can change. Three items, as $connect writes.
	txFloorService: {`"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"`,
		"dynamodb.NewFromConfig(cfg)",
		`table, key := aws.String(os.Getenv("TABLE_NAME")), func(pk string) map[string]types.AttributeValue {
				return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: "floor"}}
			}
			_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: table, Item: key("floor#1")}},
				{Put: &types.Put{TableName: table, Item: key("floor#2")}},
				{Update: &types.Update{TableName: table, Key: key("floor#3"), UpdateExpression: aws.String("SET n = :n"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: "1"}}}},
			}})`},
	"apigatewaymanagementapi": {`"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"`,
		`apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) { o.BaseEndpoint = aws.String(os.Getenv("WEBSOCKET_MANAGEMENT_URL")) })`,
		`_, err = c.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("floor"), Data: []byte("{}")})`},
	"secretsmanager": {`"github.com/aws/aws-sdk-go-v2/service/secretsmanager"`,
		"secretsmanager.NewFromConfig(cfg)",
		`_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("floor")})`},
	"sesv2": {`"github.com/aws/aws-sdk-go-v2/service/sesv2"`,
		"sesv2.NewFromConfig(cfg)",
		`_, err = c.GetAccount(ctx, &sesv2.GetAccountInput{})`},
}

// writeBaseline writes the source of a baseline program to dir: hello world when services is
// empty, else a floor that loads the AWS configuration at init and makes one call to each
// service per invocation (errors are ignored: the call is what costs, not its answer).
func writeBaseline(dir string, services []string) error {
	var src strings.Builder
	src.WriteString("// Code generated by local/cmd/bench; a baseline, not part of the project.\npackage main\n\nimport (\n")
	if len(services) == 0 {
		src.WriteString("\t\"github.com/aws/aws-lambda-go/lambda\"\n)\n\nfunc main() { lambda.Start(func() (string, error) { return \"ok\", nil }) }\n")
		return writeSource(dir, src.String())
	}
	src.WriteString("\t\"context\"\n\t\"os\"\n\n\t\"github.com/aws/aws-lambda-go/lambda\"\n\t\"github.com/aws/aws-sdk-go-v2/aws\"\n\t\"github.com/aws/aws-sdk-go-v2/config\"\n")
	for _, s := range services {
		c, ok := calls[s]
		if !ok {
			return fmt.Errorf("no floor call for service %s", s)
		}
		src.WriteString("\t" + c.imports + "\n")
	}
	src.WriteString(")\n\nfunc main() {\n\tcfg, err := config.LoadDefaultConfig(context.Background())\n\tif err != nil {\n\t\tpanic(err)\n\t}\n")
	for i, s := range services {
		fmt.Fprintf(&src, "\tc%d := %s\n", i, calls[s].client)
	}
	src.WriteString("\tlambda.Start(func(ctx context.Context) (string, error) {\n\t\tvar err error\n")
	for i, s := range services {
		fmt.Fprintf(&src, "\t\t{\n\t\t\tc := c%d\n\t\t\t%s\n\t\t\t_ = err\n\t\t}\n", i, calls[s].call)
	}
	src.WriteString("\t\treturn \"ok\", nil\n\t})\n}\n")
	return writeSource(dir, src.String())
}

func writeSource(dir, src string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644)
}
