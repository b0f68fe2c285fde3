package gateway_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"

	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

// The gateway's table and the mains name each function's constructor separately; they must
// name the same one, or what runs locally is not what runs in AWS.
func TestRegistryCallsTheConstructorEachMainCalls(t *testing.T) {
	gomod, err := samtemplate.FindRepoFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(gomod)
	registry := constructorsByKey(t, filepath.Join(root, "local", "gateway", "registry.go"))
	for _, fn := range repoTemplate(t).Functions() {
		if _, ok := gateway.ByLogicalID[fn.LogicalID]; !ok {
			t.Errorf("%s is not in gateway.ByLogicalID", fn.LogicalID)
			continue
		}
		inMain := constructorsByKey(t, filepath.Join(root, samtemplate.FolderFor(fn.LogicalID), "main.go"))[""]
		if inMain == "" || registry[fn.LogicalID] != inMain {
			t.Errorf("%s: its main calls %s, the gateway %s", fn.LogicalID, inMain, registry[fn.LogicalID])
		}
	}
}

// handlerPackages hold handler constructors: handlers, and wsdefault, whose function links
// no storage.
var handlerPackages = map[string]bool{"handlers": true, "wsdefault": true}

// constructorsByKey finds the handler constructor (handlers.X, wsdefault.X) a file calls: in
// a map literal, by the entry's string key; elsewhere under "".
func constructorsByKey(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	key := ""
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.KeyValueExpr:
			if lit, ok := n.Key.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				key = lit.Value[1 : len(lit.Value)-1]
			}
		case *ast.SelectorExpr:
			if pkg, ok := n.X.(*ast.Ident); ok && handlerPackages[pkg.Name] {
				out[key] = pkg.Name + "." + n.Sel.Name
			}
		}
		return true
	})
	return out
}
