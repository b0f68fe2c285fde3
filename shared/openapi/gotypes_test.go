package openapi_test

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invite-forward/invite-forward/shared/conversation"
	"github.com/invite-forward/invite-forward/shared/conversations"
	"github.com/invite-forward/invite-forward/shared/directory"
	"github.com/invite-forward/invite-forward/shared/handover"
	"github.com/invite-forward/invite-forward/shared/httpapi"
	"github.com/invite-forward/invite-forward/shared/invitation"
	"github.com/invite-forward/invite-forward/shared/invitations"
	"github.com/invite-forward/invite-forward/shared/openapi"
	"github.com/invite-forward/invite-forward/shared/realtime"
	"github.com/invite-forward/invite-forward/shared/wsapi"
)

// requestTypes are the structs each handler decodes its body into, by operationId. The
// actions that take no fields decode into an empty struct.
var requestTypes = map[string]any{
	"startConversation":     conversation.StartRequest{},
	"postMessage":           conversations.MessageRequest{},
	"createPinInvitation":   invitations.PINRequest{},
	"createEmailInvitation": invitations.EmailRequest{},
	"resendInvitation":      struct{}{},
	"redeemPin":             invitations.RedeemPINRequest{},
	"redeemJoinToken":       invitations.RedeemJoinTokenRequest{},
	"inviteAgent":           handover.InviteAgentRequest{},
	"inviteTeam":            handover.InviteTeamRequest{},
	"forwardConversation":   handover.ForwardRequest{},
	"acceptInvitation":      struct{}{},
	"declineInvitation":     handover.DeclineRequest{},
}

// responseTypes are what each handler encodes for its success status, by operationId; nil
// for a 204. The directory handlers wrap their lists in a map, written out here as a struct.
var responseTypes = map[string]any{
	"startConversation":     conversations.Started{},
	"getConversation":       conversations.View{},
	"listEvents":            conversations.HistoryPage{},
	"postMessage":           conversation.Event{},
	"leaveConversation":     nil,
	"endConversation":       nil,
	"admitParticipant":      conversation.Participant{},
	"refuseParticipant":     nil,
	"createPinInvitation":   invitations.PINIssued{},
	"createEmailInvitation": invitations.EmailSent{},
	"listInvitations":       invitations.Listed{},
	"revokeInvitation":      invitation.Invitation{},
	"resendInvitation":      invitations.Resent{},
	"redeemPin":             invitations.Joined{},
	"redeemJoinToken":       invitations.Joined{},
	"inviteAgent":           invitation.Offer{},
	"inviteTeam":            invitation.Offer{},
	"forwardConversation":   invitation.Offer{},
	"getInbox":              handover.Inbox{},
	"acceptInvitation":      handover.Accepted{},
	"declineInvitation":     nil,
	"createConnectTicket":   realtime.Ticket{},
	"listAgents": struct {
		Agents []directory.Agent `json:"agents"`
	}{},
	"listTeams": struct {
		Teams []directory.Team `json:"teams"`
	}{},
}

// componentTypes are schemas that describe one Go type wherever they are used.
var componentTypes = map[string]any{
	"Error":       httpapi.ErrorBody{},
	"PushMessage": wsapi.Message{},
	"Participant": conversation.Participant{},
}

// TestSchemas_MatchTheGoTypesTheHandlersDecodeAndEncode compares each documented body with
// the Go struct behind it, field by field: the same JSON names, a field required exactly when
// Go always writes it (no omitempty or omitzero; for requests, the fields whose absence the
// action refuses), and the same JSON types. Unknown fields are refused by the strict decoder,
// so a request schema that missed a field would document a 400 as a success. The scenario
// test sees the fields that occur in practice; this one sees every field.
func TestSchemas_MatchTheGoTypesTheHandlersDecodeAndEncode(t *testing.T) {
	doc := load(t).doc
	for _, op := range doc.Operations() {
		t.Run(op.ID, func(t *testing.T) {
			if rb, ok := op.Raw["requestBody"]; ok {
				goType, known := requestTypes[op.ID]
				if !known {
					t.Fatalf("%s takes a body; add the Go struct its handler decodes into to requestTypes", op.ID)
				}
				schema := asMap(asMap(asMap(resolved(t, doc, rb)["content"])["application/json"])["schema"])
				compare(t, doc, "request", schema, reflect.TypeOf(goType))
			} else if _, known := requestTypes[op.ID]; known {
				t.Errorf("requestTypes names %s, which the document says takes no body", op.ID)
			}

			goType, known := responseTypes[op.ID]
			if !known {
				t.Fatalf("add the Go type %s answers with to responseTypes", op.ID)
			}
			status, resp := successResponse(t, doc, op)
			ptr := resp.JSONSchemaPointer()
			switch {
			case goType == nil && ptr != "":
				t.Errorf("%d documents a body; the handler answers none", status)
			case goType != nil && ptr == "":
				t.Errorf("%d documents no body; the handler answers %T", status, goType)
			case goType != nil:
				schema, err := doc.Lookup("#" + ptr)
				if err != nil {
					t.Fatal(err)
				}
				compare(t, doc, "response", asMap(schema), reflect.TypeOf(goType))
			}
		})
	}
	for name, goType := range componentTypes {
		t.Run(name, func(t *testing.T) {
			schema, err := doc.Lookup("#/components/schemas/" + name)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, doc, name, asMap(schema), reflect.TypeOf(goType))
		})
	}
	for _, m := range []map[string]any{requestTypes, responseTypes} {
		for id := range m {
			if !slices.ContainsFunc(doc.Operations(), func(op openapi.Operation) bool { return op.ID == id }) {
				t.Errorf("no operation %s in the document", id)
			}
		}
	}
}

