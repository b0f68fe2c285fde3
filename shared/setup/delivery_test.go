package setup

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/invite-forward/invite-forward/shared/snsverify"
)

// TestUnsignedSESEvents_OnlyInALocalRun: the switch that skips SNS signature checks works only
// while DynamoDB is a local one; in AWS (no endpoint override) the function refuses to start.
func TestUnsignedSESEvents_OnlyInALocalRun(t *testing.T) {
	deps := func() *Deps { return With(slog.New(slog.NewTextHandler(io.Discard, nil)), Overrides{}) }
	for _, c := range []struct {
		name, value, dynamo, awsDynamo string
		want                           string // "verify", "skip" or the panic's words
	}{
		{"deployed", "", "", "", "verify"},
		{"deployed, switched on", "accept", "", "", "local runs only"},
		{"sam local", "accept", "http://host.docker.internal:8000", "", "skip"},
		{"make dev", "accept", "", "http://127.0.0.1:8000", "skip"},
		{"local, a typo", "yes", "http://127.0.0.1:8000", "", "the only value"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(UnsignedSESEventsVar, c.value)
			t.Setenv("DYNAMODB_ENDPOINT", c.dynamo)
			t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", c.awsDynamo)
			got := func() (out string) {
				defer func() {
					if p := recover(); p != nil {
						out = "panic: " + p.(string)
					}
				}()
				switch deps().sesEventsVerifier().(type) {
				case nil:
					return "skip"
				case *snsverify.Verifier:
					return "verify"
				default:
					return "unexpected verifier"
				}
			}()
			if !strings.Contains(got, c.want) {
				t.Fatalf("%s, want %s", got, c.want)
			}
		})
	}
}
