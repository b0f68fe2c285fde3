package samtemplate_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

// wiredBy names, for each permission only some functions hold, the package a function's main
// imports to use it (setup.ReadSecretsWith, setup.SendMailWith): setup builds neither client,
// so that the other functions do not link those services.
var wiredBy = map[string]string{
	"secretsmanager:getsecretvalue": "github.com/invite-forward/invite-forward/shared/awsclients/secrets",
	"ses:sendemail":                 "github.com/invite-forward/invite-forward/shared/mail/sesmail",
}

// A function granted one of these permissions whose main does not wire the client fails at
// init in AWS; one that wires it without the permission fails on first use.
func TestMainsWireTheClientsTheirPoliciesAllow(t *testing.T) {
	root, tpl := repo(t)
	for _, fn := range tpl.Functions() {
		imports := mainImports(t, filepath.Join(root, samtemplate.FolderFor(fn.LogicalID), "main.go"))
		granted := allowedActions(fn.Policies)
		for action, pkg := range wiredBy {
			switch {
			case granted[action] && !imports[pkg]:
				t.Errorf("%s may %s, but its main does not import %s to wire the client", fn.LogicalID, action, pkg)
			case imports[pkg] && !granted[action]:
				t.Errorf("%s's main wires %s, but its policies do not allow %s", fn.LogicalID, pkg, action)
			}
		}
	}
}

func mainImports(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		out[p] = true
	}
	return out
}

// allowedActions are the lower-cased actions the function's policy statements allow.
func allowedActions(policies []any) map[string]bool {
	out := map[string]bool{}
	for _, p := range policies {
		for _, s := range oneOrMany(asMap(p)["Statement"]) {
			stmt := asMap(s)
			if stmt["Effect"] != "Allow" {
				continue
			}
			for _, a := range oneOrMany(stmt["Action"]) {
				if action, ok := a.(string); ok {
					out[strings.ToLower(action)] = true
				}
			}
		}
	}
	return out
}
