package samtemplate_test

// Which environment variables can a function's code read? Every function imports the shared
// composition root (shared/setup), which reads the variables of every service but builds a
// service only when a handler asks for it; so "reads" means "reachable from the function's
// main (or from package initialisation) in the static call graph", not "somewhere in an
// imported package".
//
// The graph is built with go/types over this module's packages, importing everything else
// from the compiler's export data (`go list -export`). Its edges go from a function to every
// function, method and package-level variable it calls or refers to (a function value passed
// on may be called later); a call of an interface method reaches every method of that name
// declared in this module. A package-level variable's initialiser runs at start-up, but the
// functions it only refers to (a table of handler constructors, say) are reached only through
// code that uses the variable. Calls that code outside this module makes back into it through
// interfaces are not followed.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// goPackage is what `go list -json` reports about a package.
type goPackage struct {
	ImportPath string
	Name       string
	Dir        string
	Export     string
	GoFiles    []string
	Deps       []string
	Module     *struct {
		Path string
		Main bool
	}
}

func (p goPackage) own() bool { return p.Module != nil && p.Module.Main }

// envReadsByFolder returns, for each function folder (functions/<name>), the environment
// variables its code can read, each with the position of one read.
func envReadsByFolder(t *testing.T, root string) map[string]map[string]string {
	t.Helper()
	pkgs := goList(t, root, "./functions/...")
	g := newCallGraph(t, root, pkgs)
	out := map[string]map[string]string{}
	for _, p := range pkgs {
		if !p.own() || p.Name != "main" {
			continue
		}
		roots := []string{p.ImportPath + ".main"}
		for _, dep := range append([]string{p.ImportPath}, p.Deps...) {
			roots = append(roots, initNode(dep))
		}
		folder := strings.TrimPrefix(p.ImportPath, p.Module.Path+"/")
		out[folder] = g.envReads(roots)
	}
	return out
}

// goList lists the packages matching pattern and all their dependencies, as built for Lambda
// (linux), with export data for the type checker.
func goList(t *testing.T, dir, pattern string) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-export", "-deps",
		"-json=ImportPath,Name,Dir,Export,GoFiles,Deps,Module,Error", pattern)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", pattern, err, stderr.String())
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			goPackage
			Error *struct{ Err string }
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p.goPackage)
	}
	return pkgs
}

// callGraph's nodes are functions and methods by their full name
// ("(*example.com/m/setup.Deps).Store"), package initialisation ("init example.com/m/setup"),
// package-level variables ("var example.com/m/handlers.ByLogicalID") and interface method
// names ("interface method Publish").
type callGraph struct {
	module  string
	root    string
	fset    *token.FileSet
	edges   map[string]map[string]bool
	reads   map[string]map[string]string // node → variable → position
	methods map[string][]string          // method name → this module's concrete methods
	strs    map[string]map[string]bool   // node → string constants it names (index names, …)
	types   map[string]map[string]bool   // node → this module's named types it mentions
}

func initNode(pkgPath string) string { return "init " + pkgPath }

func newCallGraph(t *testing.T, root string, pkgs []goPackage) *callGraph {
	t.Helper()
	g := &callGraph{
		root:    root,
		fset:    token.NewFileSet(),
		edges:   map[string]map[string]bool{},
		reads:   map[string]map[string]string{},
		methods: map[string][]string{},
		strs:    map[string]map[string]bool{},
		types:   map[string]map[string]bool{},
	}
	exports := map[string]string{}
	for _, p := range pkgs {
		exports[p.ImportPath] = p.Export
		if p.own() {
			g.module = p.Module.Path
		}
	}
	imp := importer.ForCompiler(g.fset, "gc", func(path string) (io.ReadCloser, error) {
		if exports[path] == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(exports[path])
	})
	for _, p := range pkgs {
		if p.own() {
			g.addPackage(t, p, imp)
		}
	}
	return g
}

