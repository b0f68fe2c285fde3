package samtemplate_test

// Least privilege, proven: what each function's code can reach in the static call graph of
// envreads_test.go (from its main) decides the DynamoDB actions and indexes, SES,
// @connections and Secrets Manager access it needs, and its policy must grant exactly that.

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

const sdk = "github.com/aws/aws-sdk-go-v2/service/"

// grants is what one function may do: IAM actions ("dynamodb:GetItem") and the DynamoDB
// indexes it may query.
type grants struct {
	actions map[string]bool
	indexes map[string]bool
}

func (g grants) String() string {
	return fmt.Sprintf("actions %v, indexes %v", slices.Sorted(maps.Keys(g.actions)), slices.Sorted(maps.Keys(g.indexes)))
}

var (
	sdkMethod = regexp.MustCompile(`^\(\*` + regexp.QuoteMeta(sdk) + `(dynamodb|sesv2|apigatewaymanagementapi|secretsmanager)\.Client\)\.(\w+)$`)
	indexName = regexp.MustCompile(`^gsi[0-9]+$`)
)

// needed derives what the code reachable from roots calls. A transaction needs the item
// actions of what it writes: the store's transaction builder names them (events and pushOnly
// put history events and outbox items when the transaction is committed).
func needed(g *callGraph, roots []string) grants {
	out := grants{actions: map[string]bool{}, indexes: map[string]bool{}}
	txItems := map[string]string{"put": "PutItem", "events": "PutItem", "pushOnly": "PutItem", "update": "UpdateItem", "del": "DeleteItem", "check": "ConditionCheckItem"}
	reach := g.reachable(roots)
	for node := range reach {
		if m := sdkMethod.FindStringSubmatch(node); m != nil {
			service, op := m[1], m[2]
			switch {
			case service == "dynamodb" && op == "TransactWriteItems":
				// the item actions below
			case service == "dynamodb" && op == "TransactGetItems":
				out.actions["dynamodb:GetItem"] = true
			default:
				out.actions[iamAction(service, op)] = true
			}
		}
		switch node {
		case sdk + "dynamodb.NewQueryPaginator":
			out.actions["dynamodb:Query"] = true
		case sdk + "dynamodb.NewScanPaginator":
			out.actions["dynamodb:Scan"] = true
		}
		if recv, method, ok := strings.Cut(node, ")."); ok && strings.HasSuffix(recv, "/shared/store.tx") && txItems[method] != "" {
			out.actions["dynamodb:"+txItems[method]] = true
		}
		// A client kept behind an interface the code declares (wsapi.Management, a mailer)
		// is called through it: a constructed client's methods of a called name count.
		if name, ok := strings.CutPrefix(node, "interface method "); ok {
			for service, client := range sdkClients {
				if reach[sdk+service+".NewFromConfig"] && hasMethod(client, name) {
					out.actions[iamAction(service, name)] = true
				}
			}
		}
		for s := range g.strs[node] {
			if indexName.MatchString(s) {
				out.indexes[s] = true
			}
		}
	}
	return out
}

// sdkClients are the SDK clients the functions use, by package, for their method names.
var sdkClients = map[string]any{
	"dynamodb":                &dynamodb.Client{},
	"sesv2":                   &sesv2.Client{},
	"apigatewaymanagementapi": &apigatewaymanagementapi.Client{},
	"secretsmanager":          &secretsmanager.Client{},
}

func hasMethod(client any, name string) bool {
	_, ok := reflect.TypeOf(client).MethodByName(name)
	return ok
}

// iamAction names the IAM action an SDK operation needs.
func iamAction(service, op string) string {
	switch service {
	case "apigatewaymanagementapi":
		return "execute-api:ManageConnections"
	case "sesv2":
		return "ses:" + op
	}
	return service + ":" + op
}

// granted reads a function's policy statements: the actions, and the indexes named in
// ${Table.Arn}/index/<name> resources ("*" for all).
func granted(policies []any) grants {
	out := grants{actions: map[string]bool{}, indexes: map[string]bool{}}
	for _, p := range policies {
		for _, s := range oneOrMany(asMap(p)["Statement"]) {
			stmt := asMap(s)
			for _, a := range oneOrMany(stmt["Action"]) {
				out.actions[fmt.Sprint(a)] = true
			}
			for _, r := range oneOrMany(stmt["Resource"]) {
				if sub, ok := asMap(r)["Fn::Sub"].(string); ok {
					if _, index, ok := strings.Cut(sub, "${Table.Arn}/index/"); ok {
						out.indexes[index] = true
					}
				}
			}
		}
	}
	return out
}

// TestPolicies_GrantExactlyWhatTheCodeCanReach: no grant the code cannot use (a removed call
// leaves no permission behind), and none missing (a new call fails here, not in production).
func TestPolicies_GrantExactlyWhatTheCodeCanReach(t *testing.T) {
	root, tpl := repo(t)
	pkgs := goList(t, root, "./functions/...")
	g := newCallGraph(t, root, pkgs)
	roots := map[string][]string{}
	for _, p := range pkgs {
		if !p.own() || p.Name != "main" {
			continue
		}
		r := []string{p.ImportPath + ".main"}
		for _, dep := range append([]string{p.ImportPath}, p.Deps...) {
			r = append(r, initNode(dep))
		}
		roots[strings.TrimPrefix(p.ImportPath, p.Module.Path+"/")] = r
	}
	var report []string
	for _, fn := range tpl.Functions() {
		want := needed(g, roots[samtemplate.FolderFor(fn.LogicalID)])
		for a := range eventSourceNeeds(fn) {
			want.actions[a] = true
		}
		got := granted(fn.Policies)
		extra, missing := diff(got.actions, want.actions), diff(want.actions, got.actions)
		xi, mi := diff(got.indexes, want.indexes), diff(want.indexes, got.indexes)
		if len(extra)+len(missing)+len(xi)+len(mi) > 0 {
			report = append(report, fmt.Sprintf("%s: grants but cannot use %v %v; uses but lacks %v %v", fn.LogicalID, extra, xi, missing, mi))
		}
	}
	sort.Strings(report)
	for _, r := range report {
		t.Error(r)
	}
}

// eventSourceNeeds is what a function's event sources do with its role, not its code: Lambda
// reads a DynamoDB stream with the function's permissions, and sends what it gave up on to the
// on-failure destination with them too.
func eventSourceNeeds(fn samtemplate.Function) map[string]bool {
	out := map[string]bool{}
	for _, e := range fn.Events {
		if e.Type != "DynamoDB" {
			continue
		}
		for _, a := range []string{"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"} {
			out["dynamodb:"+a] = true
		}
		onFailure := asMap(asMap(asMap(e.Raw["Properties"])["DestinationConfig"])["OnFailure"])
		if onFailure["Type"] == "SQS" {
			out["sqs:SendMessage"] = true
		}
	}
	return out
}

func diff(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