func successResponse(t *testing.T, doc *openapi.Document, op openapi.Operation) (int, openapi.Response) {
	t.Helper()
	for _, status := range []int{200, 201, 204} {
		if r, err := doc.Response(op.Method, op.Path, status); err == nil {
			return status, r
		}
	}
	t.Fatalf("%s documents no success status", op.ID)
	return 0, openapi.Response{}
}

// goField is one JSON member of a Go struct as encoding/json sees it.
type goField struct {
	typ      reflect.Type
	optional bool // omitempty or omitzero: absent when empty
}

// jsonFields lists a struct's JSON members, with embedded structs flattened the way
// encoding/json does.
func jsonFields(t reflect.Type) map[string]goField {
	out := map[string]goField{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			maps.Copy(out, jsonFields(f.Type))
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := slices.ContainsFunc(strings.Split(opts, ","), func(o string) bool { return o == "omitempty" || o == "omitzero" })
		out[name] = goField{typ: f.Type, optional: optional}
	}
	return out
}

var timeType = reflect.TypeOf(time.Time{})

// compare checks an object schema against a Go struct, recursing into nested structs.
func compare(t *testing.T, doc *openapi.Document, at string, schema map[string]any, goType reflect.Type) {
	t.Helper()
	schema = resolved(t, doc, schema)
	if goType.Kind() == reflect.Pointer {
		goType = goType.Elem()
	}
	fields := jsonFields(goType)
	props := asMap(schema["properties"])
	required := toStrings(asSlice(schema["required"]))
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		f := fields[name]
		where := at + "." + name
		p, ok := props[name]
		if !ok {
			t.Errorf("%s: %s has the field, the schema does not", where, goType)
			continue
		}
		switch req := slices.Contains(required, name); {
		case req && f.optional:
			t.Errorf("%s: Go omits it when empty (omitempty, omitzero), so the schema must not require it", where)
		case !req && !f.optional:
			t.Errorf("%s: Go always writes it, so the schema must require it", where)
		}
		compareType(t, doc, where, asMap(p), f.typ)
	}
	for _, name := range slices.Sorted(maps.Keys(props)) {
		if _, ok := fields[name]; !ok {
			t.Errorf("%s.%s: the schema has the field, %s does not", at, name, goType)
		}
	}
}

func compareType(t *testing.T, doc *openapi.Document, at string, schema map[string]any, goType reflect.Type) {
	t.Helper()
	if goType.Kind() == reflect.Pointer {
		goType = goType.Elem()
	}
	schema = resolved(t, doc, schema)
	want := ""
	switch goType.Kind() {
	case reflect.String:
		want = "string"
	case reflect.Bool:
		want = "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "integer"
	case reflect.Float32, reflect.Float64:
		want = "number"
	case reflect.Slice, reflect.Array:
		want = "array"
	case reflect.Map:
		want = "object"
	case reflect.Struct:
		want = "object"
		if goType == timeType {
			want = "string"
			if schema["format"] != "date-time" {
				t.Errorf("%s: a time.Time is written as RFC 3339; the schema needs format: date-time", at)
			}
		}
	case reflect.Interface:
		return // any: the schema decides
	}
	if got := schemaType(t, doc, schema); got != want {
		t.Errorf("%s: schema type %q, Go type %s is JSON %q", at, got, goType, want)
		return
	}
	switch {
	case want == "array":
		compareType(t, doc, at+"[]", asMap(schema["items"]), goType.Elem())
	case want == "object" && goType.Kind() == reflect.Struct:
		compare(t, doc, at, schema, goType)
	}
}

// schemaType is a schema's JSON type: its type keyword, or the one type all of its anyOf
// alternatives share.
func schemaType(t *testing.T, doc *openapi.Document, schema map[string]any) string {
	if typ, ok := schema["type"].(string); ok {
		return typ
	}
	var shared string
	for _, alt := range asSlice(schema["anyOf"]) {
		typ := schemaType(t, doc, resolved(t, doc, alt))
		if shared != "" && typ != shared {
			return ""
		}
		shared = typ
	}
	return shared
}
