package samtemplate_test

// The tests in this file check the repository's own template.yaml against the code and files
// it describes, so that `sam build`, `sam deploy` and `sam local invoke` cannot be broken by
// adding a function in one place and forgetting another.

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

// repo returns the repository root and its parsed template.yaml.
func repo(t *testing.T) (string, *samtemplate.Template) {
	t.Helper()
	file, err := samtemplate.FindRepoFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(file), tpl
}

func TestTemplateMatchesSAMSchema(t *testing.T) {
	_, tpl := repo(t)
	if err := tpl.Validate(); err != nil {
		t.Error(err)
	}
}

func TestEveryFunctionFolderHasExactlyOneTemplateFunction(t *testing.T) {
	root, tpl := repo(t)
	builtBy := map[string][]string{} // folder → logical ids building it
	for _, fn := range tpl.Functions() {
		folder := samtemplate.FolderFor(fn.LogicalID)
		builtBy[folder] = append(builtBy[folder], fn.LogicalID)
		if !strings.HasSuffix(fn.LogicalID, "Function") {
			t.Errorf("%s: function logical ids end in Function (the Makefile's build-%%Function rule relies on it)", fn.LogicalID)
		}
		if st, err := os.Stat(filepath.Join(root, folder)); err != nil || !st.IsDir() {
			t.Errorf("%s: builds from %s, which is not a folder", fn.LogicalID, folder)
		}
	}
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		folder := "functions/" + e.Name()
		if !e.IsDir() {
			continue
		}
		if ids := builtBy[folder]; len(ids) != 1 {
			t.Errorf("%s is built by %d template functions %v, want exactly 1", folder, len(ids), ids)
		}
	}
}

func TestFunctionsAreBuiltByTheMakefile(t *testing.T) {
	_, tpl := repo(t)
	for _, fn := range tpl.Functions() {
		if fn.BuildMethod != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod = %q, want makefile", fn.LogicalID, fn.BuildMethod)
		}
		// The Makefile builds from the repository root; another CodeUri would hand it a
		// different directory and break the shared/ imports.
		if fn.CodeURI != "." {
			t.Errorf("%s: CodeUri = %q, want . (set in Globals)", fn.LogicalID, fn.CodeURI)
		}
	}
}

func TestEveryFunctionHasASampleEvent(t *testing.T) {
	root, tpl := repo(t)
	for _, fn := range tpl.Functions() {
		name := "events/" + path.Base(samtemplate.FolderFor(fn.LogicalID)) + ".json"
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Errorf("%s: no sample event for `sam local invoke %s -e %s`: %v", fn.LogicalID, fn.LogicalID, name, err)
			continue
		}
		if !json.Valid(data) {
			t.Errorf("%s: %s is not valid JSON", fn.LogicalID, name)
		}
	}
}

func TestHttpApiEventsUseADeclaredHttpApi(t *testing.T) {
	_, tpl := repo(t)
	resources := tpl.Resources()
	for _, fn := range tpl.Functions() {
		for _, e := range fn.Events {
			if e.Type != "HttpApi" {
				continue
			}
			// Without ApiId SAM creates a second, implicit API that has none of the
			// declared API's authorizer, CORS or stage settings.
			ref, _ := e.ApiID.(map[string]any)["Ref"].(string)
			if resources[ref]["Type"] != "AWS::Serverless::HttpApi" {
				t.Errorf("%s event %s: ApiId = %v, want !Ref to an AWS::Serverless::HttpApi of this template", fn.LogicalID, e.Name, e.ApiID)
			}
			if e.Method == "" || !strings.HasPrefix(e.Path, "/") {
				t.Errorf("%s event %s: want a Method and a Path starting with /, got %q %q", fn.LogicalID, e.Name, e.Method, e.Path)
			}
		}
	}
}

func TestReferencesNameDeclaredResourcesAndParameters(t *testing.T) {
	_, tpl := repo(t)
	refs := referables(tpl)
	walk(tpl.Raw(), func(m map[string]any) { checkReferences(t, m, refs) })
}