func (g *callGraph) addPackage(t *testing.T, p goPackage, imp types.Importer) {
	t.Helper()
	var files []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(g.fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	info := &types.Info{
		Defs:  map[*ast.Ident]types.Object{},
		Uses:  map[*ast.Ident]types.Object{},
		Types: map[ast.Expr]types.TypeAndValue{},
	}
	conf := types.Config{Importer: imp}
	if _, err := conf.Check(p.ImportPath, g.fset, files, info); err != nil {
		t.Fatalf("type-check %s: %v", p.ImportPath, err)
	}
	for _, f := range files {
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				g.addFunc(p.ImportPath, d, info)
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, spec := range d.Specs {
					g.addVar(p.ImportPath, spec.(*ast.ValueSpec), info)
				}
			}
		}
	}
}

func (g *callGraph) addFunc(pkgPath string, d *ast.FuncDecl, info *types.Info) {
	fn := info.Defs[d.Name].(*types.Func)
	node := fn.FullName()
	switch {
	case d.Recv == nil && d.Name.Name == "init":
		node = initNode(pkgPath)
	case d.Recv != nil:
		g.methods[fn.Name()] = append(g.methods[fn.Name()], node)
	}
	if d.Body != nil {
		g.scan(node, d.Body, info)
	}
}

// addVar scans a package-level variable's initialiser. What it calls, and the variables it
// reads, belong to package initialisation; what it only refers to, function literals
// included, belongs to the variable, reached by whoever uses it.
func (g *callGraph) addVar(pkgPath string, spec *ast.ValueSpec, info *types.Info) {
	var holders []string
	for _, name := range spec.Names {
		holders = append(holders, varNode(pkgPath, name.Name))
	}
	called := map[*ast.Ident]bool{}
	ast.Inspect(spec, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncLit:
			for _, h := range holders {
				g.scan(h, x.Body, info)
			}
			return false
		case *ast.CallExpr:
			if id := calleeIdent(x); id != nil {
				called[id] = true
			}
			if name, ok := g.envRead(x, info); ok {
				g.addRead(initNode(pkgPath), name, x.Pos())
			}
		case *ast.Ident:
			to, ok := refNode(info.Uses[x])
			if !ok {
				break
			}
			if called[x] {
				g.addEdge(initNode(pkgPath), to)
			}
			for _, h := range holders {
				g.addEdge(h, to)
			}
		}
		return true
	})
}

func varNode(pkgPath, name string) string { return "var " + pkgPath + "." + name }

// scan records what the code under n, belonging to node, refers to and which variables it
// reads. Function literals count as part of the function that contains them.
func (g *callGraph) scan(node string, n ast.Node, info *types.Info) {
	ast.Inspect(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Ident:
			if to, ok := refNode(info.Uses[x]); ok {
				g.addEdge(node, to)
			}
			if c, ok := info.Uses[x].(*types.Const); ok && c.Val().Kind() == constant.String {
				mark(g.strs, node, constant.StringVal(c.Val()))
			}
			if tn, ok := info.Uses[x].(*types.TypeName); ok && tn.Pkg() != nil && strings.HasPrefix(tn.Pkg().Path(), g.module) {
				mark(g.types, node, tn.Pkg().Path()+"."+tn.Name())
			}
		case *ast.CallExpr:
			if name, ok := g.envRead(x, info); ok {
				g.addRead(node, name, x.Pos())
			}
		}
		return true
	})
}

// refNode is the node a use of obj leads to: a function or method, an interface method, or a
// package-level variable.
func refNode(obj types.Object) (string, bool) {
	switch o := obj.(type) {
	case *types.Func:
		fn := o.Origin()
		if recv := fn.Signature().Recv(); recv != nil && types.IsInterface(recv.Type()) {
			return "interface method " + fn.Name(), true
		}
		return fn.FullName(), true
	case *types.Var:
		if o.Pkg() != nil && o.Pkg().Scope().Lookup(o.Name()) == o {
			return varNode(o.Pkg().Path(), o.Name()), true
		}
	}
	return "", false
}

