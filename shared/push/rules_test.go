package push_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/invite-forward/invite-forward/shared/push"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

// TestRules_EveryEventTypeSaysWhoReceivesIt: each Event* type declared in shared/conversation
// and shared/invitation has its line in the recipient table, so a new event type cannot be
// pushed by accident of a default.
func TestRules_EveryEventTypeSaysWhoReceivesIt(t *testing.T) {
	gomod, err := samtemplate.FindRepoFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, pkg := range []string{"conversation", "invitation"} {
		matches, err := filepath.Glob(filepath.Join(filepath.Dir(gomod), "shared", pkg, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			if !strings.HasSuffix(m, "_test.go") {
				files = append(files, m)
			}
		}
	}
	found := 0
	for _, file := range files {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok || len(spec.Names) != 1 || !strings.HasPrefix(spec.Names[0].Name, "Event") || len(spec.Values) != 1 {
				return true
			}
			lit, ok := spec.Values[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			typ, _ := strconv.Unquote(lit.Value)
			found++
			if _, ok := push.Rules[typ]; !ok {
				t.Errorf("%s (%q, %s) has no line in push.Rules", spec.Names[0].Name, typ, filepath.Base(file))
			}
			return true
		})
	}
	if found < 20 {
		t.Fatalf("found %d event types in %v; the parse is wrong", found, files)
	}
}
