package awsconfig_test

import (
	"context"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/invite-forward/invite-forward/shared/awsconfig"
	"github.com/invite-forward/invite-forward/shared/push"
)

// A push fan-out sends to push.DefaultConcurrency connections at once; with fewer idle
// connections kept, each fan-out would open (and handshake) new ones.
func TestIdlePoolHoldsAFanOut(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	loaded, err := awsconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, client := range map[string]any{"Load": loaded.HTTPClient, "Static": awsconfig.Static("us-east-1").HTTPClient} {
		b, ok := client.(*awshttp.BuildableClient)
		if !ok {
			t.Fatalf("%s: HTTP client is %T", name, client)
		}
		if n := b.GetTransport().MaxIdleConnsPerHost; n < push.DefaultConcurrency {
			t.Errorf("%s: %d idle connections per host, fewer than the fan-out's %d", name, n, push.DefaultConcurrency)
		}
	}
}