func calleeIdent(call *ast.CallExpr) *ast.Ident {
	switch f := call.Fun.(type) {
	case *ast.SelectorExpr:
		return f.Sel
	case *ast.Ident:
		return f
	}
	return nil
}

var envName = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)

// envRead recognises os.Getenv, os.LookupEnv and any call into shared/config
// (config.Required("X"), config.Hours("X", 12), …) whose first argument is a constant
// UPPER_SNAKE string. Names computed at run time cannot be checked and are not reported.
func (g *callGraph) envRead(call *ast.CallExpr, info *types.Info) (string, bool) {
	fn, ok := info.Uses[calleeIdent(call)].(*types.Func)
	if !ok || fn.Pkg() == nil || len(call.Args) == 0 {
		return "", false
	}
	pkg := fn.Pkg().Path()
	reader := (pkg == "os" && (fn.Name() == "Getenv" || fn.Name() == "LookupEnv")) || pkg == g.module+"/shared/config"
	arg := info.Types[call.Args[0]].Value
	if !reader || arg == nil || arg.Kind() != constant.String {
		return "", false
	}
	name := constant.StringVal(arg)
	return name, envName.MatchString(name)
}

func (g *callGraph) addEdge(from, to string) {
	if g.edges[from] == nil {
		g.edges[from] = map[string]bool{}
	}
	g.edges[from][to] = true
}

func (g *callGraph) addRead(node, name string, pos token.Pos) {
	if g.reads[node] == nil {
		g.reads[node] = map[string]string{}
	}
	p := g.fset.Position(pos)
	rel, _ := filepath.Rel(g.root, p.Filename)
	g.reads[node][name] = fmt.Sprintf("%s:%d", filepath.ToSlash(rel), p.Line)
}

// envReads returns the variables read by everything reachable from roots.
func (g *callGraph) envReads(roots []string) map[string]string {
	out := map[string]string{}
	for node := range g.reachable(roots) {
		for name, pos := range g.reads[node] {
			out[name] = pos
		}
	}
	return out
}

// reachable is every node reachable from roots, functions outside the module included (their
// bodies are not followed). A call of an interface method reaches a module method of that
// name only once its receiver type is live — mentioned by reachable code (a literal, a
// conversion, a declaration) — as in rapid type analysis: a handler that never builds an
// idempotency store does not reach its methods through the interface it would satisfy.
func (g *callGraph) reachable(roots []string) map[string]bool {
	seen := map[string]bool{}
	live := map[string]bool{}    // types mentioned by reachable code
	pending := map[string]bool{} // interface method names called by reachable code
	queue := roots
	for len(queue) > 0 {
		node := queue[0]
		queue = queue[1:]
		if seen[node] {
			continue
		}
		seen[node] = true
		for typ := range g.types[node] {
			if !live[typ] {
				live[typ] = true
				for name := range pending {
					queue = append(queue, g.methodsOf(typ, name)...)
				}
			}
		}
		for next := range g.edges[node] {
			name, ok := strings.CutPrefix(next, "interface method ")
			if !ok {
				queue = append(queue, next)
				continue
			}
			pending[name] = true
			seen[next] = true // for callers that resolve interface calls into other modules
			for _, m := range g.methods[name] {
				if live[receiverType(m)] {
					queue = append(queue, m)
				}
			}
		}
	}
	return seen
}

// methodsOf lists typ's methods named name.
func (g *callGraph) methodsOf(typ, name string) []string {
	var out []string
	for _, m := range g.methods[name] {
		if receiverType(m) == typ {
			out = append(out, m)
		}
	}
	return out
}

// receiverType is "example.com/m/store.Store" for "(*example.com/m/store.Store).Get".
func receiverType(method string) string {
	recv, _, _ := strings.Cut(strings.TrimPrefix(method, "("), ")")
	return strings.TrimPrefix(recv, "*")
}

func mark(m map[string]map[string]bool, node, value string) {
	if m[node] == nil {
		m[node] = map[string]bool{}
	}
	m[node][value] = true
}
