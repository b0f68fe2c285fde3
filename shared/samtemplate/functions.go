package samtemplate

import (
	"maps"
	"slices"
	"strings"
	"unicode"
)

// FunctionType is the resource type of every Lambda in the template.
const FunctionType = "AWS::Serverless::Function"

// Function is an AWS::Serverless::Function with the Globals.Function defaults applied to the
// properties this repository relies on.
type Function struct {
	LogicalID   string
	CodeURI     string
	Handler     string
	BuildMethod string         // Metadata.BuildMethod; "makefile" for every function here
	Env         map[string]any // Globals.Function.Environment.Variables overridden by the function's own
	Policies    []any          // each a managed policy name, a SAM policy template or a policy document
	Events      []Event        // sorted by name
}

// Event is one entry of a function's Events.
type Event struct {
	Name   string
	Type   string // "HttpApi", "Schedule", …
	Method string // HttpApi only
	Path   string // HttpApi only
	ApiID  any    // HttpApi only: usually {"Ref": "HttpApi"}; nil means SAM's implicit API
	Raw    map[string]any
}

// Route is one HTTP API route and the function serving it.
type Route struct {
	Method            string
	Path              string
	FunctionLogicalID string
	// Authorizer is "" for the API's default authorizer and "NONE" for none.
	Authorizer string
}

// Functions returns the template's functions sorted by logical id.
func (t *Template) Functions() []Function {
	globals := asMap(dig(t.doc, "Globals", "Function"))
	resources := t.Resources()
	var fns []Function
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		r := resources[id]
		if r["Type"] != FunctionType {
			continue
		}
		fns = append(fns, newFunction(id, r, globals))
	}
	return fns
}

func newFunction(id string, r, globals map[string]any) Function {
	props := asMap(r["Properties"])
	env := map[string]any{}
	maps.Copy(env, asMap(dig(globals, "Environment", "Variables")))
	maps.Copy(env, asMap(dig(props, "Environment", "Variables")))
	return Function{
		LogicalID:   id,
		CodeURI:     asString(withDefault(props, globals, "CodeUri")),
		Handler:     asString(withDefault(props, globals, "Handler")),
		BuildMethod: asString(dig(r, "Metadata", "BuildMethod")),
		Env:         env,
		Policies:    policies(props["Policies"]),
		Events:      events(asMap(props["Events"])),
	}
}

func withDefault(props, globals map[string]any, key string) any {
	if v, ok := props[key]; ok {
		return v
	}
	return globals[key]
}

// policies normalises SAM's Policies property, which may be a single item or a list.
func policies(v any) []any {
	switch p := v.(type) {
	case nil:
		return nil
	case []any:
		return p
	default:
		return []any{p}
	}
}

func events(m map[string]any) []Event {
	var out []Event
	for _, name := range slices.Sorted(maps.Keys(m)) {
		raw := asMap(m[name])
		props := asMap(raw["Properties"])
		e := Event{Name: name, Type: asString(raw["Type"]), Raw: raw}
		if e.Type == "HttpApi" {
			e.Method = strings.ToUpper(asString(props["Method"]))
			e.Path = asString(props["Path"])
			e.ApiID = props["ApiId"]
		}
		out = append(out, e)
	}
	return out
}

// HTTPRoutes returns every HttpApi event as a route, sorted by path then method.
func (t *Template) HTTPRoutes() []Route {
	var routes []Route
	for _, fn := range t.Functions() {
		for _, e := range fn.Events {
			if e.Type != "HttpApi" {
				continue
			}
			routes = append(routes, Route{
				Method:            e.Method,
				Path:              e.Path,
				FunctionLogicalID: fn.LogicalID,
				Authorizer:        asString(dig(e.Raw, "Properties", "Auth", "Authorizer")),
			})
		}
	}
	slices.SortFunc(routes, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return routes
}

// FolderFor returns the repository-relative folder a function is built from: the logical id
// without its "Function" suffix, in kebab case, under functions/
// (StartConversationFunction → functions/start-conversation, GetPINFunction → functions/get-pin).
func FolderFor(logicalID string) string {
	return "functions/" + kebab(strings.TrimSuffix(logicalID, "Function"))
}

// kebab splits words at lower→upper transitions and before the last capital of an acronym
// followed by a lower-case letter (WSConnect → ws-connect).
func kebab(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) {
			prev := r[i-1]
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}