// reporter is the part of testing.TB the checks use, so that they can be tested themselves.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// checkReferences checks the names one mapping of the template refers to, if it is an
// intrinsic function or carries a Condition.
func checkReferences(t reporter, m map[string]any, refs referableNames) {
	t.Helper()
	if name, ok := m["Ref"].(string); ok && len(m) == 1 {
		checkName(t, "!Ref", name, refs.names)
	}
	if args, ok := m["Fn::GetAtt"].([]any); ok && len(args) == 2 {
		name, _ := args[0].(string)
		checkName(t, "!GetAtt", name, refs.resources)
	}
	if sub, ok := m["Fn::Sub"]; ok {
		checkSub(t, sub, refs.names)
	}
	if cond, ok := m["Condition"].(string); ok {
		checkName(t, "Condition", cond, refs.conditions)
	}
	if args, ok := m["Fn::If"].([]any); ok && len(args) == 3 {
		cond, _ := args[0].(string)
		checkName(t, "!If", cond, refs.conditions)
	}
}

type referableNames struct {
	resources, names, conditions map[string]bool
}

// referables lists what a template may refer to. SAM also creates a role for each function
// (<Function>Role) that templates commonly reference.
func referables(tpl *samtemplate.Template) referableNames {
	r := referableNames{resources: map[string]bool{}, names: map[string]bool{}, conditions: map[string]bool{}}
	for id, res := range tpl.Resources() {
		r.resources[id], r.names[id] = true, true
		if res["Type"] == samtemplate.FunctionType {
			r.resources[id+"Role"], r.names[id+"Role"] = true, true
		}
	}
	params, _ := tpl.Raw()["Parameters"].(map[string]any)
	for p := range params {
		r.names[p] = true
	}
	conds, _ := tpl.Raw()["Conditions"].(map[string]any)
	for c := range conds {
		r.conditions[c] = true
	}
	return r
}

// checkName accepts pseudo parameters (AWS::Region) and SAM's resource references
// (MyFunction.Alias, MyApi.Stage) by their part before the dot.
func checkName(t reporter, what, name string, declared map[string]bool) {
	t.Helper()
	if strings.HasPrefix(name, "AWS::") {
		return
	}
	base, _, _ := strings.Cut(name, ".")
	if !declared[base] {
		t.Errorf("%s %s: nothing of that name is declared", what, name)
	}
}

var subVariable = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

func checkSub(t reporter, sub any, declared map[string]bool) {
	t.Helper()
	text, _ := sub.(string)
	local := map[string]bool{}
	if list, ok := sub.([]any); ok && len(list) == 2 {
		text, _ = list[0].(string)
		vars, _ := list[1].(map[string]any)
		for v := range vars {
			local[v] = true
		}
	}
	for _, m := range subVariable.FindAllStringSubmatch(text, -1) {
		if !local[m[1]] {
			checkName(t, "!Sub ${...}", m[1], declared)
		}
	}
}

// walk calls visit for every mapping in v.
func walk(v any, visit func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		visit(x)
		for _, c := range x {
			walk(c, visit)
		}
	case []any:
		for _, c := range x {
			walk(c, visit)
		}
	}
}

// lambdaRuntimeVariables are set by the Lambda runtime, not the template (AWS_* are too).
var lambdaRuntimeVariables = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
	"TZ": true, "LANG": true, "PATH": true, "LD_LIBRARY_PATH": true,
}

// awaitingTemplateFix lists variables known to be read by functions the template does not set
// them for: shared/setup reads them for every function that builds the conversation service.
// The fix is to set them in Globals.Function.Environment; the test fails once an entry is no
// longer needed, so that the list only ever shrinks.
var awaitingTemplateFix = map[string]bool{
	"SESSION_TTL_HOURS": true,
}

// A function that reads a variable the template does not set runs on the code's default in
// AWS, silently ignoring the Parameter meant to configure it. The scan covers the function's
// package and every package of this module it imports, as built for Lambda (linux/arm64).
func TestFunctionsGetEveryEnvironmentVariableTheyRead(t *testing.T) {
	root, tpl := repo(t)
	reads := envReadsByFolder(t, root)
	stillMissing := map[string]bool{}
	for _, fn := range tpl.Functions() {
		vars := reads[samtemplate.FolderFor(fn.LogicalID)]
		for _, name := range slices.Sorted(maps.Keys(vars)) {
			if _, set := fn.Env[name]; set || strings.HasPrefix(name, "AWS_") || lambdaRuntimeVariables[name] {
				continue
			}
			if awaitingTemplateFix[name] {
				stillMissing[name] = true
				continue
			}
			t.Errorf("%s reads %s (%s) but the template does not set it for the function (nor in Globals)",
				fn.LogicalID, name, vars[name])
		}
	}
	for name := range awaitingTemplateFix {
		if !stillMissing[name] {
			t.Errorf("%s is now set for every function that reads it: delete it from awaitingTemplateFix", name)
		}
	}
}

