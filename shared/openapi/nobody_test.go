package openapi_test

import (
	"strings"
	"testing"

	"github.com/invite-forward/invite-forward/shared/apitest"
)

// TestOperationsWithoutARequestBody_RefuseOne: what the document says takes no body refuses
// one (400 unexpected_body) rather than ignoring it silently; nothing, or an empty JSON
// object, is accepted. Generated from the document: a new operation is covered at once.
func TestOperationsWithoutARequestBody_RefuseOne(t *testing.T) {
	t.Parallel()
	api := apitest.NewWithoutPushes(t)
	agent := apitest.Bearer(api.AgentToken("ada"))
	n := 0
	for path, item := range asMap(load(t).doc.Raw()["paths"]) {
		for method, raw := range asMap(item) {
			op := asMap(raw)
			if _, ok := op["requestBody"]; ok || method == "get" || op["x-sam-function"] == nil {
				continue
			}
			n++
			params := map[string]string{"id": "conv_none", "invitationId": "inv_none"}
			req := apitest.Request{Function: op["x-sam-function"].(string), Method: strings.ToUpper(method), Route: path,
				Params: params, Authorization: agent, Body: map[string]any{"reason": "not read"}}
			if r := api.Do(req); r.Status != 400 || r.ErrorCode() != "unexpected_body" {
				t.Errorf("%s %s with a body: %d %s, want 400 unexpected_body", req.Method, path, r.Status, r.Body)
			}
			req.Body = "{}"
			if r := api.Do(req); r.ErrorCode() == "unexpected_body" {
				t.Errorf("%s %s with {}: refused as a body", req.Method, path)
			}
		}
	}
	if n == 0 {
		t.Fatal("the document has no operation without a request body")
	}
}
