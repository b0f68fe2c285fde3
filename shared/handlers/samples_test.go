package handlers_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/invite-forward/invite-forward/local/gateway"
	"github.com/invite-forward/invite-forward/shared/apitest"
	"github.com/invite-forward/invite-forward/shared/samtemplate"
)

// TestSampleEvents_DecodeAndGetASensibleAnswer feeds every function its events/ sample the
// way the Lambda runtime does (raw JSON through lambda.NewHandler), so `sam local invoke
// <Fn> -e events/<fn>.json` is known to work: the event decodes into the handler's type and
// the answer is a well-formed response, never a crash or a 5xx.
func TestSampleEvents_DecodeAndGetASensibleAnswer(t *testing.T) {
	t.Parallel()
	path, err := samtemplate.FindRepoFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	api := apitest.NewWithoutPushes(t)
	for _, fn := range tmpl.Functions() {
		t.Run(fn.LogicalID, func(t *testing.T) {
			construct, ok := gateway.ByLogicalID[fn.LogicalID]
			if !ok {
				t.Fatalf("%s has no handler constructor in gateway.ByLogicalID", fn.LogicalID)
			}
			raw, err := os.ReadFile(filepath.Join(filepath.Dir(path), "events", filepath.Base(samtemplate.FolderFor(fn.LogicalID))+".json"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := lambda.NewHandler(construct(api.Deps)).Invoke(t.Context(), raw)
			if err != nil {
				t.Fatalf("invoke with the sample event: %v", err)
			}
			checkAnswer(t, out)
		})
	}
	for id := range gateway.ByLogicalID {
		if !hasFunction(tmpl, id) {
			t.Errorf("gateway.ByLogicalID has %s, which template.yaml does not declare", id)
		}
	}
}

// checkAnswer accepts an HTTP response below 500 whose errors carry a stable code, or any
// other handler answer that is a JSON value (authorizer decisions, WebSocket responses).
func checkAnswer(t *testing.T, out []byte) {
	t.Helper()
	var http struct {
		StatusCode *int   `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(out, &http); err != nil {
		t.Fatalf("answer is not JSON: %s", out)
	}
	if http.StatusCode == nil {
		return
	}
	if *http.StatusCode >= 500 {
		t.Fatalf("sample event gets %d: %s", *http.StatusCode, http.Body)
	}
	if *http.StatusCode >= 400 {
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		if json.Unmarshal([]byte(http.Body), &body) != nil || body.Error.Code == "" {
			t.Fatalf("error answer without a stable code: %s", http.Body)
		}
	}
}

func hasFunction(tmpl *samtemplate.Template, id string) bool {
	for _, fn := range tmpl.Functions() {
		if fn.LogicalID == id {
			return true
		}
	}
	return false
}