// managedPoliciesAllowed are the AWS managed policies a function may attach: they grant only
// logging and tracing. Any other managed policy is far wider than one function needs.
var managedPoliciesAllowed = map[string]bool{
	"AWSLambdaBasicExecutionRole": true,
	"AWSXRayDaemonWriteAccess":    true,
	"AWSXrayWriteOnlyAccess":      true,
}

// actionsWithoutResourceLevelPermissions may be granted on Resource "*": IAM offers nothing
// narrower for them (see the Service Authorization Reference of each service).
var actionsWithoutResourceLevelPermissions = map[string]bool{
	"cloudwatch:putmetricdata": true,
	"xray:puttracesegments":    true,
	"xray:puttelemetryrecords": true,
	"xray:getsamplingrules":    true,
	"xray:getsamplingtargets":  true,
	"ses:getaccount":           true,
}

// §2 and §8: least-privilege policies per function.
func TestPoliciesNameTheirResources(t *testing.T) {
	_, tpl := repo(t)
	for _, fn := range tpl.Functions() {
		for _, p := range fn.Policies {
			for _, problem := range policyProblems(tpl, p) {
				t.Errorf("%s: %s", fn.LogicalID, problem)
			}
		}
	}
}

func policyProblems(tpl *samtemplate.Template, policy any) []string {
	switch p := policy.(type) {
	case string:
		if !managedPoliciesAllowed[p] {
			return []string{fmt.Sprintf("managed policy %s grants more than the function needs; use a SAM policy template or a Statement", p)}
		}
		return nil
	case map[string]any:
		if stmts, ok := p["Statement"]; ok {
			var problems []string
			for _, s := range oneOrMany(stmts) {
				problems = append(problems, statementProblems(s)...)
			}
			return problems
		}
		if len(p) == 1 {
			for name, params := range p {
				return policyTemplateProblems(tpl, name, params)
			}
		}
	}
	return []string{fmt.Sprintf("policy %v is neither a SAM policy template nor a policy document", policy)}
}

// policyTemplateProblems checks a SAM policy template's parameters: a "*" parameter turns it
// into a policy on every resource, and a table must be this template's table.
func policyTemplateProblems(tpl *samtemplate.Template, name string, params any) []string {
	var problems []string
	for key, v := range asMap(params) {
		if v == "*" {
			problems = append(problems, fmt.Sprintf("%s: %s is \"*\"", name, key))
		}
		if key == "TableName" {
			ref, _ := asMap(v)["Ref"].(string)
			if tpl.Resources()[ref]["Type"] != samtemplate.TableType {
				problems = append(problems, fmt.Sprintf("%s: TableName = %v, want !Ref to the template's table", name, v))
			}
		}
	}
	return problems
}

func statementProblems(stmt any) []string {
	s := asMap(stmt)
	if s["Effect"] == "Deny" {
		return nil
	}
	var problems []string
	for _, key := range []string{"NotAction", "NotResource"} {
		if _, ok := s[key]; ok {
			problems = append(problems, fmt.Sprintf("statement %v uses %s, which grants everything else", s, key))
		}
	}
	var actions []string
	for _, a := range oneOrMany(s["Action"]) {
		action, _ := a.(string)
		actions = append(actions, strings.ToLower(action))
		if action == "*" || strings.HasSuffix(action, ":*") {
			problems = append(problems, fmt.Sprintf("action %q grants a whole service; list the actions", action))
		}
	}
	if !slices.Contains(oneOrMany(s["Resource"]), any("*")) {
		return problems
	}
	for _, a := range actions {
		if !actionsWithoutResourceLevelPermissions[a] {
			problems = append(problems, fmt.Sprintf("action %s on Resource \"*\"; name the table or the specific resources", a))
		}
	}
	return problems
}

func oneOrMany(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
